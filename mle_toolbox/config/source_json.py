"""Load a JSON input file (comments allowed) and refuse a repeated key.

A config file is JSON; when plain json cannot read it, it is read again as
commentjson's dialect (comments, trailing commas: files/jsoncomments.py), and a key
given twice anywhere is an error naming its key path and line, as in YAML. Apart
from source.py, which holds what every input file shares (``Source``, reading the
bytes, display names) and the YAML reader: base_configs.py reads thousands of JSON
configs with ``PairsHook`` and never needs PyYAML's machinery, nor meta.py this.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import ConfigError
from ..files.jsoncomments import uncomment
from .source import TOO_DEEP, KeyPath, Source, dotted, read_text

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import Any
else:
    Any = object  # only subscripted at run time (dict[str, Any]): any object will do


def load_json_with_comments(path: Path, *, what: str) -> tuple[Any, Source]:
    """Parse JSON; on failure again as JSON with comments (commentjson's dialect)."""
    src = Source(path)
    text = read_text(path, what=what)
    hook = PairsHook()
    try:
        data = json.loads(text, object_pairs_hook=hook)
        # The walk that locates a duplicate key runs only when there is one.
        return (_checked_json(data, text=text, src=src) if hook.duplicated else data), src
    except RecursionError:
        raise ConfigError(TOO_DEEP, file=src.display) from None
    except json.JSONDecodeError:
        pass
    plain = uncomment(text)  # same lines and columns: errors point into the file
    try:
        data = json.loads(plain, object_pairs_hook=PairsHook())
    except RecursionError:
        raise ConfigError(TOO_DEEP, file=src.display) from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"JSON syntax error: {_json_problem(plain, err)}",
                          file=src.display, line=err.lineno) from err
    return _checked_json(data, text=text, src=src), src


def _json_problem(text: str, err: json.JSONDecodeError) -> str:
    # "Expecting value" at a '}' names what json wanted; the text it found says more.
    if err.pos >= len(text.rstrip()):
        return "unexpected end of file"
    return f"unexpected {text[err.pos]!r}" if err.msg.startswith("Expecting") else err.msg


class _Duplicated(dict[str, Any]):
    """A JSON object that repeated a key (json keeps the last value silently)."""

    duplicate = ""


class PairsHook:
    """json's ``object_pairs_hook``: a dict per object, marking one that repeats a key."""

    __slots__ = ("duplicated",)

    def __init__(self) -> None:
        self.duplicated = False

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) == len(pairs):
            return out
        self.duplicated = True
        marked = _Duplicated(out)
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                marked.duplicate = key
                break
            seen.add(key)
        return marked


def _checked_json(data: Any, *, text: str, src: Source) -> Any:
    """Refuse a duplicate key anywhere, as YAML does, naming its key path and line."""
    stack: list[tuple[Any, KeyPath]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, _Duplicated):
            key = value.duplicate
            found = list(re.finditer(rf'"{re.escape(key)}"\s*:', text))
            line = text.count("\n", 0, found[1].start()) + 1 if len(found) > 1 else None
            raise ConfigError("duplicate key", file=src.display, key=dotted((*path, key)),
                              line=line)
        if isinstance(value, dict):
            stack.extend((v, (*path, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(value))
    return data
