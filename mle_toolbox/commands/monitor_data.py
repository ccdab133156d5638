"""One refresh of ``mle monitor``: everything it shows, read without changing anything.

Sources: the experiment history (one SELECT), each shown experiment's job table
(aggregate counts plus its live rows, opened read-only), the job files of live jobs
only, the metrics logs of a few runs of the selected experiment, /proc for this
machine, and at most one scheduler call per scheduler in use. Never takes the
experiment lock, never creates a file. Anything unreadable becomes a ``problem``
text on its row, never an exception.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ..backends.base import describe_exit
from ..files.layout import ExperimentLayout
from ..launcher.history import COLUMNS, Entry
from .monitor_queue import QueueView, query, scheduler_of

RECENT = 8  # finished experiments shown besides the running ones
RUN_LINES = 8  # runs of the selected experiment with their latest metrics
FAILED_SHOWN = 3  # failed jobs of the selected experiment with their stderr tail
TAIL_LINES = 4
TAIL_BYTES = 4096
LOG_BYTES = 4 << 20  # a metrics log's last 4 MiB: its latest values and its recent curve
CURVE_POINTS = 48  # rows of a log parsed for its sparkline
LIVE_STATES = ("submitting", "pending", "running", "unknown")
LIVE_HISTORY = ("running", "detached")
_HOST = socket.gethostname()


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


@dataclass(frozen=True, slots=True)
class ExperimentView:
    """One row of the experiments panel."""

    entry: Entry
    counts: Counts
    elapsed_s: float
    eta_s: float | None
    best: str  # best objective so far ("-" when none)
    problem: str = ""  # "vanished", "damaged: ..." (counts then come from the history)
    stale: bool = False  # recorded as running, but its launcher on this host is gone

    @property
    def state(self) -> str:
        """What the experiments panel says in its STATE column."""
        if self.problem:
            return self.problem
        return "launcher gone" if self.stale else self.entry.state


@dataclass(frozen=True, slots=True)
class RunView:
    """The latest metric values of one job, and its objective's curve."""

    job_id: str
    state: str
    step: str
    values: tuple[tuple[str, float], ...]
    curve: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class FailedView:
    """A failed job and the last lines of its stderr."""

    job_id: str
    reason: str
    tail: str


@dataclass(frozen=True, slots=True)
class Detail:
    """The selected experiment."""

    exp_dir: str
    name: str
    counts: Counts
    objective: str | None
    runs: tuple[RunView, ...]
    failed: tuple[FailedView, ...]
    failed_total: int
    problem: str = ""


@dataclass(frozen=True, slots=True)
class Machine:
    """This machine: cores, load, memory."""

    host: str
    cores: int
    load1: float
    mem_used_gib: float
    mem_total_gib: float


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one screen shows."""

    taken: float
    database: str | None
    total_experiments: int
    experiments: tuple[ExperimentView, ...]
    selected: int  # index into experiments (-1: none)
    detail: Detail | None
    machine: Machine
    queues: tuple[QueueView, ...]


# ------------------------------------------------------------------ read-only SQLite
@contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection (``mode=ro``): never creates the file, never writes."""
    conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=2.0)
    try:
        yield conn
    finally:
        conn.close()


def read_history(path: Path | None) -> list[Entry]:
    """Every launch in the history database, oldest first ([] without one)."""
    if path is None or not path.is_file():
        return []
    with read_only(path) as conn:
        rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM experiments ORDER BY id")
        return [Entry(*row) for row in rows]


def shown_entries(entries: Sequence[Entry], *, recent: int = RECENT) -> list[Entry]:
    """The latest launch of each experiment dir: the live ones, then the most recent others.

    Newest first.
    """
    latest: dict[str, Entry] = {}
    for entry in entries:
        latest[entry.exp_dir] = entry  # later launches of a dir replace earlier ones
    ordered = sorted(latest.values(), key=lambda e: e.id, reverse=True)
    live = [e for e in ordered if e.state in LIVE_HISTORY]
    done = [e for e in ordered if e.state not in LIVE_HISTORY][:recent]
    return sorted(live + done, key=lambda e: e.id, reverse=True)


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
            mine = [rowid for native, rowid in ids
                    if listing is None or listing.get(native or "") != "queued"]
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
        if listing is not None and listing.get(job.native_id or "") == "running":
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


# ------------------------------------------------------------------ experiment state
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


def history_counts(entry: Entry) -> Counts:
    """Counts as the history recorded them (an experiment whose files are gone)."""
    return Counts(completed=entry.jobs_completed + entry.jobs_skipped,
                  failed=entry.jobs_failed, cancelled=entry.jobs_cancelled,
                  queued=0 if entry.state not in LIVE_HISTORY else max(
                      0, entry.jobs_total - entry.jobs_completed - entry.jobs_failed
                      - entry.jobs_cancelled))


def eta(counts: Counts, *, elapsed_s: float, done_before: int) -> float | None:
    """Seconds left at this launch's rate so far; None before its first job ended."""
    done_now = counts.finished - done_before
    left = counts.queued + counts.running
    if done_now <= 0 or left == 0:
        return None
    return left * elapsed_s / done_now


def best_so_far(layout: ExperimentLayout) -> str:
    """The search's best evaluation so far (best_config.json), as ``metric=value (run)``."""
    try:
        doc = json.loads(layout.best_config.read_text(encoding="utf-8"))
        return f"{doc['metric']}={float(doc['objective']):.4g} ({doc['eval_id']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "-"


def describe_problem(err: BaseException) -> str:
    """A short text for a damaged experiment."""
    if isinstance(err, sqlite3.DatabaseError):
        return f"damaged job table ({err})"
    return f"unreadable ({type(err).__name__}: {err})"


def experiment_problem(exp_dir: str) -> str:
    """"vanished" when the directory is gone; "" when it is there."""
    root = Path(exp_dir)
    if not root.is_dir():
        return "vanished"
    if not (root / "plan.json").is_file():
        return "damaged: no plan.json"
    return ""


# ------------------------------------------------------------------ selected experiment
def objective_of(layout: ExperimentLayout) -> str | None:
    """The objective metric named by the meta YAML copy (None when it names none)."""
    from ..results.report import read_objective

    found = read_objective(layout.meta_copy)
    return None if found is None else found.metric


def read_log_sample(path: Path, *, points: int = CURVE_POINTS) -> list[dict[str, Any]]:
    """At most ``points`` rows of a metrics log, evenly spread, always ending with its last
    complete row. Only the last LOG_BYTES are read; only the sampled lines are parsed."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - LOG_BYTES))
            data = handle.read()
    except OSError:
        return []
    lines = data.split(b"\n")[:-1]  # the last piece has no newline yet: it may be torn
    if size > LOG_BYTES:
        lines = lines[1:]  # the first line was cut by the seek
    if len(lines) > points:
        step = len(lines) / points
        lines = [lines[min(len(lines) - 1, round((i + 1) * step) - 1)] for i in range(points)]
    rows = []
    for line in lines:
        try:
            row = json.loads(line.decode("utf-8", errors="replace"))
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _stats(row: dict[str, Any]) -> dict[str, Any]:
    value = row.get("stats")
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def run_view(layout: ExperimentLayout, *, job_id: str, run_id: str, seed: int, state: str,
             objective: str | None) -> RunView:
    """Latest values of a job's metrics and the curve of its objective."""
    rows = read_log_sample(layout.job(run_id, seed).metrics_log)
    stats: list[dict[str, Any]] = [_stats(r) for r in rows]
    last = stats[-1] if stats else {}
    values = tuple((k, v) for k, v in ((k, _number(v)) for k, v in last.items())
                   if v is not None)
    metric = objective or (values[0][0] if values else None)
    curve = tuple(v for v in (_number(s.get(metric)) for s in stats) if v is not None) \
        if metric else ()
    times = rows[-1].get("time") if rows else None
    step = "-"
    if isinstance(times, dict) and times:
        key, value = next(iter(times.items()))
        step = f"{key}={value}"
    return RunView(job_id=job_id, state=state, step=step, values=values, curve=curve)


def stderr_tail(path: Path) -> str:
    """The last lines of a stderr file ("" when there is none)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - TAIL_BYTES))
            data = handle.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", errors="replace").splitlines()[-TAIL_LINES:])


def failed_rows(layout: ExperimentLayout, table: TableState, *,
                limit: int) -> list[tuple[Any, ...]]:
    """The last submitted failed jobs: (job_id, run_id, seed, reason, exit code)."""
    with read_only(layout.job_table) as conn:
        rows = conn.execute(
            "SELECT job_id, run_id, seed, reason, exit_code, attempt FROM jobs WHERE "
            "state = 'failed' ORDER BY rowid DESC LIMIT ?",
            (limit + len(table.superseded),)).fetchall()
    return [r[:5] for r in rows if (r[0], r[5]) not in table.superseded][:limit]


def recent_finished(layout: ExperimentLayout, table: TableState, *,
                    limit: int) -> list[tuple[str, str, int, str]]:
    """The last submitted jobs that have ended: (job_id, run_id, seed, state).

    Submission order (rowid) rather than end time: it needs no sort of the whole table.
    """
    with read_only(layout.job_table) as conn:
        rows = conn.execute(
            "SELECT job_id, run_id, seed, state, attempt FROM jobs WHERE ended IS NOT NULL "
            "ORDER BY rowid DESC LIMIT ?", (limit + len(table.superseded),)).fetchall()
    return [(str(a), str(b), int(c), str(d)) for a, b, c, d, n in rows
            if (a, n) not in table.superseded][:limit]


def build_detail(layout: ExperimentLayout, *, name: str, counts: Counts,
                 table: TableState) -> Detail:
    """The selected experiment's runs, failures and curves."""
    objective = objective_of(layout)
    picks: list[tuple[str, str, int, str]] = [
        (j.job_id, j.run_id, j.seed, "running") for j in table.running]
    picks += [(j.job_id, j.run_id, j.seed, "completed" if c == 0 else "failed")
              for j, c in table.ended]
    if len(picks) < RUN_LINES:
        seen = {p[0] for p in picks}
        picks += [p for p in recent_finished(layout, table, limit=RUN_LINES)
                  if p[0] not in seen]
    runs = tuple(run_view(layout, job_id=j, run_id=r, seed=s, state=st, objective=objective)
                 for j, r, s, st in picks[:RUN_LINES])
    fails: list[FailedView] = []
    for job, code in table.ended:
        if code != 0 and len(fails) < FAILED_SHOWN:
            fails.append(FailedView(job.job_id, describe_exit(code),
                                    stderr_tail(layout.job(job.run_id, job.seed).stderr)))
    for job_id, run_id, seed, reason, exit_code in failed_rows(layout, table,
                                                               limit=FAILED_SHOWN):
        if len(fails) < FAILED_SHOWN and all(f.job_id != job_id for f in fails):
            why = str(reason) or (describe_exit(int(exit_code)) if exit_code is not None
                                  else "failed")
            fails.append(FailedView(str(job_id), why,
                                    stderr_tail(layout.job(str(run_id), int(seed)).stderr)))
    return Detail(exp_dir=str(layout.root), name=name, counts=counts, objective=objective,
                  runs=runs, failed=tuple(fails), failed_total=counts.failed)


# ------------------------------------------------------------------ this machine
def machine() -> Machine:
    """Cores, 1-minute load and memory in use, from /proc (zeros where unreadable)."""
    cores = os.cpu_count() or 1
    try:
        load1 = os.getloadavg()[0]
    except OSError:
        load1 = 0.0
    info: dict[str, int] = {}
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                info[key] = int(parts[0])
    except OSError:
        pass
    total = info.get("MemTotal", 0)
    used = total - info.get("MemAvailable", info.get("MemFree", 0))
    gib = 1024 * 1024
    return Machine(host=_HOST, cores=cores, load1=load1,
                   mem_used_gib=used / gib, mem_total_gib=total / gib)


# ------------------------------------------------------------------ one refresh
@dataclass(frozen=True, slots=True)
class Request:
    """What to show: the history database, a directory to select, the selection index."""

    database: Path | None
    exp_dir: Path | None = None
    select: int = 0


QueryFn = Callable[[str], QueueView]


def snapshot(request: Request, *, ask: QueryFn = query, now: float | None = None) -> Snapshot:
    """Read everything one screen shows."""
    now = time.time() if now is None else now
    problem_db = ""
    try:
        entries = read_history(request.database)
    except sqlite3.Error as err:
        entries, problem_db = [], f"history database unreadable: {err}"
    shown = shown_entries(entries)
    if request.exp_dir is not None:
        shown = _with_dir(shown, entries, request.exp_dir)
    backends = {e.exp_dir: _backends(e.exp_dir) for e in shown}
    needed = sorted({s for found in backends.values() if isinstance(found, set)
                     for b in found if (s := scheduler_of(b)) is not None})
    queues = {s: ask(s) for s in needed}  # one call per scheduler, never one per job
    views, tables = [], {}
    for entry in shown:
        table = _table(entry.exp_dir, backends[entry.exp_dir], queues)
        views.append(_experiment(entry, table, now=now))
        tables[entry.exp_dir] = table
    selected = min(max(request.select, 0), len(views) - 1) if views else -1
    detail = None
    if selected >= 0:
        detail = _detail(views[selected], tables[views[selected].entry.exp_dir])
    database = str(request.database) if request.database else None
    if problem_db:
        database = f"{database} ({problem_db})"
    return Snapshot(taken=now, database=database, total_experiments=len(entries),
                    experiments=tuple(views), selected=selected, detail=detail,
                    machine=machine(), queues=tuple(queues.values()))


def _with_dir(shown: list[Entry], entries: Sequence[Entry], exp_dir: Path) -> list[Entry]:
    """``mle monitor EXP_DIR``: that experiment first (from the history, or its plan)."""
    key = str(exp_dir.resolve())
    mine = [e for e in entries if e.exp_dir == key]
    entry = mine[-1] if mine else _unrecorded(exp_dir)
    return [entry, *(e for e in shown if e.exp_dir != key)]


def _unrecorded(exp_dir: Path) -> Entry:
    """An experiment dir not in the history: its plan.json gives name and job count."""
    root = exp_dir.resolve()
    try:
        plan = json.loads((root / "plan.json").read_text(encoding="utf-8"))
        name, jobs = str(plan.get("project_name", root.name)), len(plan.get("jobs", []))
    except (OSError, ValueError, AttributeError):
        name, jobs = root.name, 0
    started = root.stat().st_mtime if root.exists() else 0.0
    return Entry(id=0, name=name, purpose=None, meta_path="", meta_hash="", exp_dir=str(root),
                 backend="?", state="running", jobs_total=jobs, jobs_completed=0,
                 jobs_failed=0, jobs_cancelled=0, jobs_skipped=0, started=started, ended=None,
                 git_commit=None, host="", pid=0)


def _backends(exp_dir: str) -> set[str] | str | None:
    """Live backends of an experiment, None without a job table, or what is wrong."""
    problem = experiment_problem(exp_dir)
    if problem:
        return problem
    try:
        return live_backends(ExperimentLayout(Path(exp_dir)))
    except (sqlite3.Error, OSError) as err:
        return describe_problem(err)


def _table(exp_dir: str, backends: set[str] | str | None,
           queues: dict[str, QueueView]) -> TableState | str | None:
    if not isinstance(backends, set):
        return backends
    try:
        return read_table(ExperimentLayout(Path(exp_dir)), queues)
    except (sqlite3.Error, OSError) as err:
        return describe_problem(err)


def launcher_gone(entry: Entry, *, host: str) -> bool:
    """True for a ``running`` launch whose launcher process on this host has died
    (killed with SIGKILL, the machine rebooted): nothing will update it any more."""
    if entry.state != "running" or entry.host != host or entry.pid <= 0:
        return False
    try:
        os.kill(entry.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


def _experiment(entry: Entry, table: TableState | str | None, *, now: float) -> ExperimentView:
    view = _experiment_counts(entry, table, now=now)
    if launcher_gone(entry, host=_HOST):
        return dataclasses.replace(view, stale=True)
    return view


def _experiment_counts(entry: Entry, table: TableState | str | None, *,
                       now: float) -> ExperimentView:
    layout = ExperimentLayout(Path(entry.exp_dir))
    # A detached launch has ended, its jobs have not: they run on, and so does the clock.
    live = entry.state in LIVE_HISTORY or entry.ended is None
    elapsed = (now if live else (entry.ended or now)) - entry.started
    if isinstance(table, str):
        return ExperimentView(entry, history_counts(entry), elapsed, None, "-", table)
    if table is None:  # nothing submitted yet, or a launch that never got that far
        counts = history_counts(entry) if not live else Counts(
            queued=entry.jobs_total, completed=entry.jobs_skipped)
        return ExperimentView(entry, counts, elapsed, None, best_so_far(layout))
    counts = count(table, planned=entry.jobs_total + entry.jobs_skipped)
    left = eta(counts, elapsed_s=elapsed, done_before=entry.jobs_skipped) if live else None
    return ExperimentView(entry, counts, elapsed, left, best_so_far(layout))


def _detail(view: ExperimentView, table: TableState | str | None) -> Detail:
    entry = view.entry
    layout = ExperimentLayout(Path(entry.exp_dir))
    if not isinstance(table, TableState):
        objective = objective_of(layout) if not view.problem else None
        return Detail(exp_dir=entry.exp_dir, name=entry.name, counts=view.counts,
                      objective=objective, runs=(), failed=(), failed_total=0,
                      problem=view.problem)
    try:
        return build_detail(layout, name=entry.name, counts=view.counts, table=table)
    except (sqlite3.Error, OSError) as err:
        return Detail(exp_dir=entry.exp_dir, name=entry.name, counts=view.counts,
                      objective=None, runs=(), failed=(), failed_total=0,
                      problem=describe_problem(err))
