"""``mle report EXP_DIR``: write report.md, report.html and figures (results/report.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..results.report import write_report


def report_command(args: argparse.Namespace) -> int:
    """Carry out ``mle report EXP_DIR``; returns the exit code."""
    written = write_report(Path(args.exp_dir), figures=not args.no_figures)
    print(f"mle: report in {written.markdown} and {written.html.name}"
          f"{f', {len(written.figures)} figures' if written.figures else ''}")
    return 0
