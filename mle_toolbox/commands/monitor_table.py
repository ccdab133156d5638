"""The job tables ``mle monitor`` reads: counts by state, live jobs placed by the scheduler.

Read-only SQLite (``mode=ro``), one plain scan per query: a 100,000-job table costs tens
of milliseconds. Split from monitor_data.py, which assembles the screen from these.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from ..backends.packed_ids import task_of
from ..backends.queue_view import QueueView, scheduler_of
from ..files.layout import ExperimentLayout

LIVE_STATES = ("submitting", "pending", "running", "unknown")


@dataclass(frozen=True, slots=True)
class Counts:
    """Jobs of one experiment by state."""

    queued: int = 0
    running: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def finished(self) -> int:
        """Jobs in a final state."""
        return self.completed + self.failed + self.cancelled

    @property
    def total(self) -> int:
        """Every job counted."""
        return self.queued + self.running + self.finished


class LiveJob(NamedTuple):
    """A job the job table says was submitted and has not ended (a tuple: there may be
    100,000 of them)."""

    job_id: str
    run_id: str
    seed: int
    backend: str
    native_id: str | None
    submitted: float | None
    attempt: int


@contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection (``mode=ro``): never creates the file, never writes."""
    conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=2.0)
    try:
        yield conn
    finally:
        conn.close()


@dataclass(frozen=True, slots=True)
class TableState:
    """What an experiment's job table (and the scheduler listing) say about its jobs."""

    by_state: dict[str, int]  # final states recorded by the launcher
    recorded: int  # jobs in the table (their latest attempts)
    superseded: frozenset[tuple[str, int]]  # (job_id, attempt) rerun since
    queued: int  # live jobs waiting: in the scheduler's queue, or still being submitted
    running: tuple[LiveJob, ...]
    ended: tuple[tuple[LiveJob, int], ...]  # (job, exit code): ended, not yet recorded


# Every query is one plain scan (no sort, no lookup per row): a 100,000-job table costs
# tens of milliseconds. Earlier attempts of rerun jobs are few; they are found through
# the rows with attempt > 1 and taken out of the counts afterwards.
_LIVE_WHERE = f"state IN ({', '.join(repr(s) for s in LIVE_STATES)})"
_COUNTS = ("SELECT COUNT(*), SUM(state = 'completed'), SUM(state = 'failed'), "
           "SUM(state = 'cancelled') FROM jobs")
_SUPERSEDED = ("SELECT a.job_id, a.attempt, a.state, a.rowid FROM jobs AS a WHERE a.job_id IN "
               "(SELECT job_id FROM jobs WHERE attempt > 1) AND a.attempt < "
               "(SELECT MAX(attempt) FROM jobs WHERE job_id = a.job_id)")
_FINAL = ("completed", "failed", "cancelled")
_CHUNK = 500  # rowids per IN (...) query


def live_backends(layout: ExperimentLayout) -> set[str] | None:
    """Backends of the jobs the table says are live (None when there is no table yet)."""
    if not layout.job_table.is_file():
        return None
    with read_only(layout.job_table) as conn:
        return {str(b) for (b,) in conn.execute(
            f"SELECT DISTINCT backend FROM jobs WHERE {_LIVE_WHERE}")}


def read_table(layout: ExperimentLayout, queues: dict[str, QueueView]) -> TableState:
    """Counts of the job table, its live jobs placed by the scheduler listings.

    A live job the listing shows waiting is only counted; the others (running, or gone
    from the listing) are read in full, and those gone are looked up on disk. So a
    100,000-task array waiting in the queue costs no file access and no object per job.
    """
    with read_only(layout.job_table) as conn:
        conn.execute("BEGIN")  # one consistent view of a table a launcher may be writing
        total, *finals = conn.execute(_COUNTS).fetchone()
        old = conn.execute(_SUPERSEDED).fetchall()
        skip = {row[3] for row in old}
        listings: dict[str, dict[str, str] | None] = {}
        queued, look = 0, []
        for (backend,) in conn.execute(
                f"SELECT DISTINCT backend FROM jobs WHERE {_LIVE_WHERE}").fetchall():
            name = scheduler_of(backend)
            listing = listings[backend] = queues[name].states if name in queues else None
            ids = conn.execute(f"SELECT native_id, rowid FROM jobs WHERE {_LIVE_WHERE} "
                               "AND backend = ?", (backend,)).fetchall()
            if skip:
                ids = [row for row in ids if row[1] not in skip]
            # comprehensions, not a loop with branches: this runs once per waiting job
            # a packed job (<task>@k) waits while its array task does
            mine = [rowid for native, rowid in ids
                    if listing is None or listing.get(task_of(native or "")) != "queued"]
            queued += len(ids) - len(mine)
            look += mine
        rows = []
        for start in range(0, len(look), _CHUNK):
            part = look[start:start + _CHUNK]
            rows += conn.execute(
                "SELECT job_id, run_id, seed, backend, native_id, submitted, attempt FROM jobs "
                f"WHERE rowid IN ({', '.join('?' * len(part))})", part).fetchall()
        conn.execute("COMMIT")
    by_state = {state: int(n or 0) for state, n in zip(_FINAL, finals, strict=True)}
    for _, _, state, _ in old:
        if state in by_state:
            by_state[state] -= 1
    waiting, running, ended = _place(layout, map(LiveJob._make, rows), listings)
    return TableState(by_state=by_state, recorded=int(total or 0) - len(old),
                      superseded=frozenset((r[0], r[1]) for r in old),
                      queued=queued + waiting, running=running, ended=ended)


def _place(layout: ExperimentLayout, jobs: Iterable[LiveJob],
           listings: dict[str, dict[str, str] | None],
           ) -> tuple[int, tuple[LiveJob, ...], tuple[tuple[LiveJob, int], ...]]:
    """Live jobs not waiting in a listing: running there, ended on disk, or still live."""
    waiting = 0
    running: list[LiveJob] = []
    ended: list[tuple[LiveJob, int]] = []
    for job in jobs:
        listing = listings.get(job.backend)
        if listing is not None and listing.get(task_of(job.native_id or "")) == "running":
            running.append(job)
            continue
        code = read_exit_code(layout.job(job.run_id, job.seed).exit_code)
        if code is not None:
            ended.append((job, code))
        elif job.native_id is None and scheduler_of(job.backend) is not None:
            waiting += 1  # still being submitted
        else:
            running.append(job)  # local, or just left the queue
    return waiting, tuple(running), tuple(ended)


def read_exit_code(path: Path) -> int | None:
    """The job wrapper's exit code, or None while the job has not ended."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, ValueError):
        return None
    try:
        return int(text)
    except ValueError:
        return None


def count(table: TableState, *, planned: int) -> Counts:
    """Counts over every planned job: not yet submitted jobs are queued."""
    by_state = table.by_state
    completed = by_state.get("completed", 0) + sum(1 for _, c in table.ended if c == 0)
    failed = by_state.get("failed", 0) + sum(1 for _, c in table.ended if c != 0)
    unsubmitted = max(0, planned - table.recorded)
    return Counts(queued=table.queued + unsubmitted, running=len(table.running),
                  completed=completed, failed=failed,
                  cancelled=by_state.get("cancelled", 0))
