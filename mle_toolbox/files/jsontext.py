"""JSON text for the job's own side, without importing ``json`` (issue 18).

``import json`` imports ``re`` (and with it ``enum``, ``functools``, ``collections``):
about 15 ms of every job's start, for three regular expressions that only json's
pure-Python fallback uses. The C accelerator ``_json`` that ``json`` itself calls
needs none of them, so the job parses and writes through it directly:

- ``loads`` is ``json.loads`` for ``str``: the same values, and for any text the C
  scanner refuses, ``json.loads`` itself runs, so every error is json's own.
- ``dumps`` is ``json.dumps(data, indent=indent, allow_nan=False, default=default)``,
  character for character. Indented text is built here only for what a job writes
  (an object of numbers, strings, booleans, null and flat lists of them, such as
  ``status.json``); anything else goes to ``json.dumps``.

tests/test_jsontext.py compares both with ``json`` over a corpus of values and texts.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's flag without importing typing on a job's import path
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

try:
    import _json
except ImportError:  # a Python without the accelerator: json's own code does it all
    _json = None  # type: ignore[assignment]

_WHITESPACE = " \t\n\r"  # what JSON allows around a value (json.decoder.WHITESPACE)
_SCALARS = (str, int, float, bool, type(None))


class _ScanContext:
    """The attributes ``_json.make_scanner`` reads: ``json.JSONDecoder()``'s defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> float:
        return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]


def _scanner() -> Callable[[str, int], tuple[Any, int]] | None:
    """json's C scanner with JSONDecoder's defaults; None where it cannot be made (no
    ``_json``, or a Python whose scanner reads its context differently): json then."""
    if _json is None:
        return None
    try:
        # typeshed types the context as a scanner, whose attributes the context has.
        return _json.make_scanner(_ScanContext())  # type: ignore[arg-type]
    except (AttributeError, TypeError):
        return None


_scan = _scanner()


def loads(text: str) -> Any:
    """``json.loads(text)`` for a ``str``."""
    if _scan is not None:
        start = len(text) - len(text.lstrip(_WHITESPACE))
        try:
            value, end = _scan(text, start)
        except (StopIteration, ValueError):
            pass  # json.loads below raises json's own error for it
        else:
            if end == len(text) or not text[end:].strip(_WHITESPACE):
                return value
    import json

    return json.loads(text)


def _encoder(default: Callable[[Any], Any]) -> Callable[[Any], str] | None:
    """json.dumps' one-line encoder, made per call (as dumps does: a failed call leaves
    its containers in the circular-reference markers)."""
    if _json is None:
        return None
    try:
        chunks = _json.make_encoder({}, default, _json.encode_basestring_ascii, None, ": ",
                                    ", ", False, False, False)
    except TypeError:  # the accelerator's arguments changed in some Python
        return None
    return lambda value: "".join(chunks(value, 0))


def dumps(data: Any, *, indent: int | None, default: Callable[[Any], Any]) -> str:
    """``json.dumps(data, indent=indent, allow_nan=False, default=default)``."""
    encode = _encoder(default)
    if encode is not None:
        if indent is None:
            return encode(data)
        text = _indented(data, indent, encode)
        if text is not None:
            return text
    import json

    return json.dumps(data, indent=indent, allow_nan=False, default=default)


def _indented(data: Any, indent: int, encode: Callable[[Any], str]) -> str | None:
    """``json.dumps(data, indent=indent)`` of an object whose values are scalars or
    lists of scalars; None for anything else."""
    if type(data) is not dict:
        return None
    if not data:
        return "{}"
    pad, inner = " " * indent, " " * (2 * indent)
    lines = []
    for key, value in data.items():
        if type(key) is not str:
            return None
        if type(value) in _SCALARS:
            text = encode(value)
        elif type(value) in (list, tuple) and all(type(item) in _SCALARS for item in value):
            items = (",\n" + inner).join(encode(item) for item in value)
            text = f"[\n{inner}{items}\n{pad}]" if value else "[]"
        else:
            return None
        lines.append(f"{pad}{encode(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}"
