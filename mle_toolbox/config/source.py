"""Load YAML input files and remember the line of every key (JSON: source_json.py).

Errors about a value can then name file, key path and line, e.g.
``meta.yaml:12: multi_config_args.random_seeds: expected a list of integers, got 'abc'``.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import stat
import sys
from collections.abc import Iterable
from pathlib import Path

from ..errors import ConfigError
from ..lazy_pattern import compile_on_first_use
from ..records import field, record
from .plain_yaml import read_plain

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import Any

KeyPath = tuple[str | int, ...]


def dotted(path: KeyPath) -> str:
    """``("a", "b", 0)`` -> ``"a.b[0]"``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


@record(frozen=False, slots=False)
class Source:
    """A loaded input file: its name for messages and the line of each key path.

    ``origin`` is the name to show, or the file's path: its name relative to the current
    folder is then worked out only when a message needs it (a path resolved per config
    file would cost two ``resolve()`` calls per file for errors that never happen).
    """

    origin: str | Path
    lines: dict[KeyPath, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # The YAML node of each sequence, by key path: an item's line is read from it only when
    # a message needs it (a list of 20,000 config files would cost a line entry each); or,
    # for a text read by config/plain_yaml.py, the tuple of its items' 0-based lines.
    sequences: dict[KeyPath, Any] = field(default_factory=dict)

    @property
    def display(self) -> str:
        """The file's name as the user will recognise it."""
        origin = self.origin
        return display_name(origin) if isinstance(origin, Path) else origin

    def line(self, path: KeyPath) -> int | None:
        """Line of ``path``, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            item = self._item_line(path)
            if item is not None:
                return item
            path = path[:-1]
        return None

    def _item_line(self, path: KeyPath) -> int | None:
        """Line of a sequence item, from the sequence's YAML node."""
        index = path[-1]
        if not isinstance(index, int):
            return None
        node = self.sequences.get(path[:-1])
        if isinstance(node, tuple):  # the items' lines, from config/plain_yaml.py
            return node[index] + 1 if 0 <= index < len(node) else None
        if node is None or not 0 <= index < len(node.value):
            return None
        return int(node.value[index].start_mark.line) + 1

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
            import difflib  # only for a key that is not valid

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
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return str(path)


def read_text(path: Path, *, what: str) -> str:
    """Read a UTF-8 input file, turning OS errors into ConfigError."""
    try:
        raw = read_regular(path)
    except FileNotFoundError:
        raise ConfigError(f"{what} not found", file=display_name(path)) from None
    except OSError as err:
        problem = ("is a symlink loop" if err.errno == errno.ELOOP
                   else f"cannot be read: {err.strerror}")
        raise ConfigError(f"{what} {problem}", file=display_name(path)) from None
    if raw is None:
        raise ConfigError(f"{what} is not a regular file", file=display_name(path))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"not UTF-8 text ({err.reason})", file=display_name(path)) from err


def read_regular(path: str | Path) -> bytes | None:
    """The bytes of a regular file; None for anything else (a folder, a FIFO, a device).

    One open, one fstat and (mostly) one read: non-blocking, so a FIFO given as a config
    is refused rather than waited on; a sweep opens thousands of configs, and a stat
    before the open or a buffered file object per config showed in its planning time.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        # One os.read of the size fstat gave (one byte more, to see the end); a file that
        # changed size meanwhile is read on to its end.
        data = os.read(fd, info.st_size + 1)
        return data if len(data) == info.st_size else _read_rest(fd, data)
    finally:
        os.close(fd)


def _read_rest(fd: int, data: bytes) -> bytes:
    chunks = [data]
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def import_yaml() -> Any:
    """``import yaml``, its module-level patterns compiled on first use, not at import.

    ``yaml.reader``'s NON_PRINTABLE pattern (every printable Unicode range) takes ~10 ms
    to compile, a third of PyYAML's import and 5 % of a launch's CPU, and only the
    pure-Python reader uses it: the C parser, which reads nearly every meta YAML, never
    does. The timestamp patterns (resolver, constructor), merge, value and the rest that
    a meta YAML rarely needs are another ~2 ms. Patterns compiled by a ``yaml.*`` module
    while PyYAML is imported are compiled on first use instead; any other module's
    compile goes through unchanged.
    """
    loaded = sys.modules.get("yaml")
    if loaded is not None:
        return loaded
    compile_now = re.compile

    def compile_reader_lazily(pattern: Any, flags: int = 0) -> Any:
        if str(sys._getframe(1).f_globals.get("__name__")).startswith("yaml."):
            return compile_on_first_use(pattern, flags)
        return compile_now(pattern, flags)

    re.compile = compile_reader_lazily
    try:
        import yaml
    finally:
        re.compile = compile_now
    return yaml


def load_yaml(path: Path, *, what: str) -> tuple[Any, Source]:
    """Parse a YAML file with ``yaml.safe_load`` semantics and record key lines."""
    src = Source(path)
    text = read_text(path, what=what)

    plain = read_plain(text)
    if plain is not None:  # the plain kind most meta YAMLs are: no PyYAML import (~13 ms)
        data, src.lines, src.sequences = plain
        return data, src
    yaml = import_yaml()
    # One parse: compose the node graph (lines, aliases checked on it), then build the data
    # from those nodes as yaml.safe_load would; parsing twice doubled the cost of a big file.
    # libyaml parses ~12x faster, but its composer recurses in C and crashes the process
    # (SIGSEGV, measured at 30,000 levels) where the Python one raises RecursionError: it
    # only gets documents whose nesting is provably shallow. Errors are re-read by the
    # Python parser, so messages do not depend on which parser read the file first.
    fast, slow = _loaders()
    if fast is not None and nesting_bound(text) <= C_PARSER_MAX_DEPTH:
        try:
            return _build(fast(text), src=src, aliases="&" in text), src
        except yaml.YAMLError:
            src = Source(path)  # the Python parser below words the message
    try:
        return _build(slow(text), src=src, aliases="&" in text), src
    except RecursionError:
        raise ConfigError(TOO_DEEP, file=src.display) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = err.problem or err.context or "invalid YAML"
        raise ConfigError(f"YAML syntax error: {problem}", file=src.display, line=line) from err
    except yaml.YAMLError as err:
        raise ConfigError(f"YAML error: {err}", file=src.display) from err


@functools.cache
def _loaders() -> tuple[Any, Any]:
    """(libyaml's safe loader or None, the Python one), each building a list of plain
    strings in one step: yaml.safe_load's data, without a constructor call per item (a
    sweep lists 20,000 config files)."""
    import yaml

    str_tag = "tag:yaml.org,2002:str"

    class StrLists:
        def construct_sequence(self, node: Any, deep: bool = False) -> Any:
            items = node.value if isinstance(node, yaml.SequenceNode) else None
            if items is not None and all(type(item) is yaml.ScalarNode and item.tag == str_tag
                                         for item in items):
                return [item.value for item in items]  # what construct_yaml_str gives
            return super().construct_sequence(node, deep=deep)  # type: ignore[misc]

    fast = getattr(yaml, "CSafeLoader", None)
    return (None if fast is None else type("FastLoader", (StrLists, fast), {}),
            type("SlowLoader", (StrLists, yaml.SafeLoader), {}))


# A depth at which libyaml's recursive composer is known to be safe: a hundredth of the
# depth that crashed it, on the default 8 MiB stack.
C_PARSER_MAX_DEPTH = 300


def nesting_bound(text: str) -> int:
    """An upper bound on how deep the collections of a YAML text can nest.

    Flow collections nest one level per ``[`` or ``{``. A nested block collection starts
    further right on a later line (a sequence under a mapping key may share its column),
    or on the same line after an indicator (``- ``, ``? ``, ``: ``); so a chain of block
    levels spans at most 2 x (deepest indent + 1) lines with at most 1 + (indicators on
    the line) levels each. Counting over-estimates, which only costs the faster parser.
    """
    flow = text.count("[") + text.count("{")
    indent = indicators = 0
    for line in text.splitlines():
        body = line.lstrip(" \t")
        if body and not body.startswith("#"):
            indent = max(indent, len(line) - len(body))
            indicators = max(indicators, body.count("- ") + body.count("? ")
                             + body.count(": ") + body.count("-\t") + body.count(":\t")
                             + body.count("?\t") + 1)
    return flow + 2 * (indent + 1) * (indicators + 1)


def _build(loader: Any, *, src: Source, aliases: bool) -> Any:
    """Compose ``loader``'s document, check aliases, record lines, build the data."""
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if aliases:  # no '&' in the text: no anchor, so no alias to expand
            _check_aliases(node, src=src)
        _record_lines(node, src)
        return loader.construct_document(node)
    finally:
        loader.dispose()


# A meta YAML or config is a few hundred values; aliases that expand it past this are a
# "billion laughs" document that would only eat memory downstream.
MAX_YAML_VALUES = 1_000_000


def _children(node: Any) -> list[Any]:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_aliases(root: Any, *, src: Source) -> None:
    """Refuse recursive aliases and aliases that expand past MAX_YAML_VALUES values."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        kids = _children(node)
        if children_done:
            open_nodes.discard(id(node))
            sizes[id(node)] = min(MAX_YAML_VALUES + 1, 1 + sum(sizes[id(k)] for k in kids))
            continue
        if any(id(k) in open_nodes for k in kids) or id(node) in open_nodes:
            raise ConfigError("a YAML alias refers to itself (a recursive document)",
                              file=src.display, line=node.start_mark.line + 1)
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in sizes)
    if sizes[id(root)] > MAX_YAML_VALUES:
        raise ConfigError(f"YAML aliases expand this document to more than {MAX_YAML_VALUES:,} "
                          "values; write the values out or use fewer aliases", file=src.display)


def _record_lines(root: Any, src: Source) -> None:
    """Line of every key path; iterative, so deep documents cannot overflow the stack."""
    import yaml

    stack: list[tuple[Any, KeyPath]] = [(root, ())]
    while stack:
        node, path = stack.pop()
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
                stack.append((value_node, key_path))
        elif isinstance(node, yaml.SequenceNode):
            src.sequences[path] = node  # the items' own lines: Source.line
            stack.extend((item, (*path, index)) for index, item in enumerate(node.value)
                         if not isinstance(item, yaml.ScalarNode))


TOO_DEEP = "nested too deeply to read (thousands of levels); no config needs that"
