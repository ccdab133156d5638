"""What the user wrote: meta YAML dialects, schema reader, sources, base configs, search spaces."""
