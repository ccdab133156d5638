"""Base training configs: JSON (with comments) or YAML, always a mapping."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .schema import Node
from .source import display_name, load_json_with_comments, load_yaml

JSON_SUFFIXES = (".json",)
YAML_SUFFIXES = (".yaml", ".yml")
# The sections MLExperiment exposes as attribute dicts (train_config, model_config, ...).
SECTIONS = ("train_config", "model_config", "net_config", "log_config")


def load_config_file(path: Path) -> dict[str, Any]:
    """Load one base config; its top level must be a mapping with string keys."""
    suffix = os.path.splitext(path.name)[1].lower()  # str work: pathlib's is per config
    if suffix in JSON_SUFFIXES:
        data, src = load_json_with_comments(path, what="config file")
    elif suffix in YAML_SUFFIXES:
        data, src = load_yaml(path, what="config file")
    else:
        raise ConfigError(
            f"unsupported config format {suffix or '(no suffix)'!r}; use .json, .yaml or .yml",
            file=display_name(path),
        )
    root = Node.root(data, src=src, what="config file")
    if suffix in YAML_SUFFIXES:  # JSON keys are strings by definition
        bad = next((k for k in root.data if not isinstance(k, str)), None)
        if bad is not None:
            raise root.error(str(bad), f"config keys must be strings, got {bad!r}")
    for section in SECTIONS:
        value = root.data.get(section)
        if value is not None and not isinstance(value, dict):
            # MLExperiment reads these as mappings: refuse here, not in every job.
            raise root.error(section, f"expected a mapping of settings, got {_kind(value)}")
    return dict(root.data)


def _kind(value: object) -> str:
    return {list: "a list", str: "a string", bool: "true/false"}.get(type(value),
                                                                    type(value).__name__)


def load_configs(paths: tuple[Path, ...]) -> dict[Path, dict[str, Any]]:
    """Load every distinct base config once."""
    return {path: load_config_file(path) for path in dict.fromkeys(paths)}
