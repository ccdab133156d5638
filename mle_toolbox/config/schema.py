"""Typed, key-path-aware reading of a parsed YAML mapping.

Each getter validates one value and raises a ConfigError that names the file, the
key path and the line. Unknown keys become warnings that suggest the closest key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping

from ..errors import ConfigError
from ..lazy_pattern import compile_on_first_use

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import Any

    from .source import KeyPath, Source

# time_per_job: "dd:hh:mm" (mle-toolbox), "D:HH:MM:SS", or units ("1h30m", "45s").
_DD_HH_MM = compile_on_first_use(r"^(\d{1,3}):([01]?\d|2[0-3]):([0-5]\d)$")
_D_HH_MM_SS = compile_on_first_use(r"^(\d{1,3}):(\d{1,2}):([0-5]\d):([0-5]\d)$")
_UNITS = compile_on_first_use(r"^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?$")
_MEMORY = compile_on_first_use(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)B?\s*$", re.IGNORECASE)
_UNIT_MB = {"": 1.0, "K": 1 / 1024, "M": 1.0, "G": 1024.0, "T": 1024.0 * 1024}
# A value that becomes one word of one line of a job script (queue, account, site
# resource names): whitespace would split it, a line break would start a new directive.
_WORD = compile_on_first_use(r"^[^\s\x00-\x1f\x7f]+$")
# A config key searched or set by mle (``lrate``, ``model_config.width``).
CONFIG_KEY = compile_on_first_use(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$")


# Plans are counted before they are built: a typo such as ``num_seeds: 1000000000`` must be
# refused in milliseconds, not by the kernel's OOM killer. Planning handles 1,000,000 jobs.
JOB_CAP_ENV = "MLE_MAX_JOBS"
DEFAULT_JOB_CAP = 2_000_000


def job_cap(env: Mapping[str, str] | None = None) -> int:
    """Most jobs one plan may hold: ``MLE_MAX_JOBS`` or 2,000,000."""
    import os

    text = (os.environ if env is None else env).get(JOB_CAP_ENV)
    if text is None:
        return DEFAULT_JOB_CAP
    if not text.strip().isdigit() or int(text) < 1:
        raise ConfigError(f"expected a whole number of jobs >= 1, got {describe(text)}",
                          key=f"environment variable {JOB_CAP_ENV}")
    return int(text)


def over_cap(count: int, *, what: str) -> str | None:
    """The refusal for ``count`` things of one plan over the job cap, else None."""
    cap = job_cap()
    if count <= cap:
        return None
    return (f"{what} makes {count:,} jobs, over the cap of {cap:,} jobs per plan; "
            f"set {JOB_CAP_ENV} to a larger number if you mean it")


def one_line(text: str) -> bool:
    """True when ``text`` holds no line break or other control character."""
    return not any(ord(c) < 32 or ord(c) == 127 for c in text)


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
        maximum: int | None = None, required: bool = False,
    ) -> int | None:
        """An integer (not a bool), at least ``minimum`` and at most ``maximum``."""
        value = self._get(key, required=required)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {describe(value)}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.error(key, f"must be at most {maximum}, got {value}")
        return value

    def word(self, key: str) -> str | None:
        """A non-empty string without whitespace or control characters (a scheduler name)."""
        value = self.string(key)
        if value is not None and not _WORD.fullmatch(value):
            raise self.error(key, f"expected a name without spaces or line breaks, "
                             f"got {describe(value)}")
        return value

    def number(self, key: str, *, required: bool = False) -> float | None:
        """A finite int or float (YAML ``1e-4`` without a dot parses as a string: accepted)."""
        value = self._get(key, required=required)
        if value is None:
            return None
        number = finite_number(value)
        if number is None:
            raise self.error(key, f"expected a finite number, got {describe(value)}")
        return number

    def boolean(self, key: str, *, default: bool) -> bool:
        """A YAML boolean."""
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {describe(value)}")
        return value

    def int_list(self, key: str, *, unique: bool = False, minimum: int | None = None,
                 maximum: int | None = None) -> tuple[int, ...] | None:
        """A non-empty list of integers, each within ``minimum`` .. ``maximum`` if given."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not value or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise self.error(key, f"expected a list of integers, got {describe(value)}")
        low = -math.inf if minimum is None else minimum
        high = math.inf if maximum is None else maximum
        bad = next((i for i, v in enumerate(value) if not low <= v <= high), None)
        if bad is not None:
            raise self.error(key, f"{value[bad]} is out of range; expected integers from "
                             f"{minimum} to {maximum}")
        if unique and len(set(value)) != len(value):
            dup = next(v for v in value if value.count(v) > 1)
            raise self.error(key, f"seed {dup} is listed twice")
        return tuple(value)

    def str_list(self, key: str, *, required: bool = False,
                 single_line: bool = False) -> tuple[str, ...] | None:
        """A string or a non-empty list of non-empty strings (each one line if asked)."""
        value = self._get(key, required=required)
        if value is None:
            return None
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(
            isinstance(v, str) and v.strip() for v in items
        ):
            raise self.error(key, f"expected a list of strings, got {describe(value)}")
        bad = next((i for i, v in enumerate(items) if single_line and not one_line(v)), None)
        if bad is not None:
            path = (*self.path, key, bad) if isinstance(value, list) else (*self.path, key)
            raise self.src.error(path, f"a line break or control character would start a "
                                 f"new line of the job script, got {describe(items[bad])}")
        return tuple(items)

    def time(self, key: str) -> int | None:
        """A time limit as a whole number of seconds.

        ``dd:hh:mm`` as mle-toolbox / mle-scheduler read ``time_per_job`` ("00:01:30" is
        one hour thirty minutes), ``D:HH:MM:SS``, a duration with units (``90m``,
        ``1h30m``, ``45s``, ``2d``) or a whole number of seconds.
        """
        value = self.data.get(key)
        if value is None:
            return None
        seconds = time_seconds(value)
        if seconds is None:
            raise self.error(key, "expected a time as dd:hh:mm (days, hours, minutes, as in "
                             "mle-toolbox), D:HH:MM:SS, or with units like 90m, 1h30m, 45s; "
                             f"got {describe(value)}")
        if seconds == 0:
            raise self.error(key, "time limit must be longer than 0 seconds")
        return seconds

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


def time_seconds(value: Any) -> int | None:
    """Seconds of a time limit written in one of the forms of ``Node.time``; else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _DD_HH_MM.match(text)
    if match is not None:
        days, hours, minutes = map(int, match.groups())
        return ((days * 24 + hours) * 60 + minutes) * 60
    match = _D_HH_MM_SS.match(text)
    if match is not None:
        days, hours, minutes, seconds = map(int, match.groups())
        return ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    match = _UNITS.match(text)
    if match is None or not any(match.groups()):
        return None
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def finite_number(value: Any) -> float | None:
    """``value`` as a finite float (ints, floats and numeric strings), else None."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        return None
    return number if math.isfinite(number) else None


def env_word(env: Mapping[str, str], name: str, *, default: str) -> str:
    """Environment variable ``name`` as one word of a job script (a site resource name)."""
    value = env.get(name, default)
    if not _WORD.fullmatch(value):
        raise ConfigError(f"expected a name without spaces or line breaks, got "
                          f"{describe(value)}", key=f"environment variable {name}")
    return value


def env_seconds(env: Mapping[str, str], name: str, *, default: float) -> float:
    """Environment variable ``name`` as a finite, non-negative number of seconds."""
    text = env.get(name)
    if text is None:
        return default
    value = finite_number(text)
    if value is None or value < 0:
        raise ConfigError(f"expected seconds (a number >= 0), got {describe(text)}",
                          key=f"environment variable {name}")
    return value
