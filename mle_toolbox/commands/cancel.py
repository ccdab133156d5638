"""``mle cancel EXP_DIR``: stop an experiment's queued and running jobs.

Jobs are found in the job table (``.mle/jobs.sqlite``) by their recorded native
ids, on whichever backend ran them, and marked cancelled there. Grid Engine and
Slurm arrays are also found by the unique names they were submitted under (the
task lists in ``.mle/sge/`` and ``.mle/slurm/``), which covers a submission the
table could not record. Works from any shell, after the launcher is gone.
"""

from __future__ import annotations

import argparse

from ..backends import get_backend
from ..backends.base import read_exit_code
from ..backends.commands import run_command
from ..files.atomic import write_text_atomic
from ..files.expdir import open_experiment
from ..files.layout import ExperimentLayout
from ..launcher.jobtable import JobTable
from ..spec import JobState
from .status import planned_tasks


def cancel_command(args: argparse.Namespace) -> int:
    """Carry out ``mle cancel``; returns the exit code."""
    layout = open_experiment(args.exp_dir).layout
    cancelled = cancel_recorded(layout, force=args.force)
    if cancelled:
        print(f"mle: cancelled {cancelled} job(s) recorded in {layout.job_table}")
    sge = _names(layout, "sge")
    slurm = _names(layout, "slurm")
    count = (_cancel_sge(sge, force=args.force) if sge else 0) + (
        _cancel_slurm(slurm, force=args.force) if slurm else 0)
    if count:
        print(f"mle: cancelled {count} array job(s) of {layout.root}")
    elif not cancelled:
        print(f"mle: nothing of {layout.root} is queued or running")
    return 0


def _names(layout: ExperimentLayout, kind: str) -> set[str]:
    return {p.stem for p in (layout.internal_dir / kind).glob("*.tasks")}


def _cancel_sge(names: set[str], *, force: bool) -> int:
    from ..backends.sge import qdel, qstat_xml
    from ..backends.sge_parse import parse_qstat_xml

    listing = qstat_xml(run_command)
    if listing.returncode != 0:
        raise listing.error("cannot read the queue")
    numbers = sorted({job.job_number for job in parse_qstat_xml(listing.stdout)
                      if job.name in names}, key=int)
    qdel(numbers, force=force, run=run_command)
    return len(numbers)


def _cancel_slurm(names: set[str], *, force: bool) -> int:
    from ..backends.slurm import scancel, squeue
    from ..backends.slurm_parse import parse_squeue

    listing = squeue(run_command)
    if listing.returncode != 0:
        raise listing.error("cannot read the queue")
    arrays = sorted({job.array_id for job in parse_squeue(listing.stdout)
                     if job.name in names and job.job_state is not None}, key=int)
    scancel(arrays, force=force, run=run_command)
    return len(arrays)


def cancel_recorded(layout: ExperimentLayout, *, force: bool) -> int:
    """Cancel the jobs the table says are live and still unfinished; returns how many."""
    table = JobTable.read(layout.job_table)
    if table is None:
        return 0
    try:
        records = table.latest()
        live = [(t, records[t.job_id]) for t in planned_tasks(layout)
                if t.job_id in records and records[t.job_id].live
                and read_exit_code(t.exit_code_file) is None]
        count = 0
        for name in sorted({r.backend for _, r in live}):
            mine = [(t, str(r.native_id)) for t, r in live if r.backend == name and r.native_id]
            backend = get_backend(name)
            for task, _ in mine:  # before the stop: a running launcher then reads it
                write_text_atomic(task.cancelled_file, "cancelled with mle cancel\n")
            backend.cancel(backend.attach(mine), force=force)
            for task, _ in mine:
                record = records[task.job_id]
                table.update(task.job_id, attempt=record.attempt, state=JobState.CANCELLED,
                             reason="cancelled with mle cancel")
            count += len(mine)
        return count
    finally:
        table.close()
