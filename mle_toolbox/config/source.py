"""Load YAML / JSON input files and remember the line of every key.

Errors about a value can then name file, key path and line, e.g.
``meta.yaml:12: multi_config_args.random_seeds: expected a list of integers, got 'abc'``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

KeyPath = tuple[str | int, ...]


def dotted(path: KeyPath) -> str:
    """``("a", "b", 0)`` -> ``"a.b[0]"``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


@dataclass
class Source:
    """A loaded input file: its name for messages and the line of each key path."""

    display: str
    lines: dict[KeyPath, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def line(self, path: KeyPath) -> int | None:
        """Line of ``path``, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None

    def error(self, path: KeyPath, message: str) -> ConfigError:
        """A ConfigError located at ``path``."""
        return ConfigError(
            message, file=self.display, key=dotted(path) or None, line=self.line(path)
        )

    def warn(self, path: KeyPath, message: str) -> None:
        """Record a warning located at ``path``."""
        self.warnings.append(str(self.error(path, message)))

    def warn_unknown(self, path: KeyPath, keys: Iterable[str], valid: Iterable[str]) -> None:
        """Warn about each key not in ``valid``, suggesting the closest valid one."""
        valid = sorted(valid)
        for key in keys:
            if key in valid:
                continue
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            self.warn(
                (*path, key),
                f"unknown key, ignored.{hint} Valid keys here: {', '.join(valid)}",
            )


def display_name(path: Path) -> str:
    """The path as the user will recognise it (relative to cwd when possible)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_text(path: Path, *, what: str) -> str:
    """Read a UTF-8 input file, turning OS errors into ConfigError."""
    name = display_name(path)
    if not path.exists():
        raise ConfigError(f"{what} not found", file=name)
    if not path.is_file():
        raise ConfigError(f"{what} is not a regular file", file=name)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"not UTF-8 text ({err.reason})", file=name) from err
    except OSError as err:
        raise ConfigError(f"cannot read {what}: {err.strerror}", file=name) from err


def load_yaml(path: Path, *, what: str) -> tuple[Any, Source]:
    """Parse a YAML file with ``yaml.safe_load`` semantics and record key lines."""
    import yaml

    src = Source(display_name(path))
    text = read_text(path, what=what)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = err.problem or err.context or "invalid YAML"
        raise ConfigError(f"YAML syntax error: {problem}", file=src.display, line=line) from err
    except yaml.YAMLError as err:
        raise ConfigError(f"YAML error: {err}", file=src.display) from err
    if node is not None:
        _record_lines(node, (), src)
    return data, src


def _record_lines(node: Any, path: KeyPath, src: Source) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            key_path = (*path, key)
            src.lines[key_path] = key_node.start_mark.line + 1
            if key in seen:
                # safe_load keeps the last value silently; a user never means that.
                raise src.error(key_path, "duplicate key")
            seen.add(key)
            _record_lines(value_node, key_path, src)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            item_path = (*path, index)
            src.lines[item_path] = item.start_mark.line + 1
            _record_lines(item, item_path, src)


def load_json_with_comments(path: Path, *, what: str) -> tuple[Any, Source]:
    """Parse JSON; on failure retry as JSON with comments (commentjson)."""
    src = Source(display_name(path))
    text = read_text(path, what=what)
    try:
        return json.loads(text), src
    except json.JSONDecodeError as plain_err:
        first_error = plain_err
    import commentjson

    try:
        return commentjson.loads(text), src
    except Exception as err:  # commentjson re-raises lark errors of several types
        line = getattr(err, "line", None)
        if not isinstance(line, int) or line <= 0:
            line = first_error.lineno
        raise ConfigError(
            f"JSON syntax error: {_lark_problem(err) or first_error.msg}",
            file=src.display, line=line,
        ) from err


def _lark_problem(err: BaseException) -> str | None:
    # lark's own message lists grammar terminals; name just the offending text.
    token = getattr(err, "token", None)
    if token is not None:
        return "unexpected end of file" if str(token) == "" else f"unexpected {str(token)!r}"
    char = getattr(err, "char", None)
    return f"unexpected {char!r}" if char is not None else None
