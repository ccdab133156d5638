"""Load a JSON input file (comments allowed) and refuse a repeated key.

A config file is JSON; commentjson reads it when plain json cannot (comments), and a
key given twice anywhere is an error naming its key path and line, as in YAML. Apart
from source.py, which holds what every input file shares (``Source``, reading the
bytes, display names) and the YAML reader: base_configs.py reads thousands of JSON
configs with ``PairsHook`` and never needs PyYAML's machinery, nor meta.py this.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .source import TOO_DEEP, KeyPath, Source, dotted, read_text


def load_json_with_comments(path: Path, *, what: str) -> tuple[Any, Source]:
    """Parse JSON; on failure retry as JSON with comments (commentjson)."""
    src = Source(path)
    text = read_text(path, what=what)
    hook = PairsHook()
    try:
        data = json.loads(text, object_pairs_hook=hook)
        # The walk that locates a duplicate key runs only when there is one.
        return (_checked_json(data, text=text, src=src) if hook.duplicated else data), src
    except RecursionError:
        raise ConfigError(TOO_DEEP, file=src.display) from None
    except json.JSONDecodeError as plain_err:
        first_error = plain_err
    import commentjson

    try:
        data = commentjson.loads(text, object_pairs_hook=PairsHook())
    except RecursionError:
        raise ConfigError(TOO_DEEP, file=src.display) from None
    except Exception as err:  # commentjson re-raises lark errors of several types
        line = getattr(err, "line", None)
        if not isinstance(line, int) or line <= 0:
            line = first_error.lineno
        raise ConfigError(
            f"JSON syntax error: {_lark_problem(err) or first_error.msg}",
            file=src.display, line=line,
        ) from err
    return _checked_json(data, text=text, src=src), src


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


def _lark_problem(err: BaseException) -> str | None:
    # lark's own message lists grammar terminals; name just the offending text.
    token = getattr(err, "token", None)
    if token is not None:
        return "unexpected end of file" if str(token) == "" else f"unexpected {str(token)!r}"
    char = getattr(err, "char", None)
    return f"unexpected {char!r}" if char is not None else None
