"""``mle cancel EXP_DIR``: remove an experiment's jobs from the Grid Engine queue.

Arrays are found by the unique names they were submitted under (the task lists in
``.mle/sge/``), so this works from any shell, after the launcher is gone, for the
sge and sge-drmaa backends alike.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .backends.commands import run_command
from .backends.sge import qdel, qstat_xml
from .backends.sge_parse import parse_qstat_xml
from .backends.sge_script import SGE_DIR
from .errors import ExperimentDirError
from .layout import ExperimentLayout


def cancel_command(args: argparse.Namespace) -> int:
    """Carry out ``mle cancel``; returns the exit code."""
    layout = ExperimentLayout(Path(args.exp_dir).absolute())
    if not layout.plan.is_file():
        raise ExperimentDirError(f"{layout.root} is not an mle_toolbox experiment "
                                 "directory (no plan.json)")
    names = {p.stem for p in (layout.internal_dir / SGE_DIR).glob("*.tasks")}
    if not names:
        print(f"mle: no cluster jobs were submitted from {layout.root}; local jobs stop "
              "with their launcher (Ctrl+C)")
        return 0
    listing = qstat_xml(run_command)
    if listing.returncode != 0:
        raise listing.error("cannot read the queue")
    numbers = sorted({job.job_number for job in parse_qstat_xml(listing.stdout)
                      if job.name in names}, key=int)
    qdel(numbers, force=args.force, run=run_command)
    print(f"mle: cancelled {len(numbers)} array job(s) of {layout.root}"
          if numbers else f"mle: nothing of {layout.root} is queued or running")
    return 0
