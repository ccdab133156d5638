"""``mle status [EXP_DIR]``: where every job of an experiment stands.

Read from the job files (``exit_code`` is the truth about how a job ended), the job
table (what was submitted where, and what the launcher saw) and one scheduler query
for the jobs the table says are still live. The one write: jobs the table still calls
live whose exit_code says they ended are settled in the table (when it can be written).
"""

from __future__ import annotations

import argparse
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..backends import get_backend
from ..errors import BackendUnavailable, CommandError, DiskFullError, ExperimentDirError
from ..files.expdir import Experiment, open_experiment
from ..files.jobdir import attempt_number
from ..files.jobfiles import read_exit_code, status_from_exit_code, stderr_tail
from ..files.layout import ExperimentLayout
from ..launcher.jobtable import JobRecord, JobTable
from ..spec import JobRef, JobState, JobStatus

if TYPE_CHECKING:
    from ..backends.base import Backend

NOT_STARTED = "not started"


@dataclass(frozen=True, slots=True)
class JobView:
    """One job as ``mle status`` shows it."""

    job_id: str
    state: str
    reason: str
    attempt: int
    job: JobRef


def status_command(args: argparse.Namespace) -> int:
    """Carry out ``mle status``; returns 0 (1 when some job failed)."""
    experiment = open_experiment(args.exp_dir)
    layout = experiment.layout
    views = collect(layout, jobs=planned_jobs(experiment))
    print_status(views, layout=layout)
    return 1 if any(v.state == JobState.FAILED.value for v in views) else 0


def planned_jobs(experiment: Experiment) -> list[JobRef]:
    """Every job in plan.json, by id and job dir."""
    layout = experiment.layout
    return [JobRef(job_id=j.job_id, job_dir=layout.job(j.run_id, j.seed).job_dir)
            for j in experiment.plan.jobs]


def live_statuses(pairs: Sequence[tuple[JobRef, JobRecord]], *, internal_dir: Path,
                  found: dict[str, str] | None = None) -> dict[str, JobStatus]:
    """One scheduler query per backend for jobs the table says are live, by job id.

    Rows still ``submitting`` (a launcher died mid-submission) are first looked for where
    their submission put them (``Backend.find_submitted``): a job that runs shows running.
    The native ids found that way are added to ``found`` (by job id).
    """
    out: dict[str, JobStatus] = {}
    for name in sorted({r.backend for _, r in pairs}):
        rows = [(t, r) for t, r in pairs if r.backend == name]
        try:
            backend = get_backend(name)
            mine, located = locate(backend, rows, internal_dir=internal_dir)
            if found is not None:
                found.update(located)
            statuses = backend.status(backend.attach(mine)) if mine else {}
        except (BackendUnavailable, CommandError) as err:
            why = f"{name} cannot be asked here: {err}"
            out.update({t.job_id: JobStatus(JobState.UNKNOWN, reason=why)
                        for t, r in rows if r.native_id})
            continue
        out.update({h.job_id: s for h, s in statuses.items()})
    return out


def locate(backend: Backend, rows: Sequence[tuple[JobRef, JobRecord]], *,
           internal_dir: Path) -> tuple[list[tuple[JobRef, str]], dict[str, str]]:
    """(job, native id) of each of ``backend``'s live ``rows`` whose run can be named, and
    the ids found for rows a launcher left ``submitting`` (by job id): those are looked
    for where their submission put them (``Backend.find_submitted``, one query)."""
    natives = {t.job_id: str(r.native_id) for t, r in rows if r.native_id}
    cut = [(t, r.token) for t, r in rows if not r.native_id]
    located = backend.find_submitted(cut, internal_dir=internal_dir) if cut else {}
    natives.update(located)
    return [(t, natives[t.job_id]) for t, _ in rows if t.job_id in natives], located


def collect(layout: ExperimentLayout, *, jobs: Sequence[JobRef]) -> list[JobView]:
    """Every job of the experiment with its state, in plan order."""
    tasks = list(jobs)
    table = JobTable.read_only(layout.job_table)
    records = table.latest() if table is not None else {}
    if table is not None:
        table.close()
    codes = {t.job_id: read_exit_code(t.files.exit_code) for t in tasks}  # read once
    live = [(t, records[t.job_id]) for t in tasks
            if t.job_id in records and records[t.job_id].live and codes[t.job_id] is None]
    found: dict[str, str] = {}
    polled = live_statuses(live, internal_dir=layout.internal_dir, found=found)
    views = [_view(t, records.get(t.job_id), polled, code=codes[t.job_id]) for t in tasks]
    settle_records(layout, views=views, records=records, codes=codes, found=found)
    return views


def settle_records(layout: ExperimentLayout, *, views: Sequence[JobView],
                   records: Mapping[str, JobRecord], codes: Mapping[str, int | None],
                   found: Mapping[str, str] | None = None) -> int:
    """Write into the job table how jobs it still calls live have ended (their exit_code),
    and the native ids ``found`` for rows a launcher left ``submitting``.

    Jobs that finished while no launcher followed them would otherwise stay "pending" in
    the table. Only the job's own exit_code (``codes``, by job id) counts here; on a
    read-only experiment the table is left as it is (the views are right either way).
    Returns how many were settled.
    """
    ended = [(v, records[v.job_id], code) for v in views
             if v.job_id in records and records[v.job_id].live
             and (code := codes.get(v.job_id)) is not None]
    located = [(records[j], native) for j, native in (found or {}).items() if j in records]
    if not ended and not located:
        return 0
    try:
        table = JobTable.open(layout.job_table)
    except (ExperimentDirError, DiskFullError):
        return 0  # read-only, damaged or full: reading is all this command promises
    try:
        for record, native in located:
            table.found(record, native_id=native)
        for view, record, code in ended:
            table.update(view.job_id, attempt=record.attempt, state=JobState(view.state),
                         exit_code=code, reason=view.reason)
    except (sqlite3.OperationalError, DiskFullError):
        return 0  # a read-only database file in a writable folder, or a full disk
    finally:
        table.close()
    return len(ended)


def _view(task: JobRef, record: JobRecord | None, polled: Mapping[str, JobStatus], *,
          code: int | None) -> JobView:
    attempt = record.attempt if record is not None else attempt_number(task.job_dir)
    if record is not None and record.state == JobState.CANCELLED.value and code != 0:
        # Stopped on purpose: the signal in its exit code was ours (qdel, mle cancel).
        return JobView(task.job_id, record.state, record.reason, attempt, task)
    if code is not None:
        status = status_from_exit_code(code)
        return JobView(task.job_id, status.state.value, status.reason, attempt, task)
    if task.job_id in polled:
        status = polled[task.job_id]
        return JobView(task.job_id, status.state.value, status.reason, attempt, task)
    if record is not None:
        return JobView(task.job_id, record.state, record.reason, attempt, task)
    return JobView(task.job_id, NOT_STARTED, "", attempt, task)


def print_status(views: Sequence[JobView], *, layout: ExperimentLayout) -> None:
    """Counts per state, then each failed job with the tail of its stderr."""
    counts = Counter(v.state for v in views)
    order = [s.value for s in JobState] + [NOT_STARTED, "submitting"]
    parts = [f"{counts[s]} {s}" for s in order if counts[s]]
    print(f"mle: {layout.root}: {len(views)} jobs: {', '.join(parts) or 'none'}")
    for view in views:
        if view.state not in (JobState.FAILED.value, JobState.UNKNOWN.value):
            continue
        retry = f" (attempt {view.attempt})" if view.attempt > 1 else ""
        print(f"{view.state}: {view.job_id}{retry}: {view.reason or 'no reason recorded'}")
        for line in stderr_tail(view.job.files.stderr).splitlines():
            print(f"    | {line}")
