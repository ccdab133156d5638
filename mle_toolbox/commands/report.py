"""``mle report EXP_DIR | -e_id ID | --use_last_id``: report.md, report.html, report.pdf.

The report itself is results/report.py. ``-e_id`` / ``--experiment_id`` and
``-use_last`` / ``--use_last_id`` are mle-toolbox's flags: they name a launch of the
experiment history (``mle protocol`` lists the ids; upstream's ``e-id-3`` form works
too) instead of its folder. Never prompts: without any of the three it is an error.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ..errors import ConfigError
from ..results.document_pdf import INSTALL_HINT
from ..results.report import write_report
from .history_view import find_database, read_entries

_ID = re.compile(r"^(?:e-id-)?(\d+)$")


def report_command(args: argparse.Namespace) -> int:
    """Carry out ``mle report``; returns the exit code."""
    exp_dir = report_dir(args)
    written = write_report(exp_dir, figures=not args.no_figures, pdf=not args.no_pdf)
    extra = f", {written.pdf.name}" if written.pdf is not None else ""
    print(f"mle: report in {written.markdown} and {written.html.name}{extra}"
          f"{f', {len(written.figures)} figures' if written.figures else ''}")
    if written.pdf is None and not args.no_pdf:
        print(f"mle: no report.pdf: it needs fpdf2 ({INSTALL_HINT})")
    return 0


def report_dir(args: argparse.Namespace) -> Path:
    """The experiment directory named by EXP_DIR, ``-e_id`` or ``--use_last_id``."""
    given = [name for name, value in (("EXP_DIR", args.exp_dir),
                                      ("-e_id", args.experiment_id),
                                      ("--use_last_id", args.use_last_id or None))
             if value is not None]
    if len(given) != 1:
        what = "got none" if not given else f"got {' and '.join(given)}"
        raise ConfigError(f"give one of EXP_DIR, -e_id ID or --use_last_id ({what}); "
                          "mle protocol lists the ids", key="mle report")
    if args.exp_dir is not None:
        return Path(args.exp_dir)
    path = find_database(project=args.project)
    entries = read_entries(path)
    where = f"in the experiment history {path}" if path else "(no experiment history found)"
    if args.use_last_id:
        if not entries:
            raise ConfigError(f"no experiment recorded yet {where}", key="--use_last_id")
        return Path(entries[-1].exp_dir)
    match = _ID.match(args.experiment_id.strip())
    if match is None:
        raise ConfigError(f"expected a history id such as 3 or e-id-3, got "
                          f"{args.experiment_id!r}", key="-e_id")
    found = [e for e in entries if e.id == int(match.group(1))]
    if not found:
        raise ConfigError(f"no experiment with id {match.group(1)} {where} "
                          "(mle protocol lists the ids)", key="-e_id")
    return Path(found[0].exp_dir)
