"""The plain YAML most meta YAMLs and configs are written in, read without PyYAML.

``import yaml`` costs ~13 ms of every ``mle run`` (its loader, constructor with
``datetime`` and ``base64``, dumper, emitter and C extension), more than any other import
of a launch (issue 18). Most meta YAMLs are nested mappings of simple keys with numbers,
booleans, plain words and lists of them on one line. ``read_plain`` reads exactly those
and answers None for everything else, which then goes to PyYAML as before:

- lines: ``key: value``, ``key:`` opening a nested mapping or a list below it,
  ``- value`` list items, blank lines and ``#`` comments; indentation by spaces;
- values: whole numbers (``-?(0|[1-9][0-9]*)``), decimals (``-?(0|[1-9][0-9]*).[0-9]+``),
  ``true`` / ``false`` / ``null`` (their YAML 1.1 spellings), words starting with a
  letter, ``_`` or ``/`` made of letters, digits, ``_ . / -`` (never a YAML 1.1 boolean
  such as ``yes`` or ``off``), quoted text without escapes, and flow lists ``[a, 1, 2.5]``
  of those;
- keys: ``[A-Za-z_][A-Za-z0-9_-]*``, not a YAML 1.1 boolean or null, each once per mapping.

Anything else (any other character, tabs, anchors, tags, multi-line or empty values,
duplicate keys, a list of mappings, an indentation PyYAML would refuse) is PyYAML's to
read, word errors about and resolve; tests/test_plain_yaml.py checks every value and
line this reader gives against ``yaml.safe_load`` and PyYAML's nodes.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import Any

    from .source import KeyPath

    Parsed = tuple[dict[str, Any], dict[KeyPath, int], dict[KeyPath, tuple[int, ...]]]

# Plain scalars YAML 1.1 (PyYAML's resolver) reads as booleans or null: never words here.
_RESERVED = frozenset(("yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE",
                       "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
                       "null", "Null", "NULL", "~"))
_CONSTANTS: dict[str, Any] = {"true": True, "True": True, "TRUE": True, "false": False,
                              "False": False, "FALSE": False, "null": None, "Null": None,
                              "NULL": None, "~": None}
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_DIGITS = frozenset("0123456789")
_KEY_CHARS = _LETTERS | _DIGITS | {"-"}
_WORD_CHARS = _KEY_CHARS | {".", "/"}
_WORD_START = _LETTERS | {"/"}
# Printable ASCII and line breaks: PyYAML refuses some other characters, and a text with
# any of them is left to it.
_TEXT_CHARS = frozenset(map(chr, range(0x20, 0x7F))) | {"\n"}


class _NotPlainError(Exception):
    """The text is not of the plain kind: PyYAML reads it."""


class _Line:
    __slots__ = ("indent", "key", "number", "rest")

    def __init__(self, number: int, indent: int, key: str | None, rest: str) -> None:
        self.number = number  # 0-based, as PyYAML's marks
        self.indent = indent
        self.key = key  # None: a list item "- rest"
        self.rest = rest  # the value's text ("" after a bare "key:")


def read_plain(text: str) -> Parsed | None:
    """(data, line of each key path, lines of each list's items) of a plain YAML mapping,
    as PyYAML reads it (lines 1-based, items' 0-based as its marks); None when the text
    is anything else."""
    if not text or not _TEXT_CHARS.issuperset(text):
        return None
    try:
        lines = _lines(text)
        reader = _Reader(lines)
        if not lines or lines[0].indent != 0 or lines[0].key is None:
            return None
        data, end = reader.mapping(0, 0, ())
        if end != len(lines):
            return None
        return data, reader.key_lines, reader.item_lines
    except (_NotPlainError, RecursionError):  # thousands of levels: PyYAML's path says so
        return None


def _lines(text: str) -> list[_Line]:
    found = []
    for number, raw in enumerate(text.split("\n")):
        body = raw.lstrip(" ")
        if not body or body[0] == "#":
            continue
        indent = len(raw) - len(body)
        hash_at = body.find("#")
        if hash_at >= 0:
            if body[hash_at - 1] != " ":
                raise _NotPlainError  # "a#b" is a word in YAML, not a comment
            body = body[:hash_at]
        body = body.rstrip(" ")
        if body == "-" or body.startswith("- "):
            found.append(_Line(number, indent, None, body[2:].strip(" ")))
            continue
        key, colon, rest = body.partition(":")
        if not colon or (rest and rest[0] != " ") or not _is_key(key):
            raise _NotPlainError
        found.append(_Line(number, indent, key, rest.strip(" ")))
    return found


def _is_key(text: str) -> bool:
    return (bool(text) and text[0] in _LETTERS and _KEY_CHARS.issuperset(text)
            and text not in _RESERVED)


class _Reader:
    def __init__(self, lines: list[_Line]) -> None:
        self.lines = lines
        self.key_lines: dict[KeyPath, int] = {}
        self.item_lines: dict[KeyPath, tuple[int, ...]] = {}

    def mapping(self, at: int, indent: int, path: KeyPath) -> tuple[dict[str, Any], int]:
        lines, result = self.lines, {}
        while at < len(lines) and lines[at].indent == indent and lines[at].key is not None:
            line = lines[at]
            key = line.key
            assert key is not None
            if key in result:
                raise _NotPlainError  # PyYAML's path reports the duplicate
            key_path = (*path, key)
            self.key_lines[key_path] = line.number + 1
            at += 1
            if line.rest:
                result[key] = self.inline(line.rest, line.number, key_path)
                continue
            below = lines[at] if at < len(lines) else None
            if below is not None and below.key is not None and below.indent > indent:
                result[key], at = self.mapping(at, below.indent, key_path)
            elif below is not None and below.key is None and below.indent >= indent:
                result[key], at = self.sequence(at, below.indent, key_path)
            else:
                raise _NotPlainError  # an empty value (null): PyYAML's
        if at < len(lines) and lines[at].indent > indent:
            raise _NotPlainError
        return result, at

    def sequence(self, at: int, indent: int, path: KeyPath) -> tuple[list[Any], int]:
        lines, items, numbers = self.lines, [], []
        while at < len(lines) and lines[at].indent == indent and lines[at].key is None:
            line = lines[at]
            if not line.rest or line.rest[0] in "[{":
                raise _NotPlainError  # an empty item, or a collection inside a list
            items.append(_scalar(line.rest))
            numbers.append(line.number)
            at += 1
        if at < len(lines) and lines[at].indent > indent:
            raise _NotPlainError
        self.item_lines[path] = tuple(numbers)
        return items, at

    def inline(self, text: str, number: int, path: KeyPath) -> Any:
        if text[0] != "[":
            return _scalar(text)
        if text[-1] != "]":
            raise _NotPlainError
        inner = text[1:-1].strip(" ")
        parts = inner.split(",") if inner else []
        self.item_lines[path] = (number,) * len(parts)
        return [_scalar(part.strip(" ")) for part in parts]


def _scalar(text: str) -> Any:
    """A plain value as PyYAML's SafeLoader resolves it; _NotPlainError for any other text."""
    if not text:
        raise _NotPlainError
    first = text[0]
    if first in "'\"":
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != first or first in inner or "\\" in inner:
            raise _NotPlainError  # escapes, or an unclosed quote
        return inner
    if text in _CONSTANTS:
        return _CONSTANTS[text]
    if first in _WORD_START:
        if text in _RESERVED or not _WORD_CHARS.issuperset(text):
            raise _NotPlainError
        return text
    digits = text[1:] if first == "-" else text
    whole, dot, fraction = digits.partition(".")
    if not _is_whole(whole) or (dot and not (fraction and _DIGITS.issuperset(fraction))):
        raise _NotPlainError
    return float(text) if dot else int(text)


def _is_whole(text: str) -> bool:
    """``0`` or a digit string without a leading zero (YAML 1.1 reads ``012`` as octal)."""
    return text == "0" or (bool(text) and text[0] != "0" and _DIGITS.issuperset(text))
