"""JSON with comments, the dialect of mle-toolbox's configs (commentjson), read without it.

commentjson accepts JSON plus ``#`` and ``//`` comments to the end of a line and one
trailing comma before a closing ``]`` or ``}``, and builds a lark parser for that at
import: about 100-200 ms, paid by the launcher and by every job whose config has a
comment. ``uncomment`` turns such text into plain JSON instead, blanking comments and
the trailing comma with spaces, so that a parse error of the result points at the same
line and column of the file. Job-side: no ``re``, no ``json`` (tests/test_package.py).
"""

from __future__ import annotations

_NOT_TRAILING_AFTER = frozenset(",:")  # [1,,] and {"a":,}: errors, as in commentjson


def uncomment(text: str) -> str:
    """``text`` with comments and trailing commas replaced by spaces (newlines kept)."""
    if "#" not in text and "/" not in text and "," not in text:
        return text
    chars = list(text)
    n, i = len(text), 0
    # The last two significant characters seen (outside comments): a comma right before
    # ``]`` / ``}`` is trailing when it follows a value or an opening bracket ([1, 2,],
    # [,]: commentjson reads both); after a comma or a colon it stays, an error.
    last = before = -1
    while i < n:
        char = text[i]
        if char == "#" or (char == "/" and text.startswith("/", i + 1)):
            end = text.find("\n", i)
            end = n if end < 0 else end
            chars[i:end] = " " * (end - i)
            i = end
            continue
        if char == '"':
            i = _string_end(text, i)
            last, before = i - 1, last
            continue
        if char in "]}" and last >= 0 and text[last] == "," and before >= 0 \
                and text[before] not in _NOT_TRAILING_AFTER:
            chars[last] = " "
        if not char.isspace():
            last, before = i, last
        i += 1
    return "".join(chars)


def _string_end(text: str, quote: int) -> int:
    """The index just past the string that opens at ``quote`` (or the text's end)."""
    i = quote + 1
    while True:
        end = text.find('"', i)
        if end < 0:
            return len(text)
        backslashes = 0
        while text[end - 1 - backslashes] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return end + 1
        i = end + 1
