"""``mle cancel EXP_DIR``: stop an experiment's queued and running jobs.

Jobs are found in the job table (``.mle/jobs.sqlite``) by their recorded native
ids, on whichever backend ran them, and marked cancelled there. Grid Engine and
Slurm arrays are also found by the unique names they were submitted under (the
task lists in each backend's ``.mle/`` folder, ``Backend.orphan_folder``), which
covers a submission the table could not record. Works from any shell, after the launcher is gone.
"""

from __future__ import annotations

import argparse

from ..backends import BACKEND_NAMES, backend_class, get_backend
from ..files.arrayfiles import submitted_arrays
from ..files.atomic import write_text_atomic
from ..files.expdir import Experiment, open_experiment
from ..files.jobfiles import read_exit_code
from ..files.layout import ExperimentLayout
from ..launcher.jobtable import JobTable
from ..spec import JobState
from .status import locate, planned_jobs


def cancel_command(args: argparse.Namespace) -> int:
    """Carry out ``mle cancel``; returns the exit code."""
    experiment = open_experiment(args.exp_dir)
    layout = experiment.layout
    cancelled = cancel_recorded(experiment, force=args.force)
    if cancelled:
        print(f"mle: cancelled {cancelled} job(s) recorded in {layout.job_table}")
    count = cancel_orphans(layout, force=args.force)
    if count:
        print(f"mle: cancelled {count} array job(s) of {layout.root}")
    elif not cancelled:
        print(f"mle: nothing of {layout.root} is queued or running")
    return 0


def cancel_orphans(layout: ExperimentLayout, *, force: bool) -> int:
    """Arrays found by the names in each backend's task lists (``orphan_folder``)."""
    count, seen = 0, set()
    for name in BACKEND_NAMES:
        cls = backend_class(name)
        folder = cls.orphan_folder
        if folder is None or folder in seen:
            continue
        seen.add(folder)
        names = submitted_arrays(layout.internal_dir, folder)
        if names:
            count += cls.cancel_orphans(names, force=force)
    return count


def cancel_recorded(experiment: Experiment, *, force: bool) -> int:
    """Cancel the jobs the table says are live and still unfinished; returns how many."""
    layout = experiment.layout
    table = JobTable.read(layout.job_table)
    if table is None:
        return 0
    try:
        records = table.latest()
        live = [(t, records[t.job_id]) for t in planned_jobs(experiment)
                if t.job_id in records and records[t.job_id].live
                and read_exit_code(t.files.exit_code) is None]
        count = 0
        for name in sorted({r.backend for _, r in live}):
            backend = get_backend(name)
            # Rows a launcher left "submitting": stop what that submission started too.
            mine, _ = locate(backend, [(t, r) for t, r in live if r.backend == name],
                             internal_dir=layout.internal_dir)
            for task, _ in mine:  # before the stop: a running launcher then reads it
                write_text_atomic(task.files.cancelled, "cancelled with mle cancel\n")
            backend.cancel(backend.attach(mine), force=force)
            for task, native in mine:
                record = records[task.job_id]
                if record.native_id is None:
                    table.found(record, native_id=native)
                table.update(task.job_id, attempt=record.attempt, state=JobState.CANCELLED,
                             reason="cancelled with mle cancel")
            count += len(mine)
        return count
    finally:
        table.close()
