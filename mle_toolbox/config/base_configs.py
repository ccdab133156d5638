"""Base training configs: JSON (with comments) or YAML, always a mapping."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from ..errors import ConfigError
from .schema import Node
from .source import display_name, load_yaml, read_regular
from .source_json import PairsHook, load_json_with_comments

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import Any

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
    section = _not_a_mapping(root.data)
    if section is not None:
        # MLExperiment reads these as mappings: refuse here, not in every job.
        value = root.data[section]
        raise root.error(section, f"expected a mapping of settings, got {_kind(value)}")
    return dict(root.data)


def _not_a_mapping(data: Mapping[str, Any]) -> str | None:
    """The first of SECTIONS that is set to something other than a mapping, if any."""
    for section in SECTIONS:
        value = data.get(section)
        if value is not None and not isinstance(value, dict):
            return section
    return None


def _kind(value: object) -> str:
    return {list: "a list", str: "a string", bool: "true/false"}.get(type(value),
                                                                    type(value).__name__)


def load_configs(paths: tuple[Path, ...]) -> dict[Path, dict[str, Any]]:
    """Load every distinct base config once."""
    loaded = {}
    hook = PairsHook()
    # One decoder for all files: json.loads with a hook builds a new one per call.
    decoder = json.JSONDecoder(object_pairs_hook=hook)
    for path in dict.fromkeys(paths):
        hook.duplicated = False
        data = _plain_json(path, decoder=decoder, hook=hook)
        loaded[path] = data if data is not None else load_config_file(path)
    return loaded


def _plain_json(path: Path, *, decoder: json.JSONDecoder, hook: PairsHook,
                ) -> dict[str, Any] | None:
    """A ``.json`` config in the usual case (readable, plain JSON, sections are mappings).

    None for anything else: ``load_config_file`` then reads it again and words the error.
    A sweep may name 20,000 configs, and the general path's bookkeeping per file (key
    lines, messages) was most of its planning time; this path keeps none of it.
    """
    name = str(path)
    if not name.endswith(JSON_SUFFIXES):
        return None
    try:
        raw = read_regular(name)
        if raw is None:
            return None
        text = raw.decode("utf-8")
        # raw_decode: decode's two whitespace regexes per file, where there is none in
        # front (a file that starts with any goes the general way) and at most a newline
        # behind; anything after the document but JSON whitespace is not this path's.
        data, end = decoder.raw_decode(text)
    except (OSError, ValueError, RecursionError):  # ValueError: not UTF-8 or not JSON
        return None
    if end != len(text) and text[end:].strip(_JSON_SPACE):
        return None
    if type(data) is not dict or hook.duplicated or _not_a_mapping(data) is not None:
        return None
    return data


_JSON_SPACE = " \t\n\r"  # what JSON allows between tokens (str.isspace allows more)
