"""A tiny document model rendered to Markdown and to HTML from the same blocks.

The report is built once as a list of blocks; both files come from that list, so
the two never disagree.
"""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Heading:
    """A section title."""

    text: str
    level: int = 2


@dataclass(frozen=True, slots=True)
class Para:
    """A paragraph of plain text (``code`` spans in backticks are kept)."""

    text: str


@dataclass(frozen=True, slots=True)
class Table:
    """A table of text cells."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Code:
    """A preformatted block (config text, stderr tails)."""

    text: str
    lang: str = ""


@dataclass(frozen=True, slots=True)
class Image:
    """A figure, by path relative to the document."""

    src: str
    alt: str


Block = Heading | Para | Table | Code | Image


def to_markdown(blocks: list[Block]) -> str:
    """GitHub-flavoured Markdown."""
    return "\n".join(_md(block) for block in blocks)


def _md(block: Block) -> str:
    if isinstance(block, Heading):
        return f"{'#' * block.level} {block.text}\n"
    if isinstance(block, Para):
        return f"{block.text}\n"
    if isinstance(block, Table):
        lines = [_md_row(block.header), _md_row(tuple("---" for _ in block.header))]
        lines += [_md_row(row) for row in block.rows]
        return "\n".join(lines) + "\n"
    if isinstance(block, Code):
        fence = "````" if "```" in block.text else "```"
        return f"{fence}{block.lang}\n{block.text.rstrip()}\n{fence}\n"
    return f"![{block.alt}]({block.src})\n"


def _md_row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def to_html(blocks: list[Block], *, title: str) -> str:
    """A standalone HTML page (no scripts, no external resources)."""
    body = "\n".join(_html(block) for block in blocks)
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
            f"</title>\n<style>{_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


_STYLE = ("body{font-family:sans-serif;max-width:75em;margin:1em auto}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}"
          "pre{background:#f4f4f4;padding:.5em;overflow:auto}img{max-width:100%}")


def _html(block: Block) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{_inline(block.text)}</h{block.level}>"
    if isinstance(block, Para):
        return f"<p>{_inline(block.text)}</p>"
    if isinstance(block, Table):
        head = "".join(f"<th>{_inline(c)}</th>" for c in block.header)
        rows = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>\n"
                       for row in block.rows)
        return f"<table><tr>{head}</tr>\n{rows}</table>"
    if isinstance(block, Code):
        return f"<pre>{html.escape(block.text.rstrip())}</pre>"
    return f"<p><img src=\"{html.escape(block.src)}\" alt=\"{html.escape(block.alt)}\"></p>"


def _inline(text: str) -> str:
    # `code` spans and **bold** are the only inline markup the report uses.
    parts = html.escape(text).split("`")
    out = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    bold = out.split("**")
    text = "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(bold))
    return text.replace("  \n", "<br>\n")  # Markdown's hard line break
