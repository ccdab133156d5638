"""The report's blocks (document.py) rendered to PDF with fpdf2: no browser, no network.

fpdf2 is an optional extra (``pip install 'mle_toolbox[pdf]'``), imported only here.
The PDF core fonts cover Latin-1; other characters are replaced by ``?`` so any metric
name or config text still renders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..files.atomic import atomic_binary
from .document import Block, Code, Heading, Image, Para, Table

INSTALL_HINT = "pip install 'mle_toolbox[pdf]'"
_HEADING_SIZES = {1: 16, 2: 13, 3: 11}


def pdf_available() -> bool:
    """True when fpdf2 can be imported."""
    try:
        import fpdf  # noqa: F401
    except ImportError:
        return False
    return True


def to_pdf(blocks: list[Block], *, path: Path, base_dir: Path, title: str) -> None:
    """Write ``blocks`` as a PDF to ``path`` (atomically); images are relative to base_dir."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(_latin(title))
    pdf.set_creator("mle_toolbox")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    for block in blocks:
        _render(pdf, block, base_dir=base_dir)
    data = bytes(pdf.output())
    with atomic_binary(path) as handle:
        handle.write(data)


def _render(pdf: Any, block: Block, *, base_dir: Path) -> None:
    if isinstance(block, Heading):
        pdf.set_font("Helvetica", style="B", size=_HEADING_SIZES.get(block.level, 11))
        pdf.ln(2)
        pdf.multi_cell(0, 7, _plain(block.text), new_x="LMARGIN", new_y="NEXT")
    elif isinstance(block, Para):
        pdf.set_font("Helvetica", size=9)
        pdf.multi_cell(0, 4.5, _plain(block.text.replace("  \n", "\n")),
                       new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    elif isinstance(block, Table):
        _table(pdf, block)
    elif isinstance(block, Code):
        pdf.set_font("Courier", size=7)
        pdf.set_fill_color(244, 244, 244)
        pdf.multi_cell(0, 3.5, _latin(block.text.rstrip()), fill=True,
                       new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    else:
        _image(pdf, block, base_dir=base_dir)


def _table(pdf: Any, block: Table) -> None:
    pdf.set_font("Helvetica", size=7.5)
    with pdf.table(text_align="LEFT", line_height=4, first_row_as_headings=True) as table:
        for cells in (block.header, *block.rows):
            row = table.row()
            for cell in cells:
                row.cell(_plain(cell))
    pdf.ln(2)


def _image(pdf: Any, block: Image, *, base_dir: Path) -> None:
    source = (base_dir / block.src).resolve()
    if not source.is_relative_to(base_dir.resolve()) or not source.is_file():
        pdf.set_font("Helvetica", style="I", size=8)
        pdf.multi_cell(0, 4, _latin(f"[figure missing: {block.src}]"),
                       new_x="LMARGIN", new_y="NEXT")
        return
    pdf.image(str(source), w=pdf.epw * 0.75)
    pdf.set_font("Helvetica", style="I", size=8)
    pdf.multi_cell(0, 4, _latin(block.alt), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _plain(text: str) -> str:
    # The report's only inline markup: `code` spans and **bold**.
    return _latin(text.replace("**", "").replace("`", ""))


def _latin(text: str) -> str:
    return text.encode("latin-1", errors="replace").decode("latin-1")
