"""What lies on disk: the names of every experiment, run and job file, atomic writes, readers."""
