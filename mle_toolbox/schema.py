"""Typed, key-path-aware reading of a parsed YAML mapping.

Each getter validates one value and raises a ConfigError that names the file, the
key path and the line. Unknown keys become warnings that suggest the closest key.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from .errors import ConfigError
from .source import KeyPath, Source

_TIME = re.compile(r"^(?:(\d+):)?(\d{1,3}):([0-5]\d):([0-5]\d)$")
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)B?\s*$", re.IGNORECASE)
_UNIT_MB = {"": 1.0, "K": 1 / 1024, "M": 1.0, "G": 1024.0, "T": 1024.0 * 1024}


def describe(value: Any) -> str:
    """Short repr of a bad value for error messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Node:
    """A mapping inside an input file, with its key path."""

    def __init__(self, data: Mapping[str, Any], *, src: Source, path: KeyPath = ()) -> None:
        self.data = data
        self.src = src
        self.path = path

    @classmethod
    def root(cls, data: Any, *, src: Source, what: str) -> Node:
        """The top-level mapping of a file; anything else is an error."""
        if data is None:
            raise ConfigError(f"{what} is empty", file=src.display)
        if not isinstance(data, dict):
            raise ConfigError(
                f"{what} must be a mapping of keys to values, got {type(data).__name__}",
                file=src.display, line=1,
            )
        return cls(data, src=src)

    def has(self, key: str) -> bool:
        """True when ``key`` is present and not null."""
        return self.data.get(key) is not None

    def error(self, key: str | None, message: str) -> ConfigError:
        """A ConfigError at ``key`` of this node (or the node itself)."""
        return self.src.error((*self.path, key) if key else self.path, message)

    def check_keys(self, valid: Collection[str]) -> None:
        """Warn about keys that are not in ``valid``."""
        self.src.warn_unknown(self.path, [str(k) for k in self.data], valid)

    def section(self, key: str, *, required: bool = False) -> Node | None:
        """The sub-mapping at ``key``."""
        value = self._get(key, required=required)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(key, f"expected a mapping, got {describe(value)}")
        return Node(value, src=self.src, path=(*self.path, key))

    def _get(self, key: str, *, required: bool) -> Any:
        value = self.data.get(key)
        if value is None and required:
            raise self.error(key, "required key is missing")
        return value

    def string(
        self, key: str, *, required: bool = False, choices: Collection[str] | None = None,
    ) -> str | None:
        """A non-empty string, optionally one of ``choices``."""
        value = self._get(key, required=required)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"expected a non-empty string, got {describe(value)}")
        if choices is not None and value not in choices:
            raise self.error(
                key, f"expected one of {', '.join(sorted(choices))}; got {describe(value)}"
            )
        return value

    def integer(
        self, key: str, *, default: int | None = None, minimum: int | None = None,
        required: bool = False,
    ) -> int | None:
        """An integer (not a bool), at least ``minimum``."""
        value = self._get(key, required=required)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {describe(value)}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value}")
        return value

    def number(self, key: str, *, required: bool = False) -> float | None:
        """An int or float (YAML ``1e-4`` without a dot parses as a string: accepted)."""
        value = self._get(key, required=required)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a number, got {describe(value)}")
        return float(value)

    def boolean(self, key: str, *, default: bool) -> bool:
        """A YAML boolean."""
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {describe(value)}")
        return value

    def int_list(self, key: str, *, unique: bool = False) -> tuple[int, ...] | None:
        """A non-empty list of integers."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not value or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise self.error(key, f"expected a list of integers, got {describe(value)}")
        if unique and len(set(value)) != len(value):
            dup = next(v for v in value if value.count(v) > 1)
            raise self.error(key, f"seed {dup} is listed twice")
        return tuple(value)

    def str_list(self, key: str, *, required: bool = False) -> tuple[str, ...] | None:
        """A string or a non-empty list of non-empty strings."""
        value = self._get(key, required=required)
        if value is None:
            return None
        if isinstance(value, str) and value.strip():
            return (value,)
        if not isinstance(value, list) or not value or not all(
            isinstance(v, str) and v.strip() for v in value
        ):
            raise self.error(key, f"expected a list of strings, got {describe(value)}")
        return tuple(value)

    def time(self, key: str) -> str | None:
        """A wall-time limit ``[D:]HH:MM:SS``, normalised to ``HH:MM:SS``."""
        value = self.data.get(key)
        if value is None:
            return None
        match = _TIME.match(value) if isinstance(value, str) else None
        if match is None:
            raise self.error(key, f"expected a time as HH:MM:SS, got {describe(value)}")
        days, hours, minutes, seconds = match.groups()
        total_hours = int(hours) + 24 * int(days or 0)
        if total_hours == 0 and int(minutes) == 0 and int(seconds) == 0:
            raise self.error(key, "time limit must be longer than 0 seconds")
        return f"{total_hours:02d}:{minutes}:{seconds}"

    def memory_mb(self, key: str) -> int | None:
        """Memory as MB: an integer (MB, as mle-toolbox) or a string like ``4G``."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        match = _MEMORY.match(value) if isinstance(value, str) else None
        if match is None or float(match.group(1)) <= 0:
            raise self.error(
                key, f"expected memory in MB (e.g. 2000) or with a unit (e.g. '4G'), "
                f"got {describe(value)}",
            )
        return max(1, round(float(match.group(1)) * _UNIT_MB[match.group(2).upper()]))
