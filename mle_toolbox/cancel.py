"""``mle cancel EXP_DIR``: remove an experiment's jobs from the cluster's queue.

Arrays are found by the unique names they were submitted under (the task lists in
``.mle/sge/`` and ``.mle/slurm/``), so this works from any shell, after the launcher
is gone, for the sge, sge-drmaa and slurm backends alike.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .backends.commands import run_command
from .errors import ExperimentDirError
from .layout import ExperimentLayout


def cancel_command(args: argparse.Namespace) -> int:
    """Carry out ``mle cancel``; returns the exit code."""
    layout = ExperimentLayout(Path(args.exp_dir).absolute())
    if not layout.plan.is_file():
        raise ExperimentDirError(f"{layout.root} is not an mle_toolbox experiment "
                                 "directory (no plan.json)")
    sge = _names(layout, "sge")
    slurm = _names(layout, "slurm")
    if not sge and not slurm:
        print(f"mle: no cluster jobs were submitted from {layout.root}; local jobs stop "
              "with their launcher (Ctrl+C)")
        return 0
    count = (_cancel_sge(sge, force=args.force) if sge else 0) + (
        _cancel_slurm(slurm, force=args.force) if slurm else 0)
    print(f"mle: cancelled {count} array job(s) of {layout.root}"
          if count else f"mle: nothing of {layout.root} is queued or running")
    return 0


def _names(layout: ExperimentLayout, kind: str) -> set[str]:
    return {p.stem for p in (layout.internal_dir / kind).glob("*.tasks")}


def _cancel_sge(names: set[str], *, force: bool) -> int:
    from .backends.sge import qdel, qstat_xml
    from .backends.sge_parse import parse_qstat_xml

    listing = qstat_xml(run_command)
    if listing.returncode != 0:
        raise listing.error("cannot read the queue")
    numbers = sorted({job.job_number for job in parse_qstat_xml(listing.stdout)
                      if job.name in names}, key=int)
    qdel(numbers, force=force, run=run_command)
    return len(numbers)


def _cancel_slurm(names: set[str], *, force: bool) -> int:
    from .backends.slurm import scancel, squeue
    from .backends.slurm_parse import parse_squeue

    listing = squeue(run_command)
    if listing.returncode != 0:
        raise listing.error("cannot read the queue")
    arrays = sorted({job.array_id for job in parse_squeue(listing.stdout)
                     if job.name in names and job.job_state is not None}, key=int)
    scancel(arrays, force=force, run=run_command)
    return len(arrays)
