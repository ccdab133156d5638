"""One refresh of ``mle monitor``: everything it shows, read without changing anything.

Sources: the experiment history (one SELECT), each shown experiment's job table
(aggregate counts plus its live rows, opened read-only), the job files of live jobs
only, the metrics logs of a few runs of the selected experiment, /proc for this
machine, and at most one scheduler call per scheduler in use. Never takes the
experiment lock, never creates a file. Anything unreadable becomes a ``problem``
text on its row, never an exception.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..backends.base import describe_exit
from ..files.layout import ExperimentLayout
from ..launcher.history import COLUMNS, Entry
from .monitor_queue import QueueView, query, scheduler_of

RECENT = 8  # finished experiments shown besides the running ones
RUN_LINES = 8  # runs of the selected experiment with their latest metrics
FAILED_SHOWN = 3  # failed jobs of the selected experiment with their stderr tail
TAIL_LINES = 4
TAIL_BYTES = 4096
LOG_BYTES = 1 << 20  # a metrics log's last MiB is enough for the latest values and a curve
LIVE_STATES = ("submitting", "pending", "running", "unknown")
LIVE_HISTORY = ("running", "detached")


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


@dataclass(frozen=True, slots=True)
class LiveJob:
    """A job the job table says was submitted and has not ended."""

    job_id: str
    run_id: str
    seed: int
    backend: str
    native_id: str | None
    submitted: float | None


@dataclass(frozen=True, slots=True)
class ExperimentView:
    """One row of the experiments panel."""

    entry: Entry
    counts: Counts
    elapsed_s: float
    eta_s: float | None
    best: str  # best objective so far ("-" when none)
    problem: str = ""  # "vanished", "damaged: ..." (counts then come from the history)


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
    """What an experiment's job table says: final counts by state and the live jobs."""

    by_state: dict[str, int]
    live: tuple[LiveJob, ...]
    recorded: int


_LATEST = "attempt = (SELECT MAX(attempt) FROM jobs WHERE job_id = j.job_id)"


def read_table(layout: ExperimentLayout) -> TableState | None:
    """Counts and live rows of the job table (None when there is no table yet)."""
    if not layout.job_table.is_file():
        return None
    with read_only(layout.job_table) as conn:
        by_state = dict(conn.execute(
            f"SELECT state, COUNT(*) FROM jobs AS j WHERE {_LATEST} GROUP BY state").fetchall())
        marks = ", ".join("?" for _ in LIVE_STATES)
        live = conn.execute(
            "SELECT job_id, run_id, seed, backend, native_id, submitted FROM jobs AS j "
            f"WHERE state IN ({marks}) AND {_LATEST}", LIVE_STATES).fetchall()
    return TableState(by_state=by_state, live=tuple(LiveJob(*row) for row in live),
                      recorded=sum(by_state.values()))


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


@dataclass(frozen=True, slots=True)
class Sorted:
    """Live jobs sorted by where they are now."""

    queued: tuple[LiveJob, ...] = ()
    running: tuple[LiveJob, ...] = ()
    ended: tuple[tuple[LiveJob, int], ...] = ()  # (job, exit code): ended, not yet recorded


def sort_live(layout: ExperimentLayout, live: Sequence[LiveJob],
              queues: dict[str, QueueView]) -> Sorted:
    """Place each live job from the scheduler listing, else its exit_code file.

    Only jobs the listing does not show are looked up on disk: a 100,000-job array
    waiting in the queue costs no file access.
    """
    queued: list[LiveJob] = []
    running: list[LiveJob] = []
    ended: list[tuple[LiveJob, int]] = []
    for job in live:
        view = queues.get(scheduler_of(job.backend) or "")
        where = view.states.get(job.native_id or "") if view is not None else None
        if where == "queued":
            queued.append(job)
        elif where == "running":
            running.append(job)
        else:
            code = read_exit_code(layout.job(job.run_id, job.seed).exit_code)
            if code is not None:
                ended.append((job, code))
            elif job.native_id is None and scheduler_of(job.backend) is not None:
                queued.append(job)  # still being submitted
            else:
                running.append(job)  # local, or just left the queue
    return Sorted(tuple(queued), tuple(running), tuple(ended))


def count(table: TableState, placed: Sorted, *, planned: int) -> Counts:
    """Counts over every planned job: not yet submitted jobs are queued."""
    by_state = table.by_state
    completed = by_state.get("completed", 0) + sum(1 for _, c in placed.ended if c == 0)
    failed = by_state.get("failed", 0) + sum(1 for _, c in placed.ended if c != 0)
    unsubmitted = max(0, planned - table.recorded)
    return Counts(queued=len(placed.queued) + unsubmitted, running=len(placed.running),
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


def read_log_tail(path: Path) -> list[dict[str, Any]]:
    """Rows of the last MiB of a metrics log (a torn first or last line is skipped)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - LOG_BYTES))
            data = handle.read()
    except OSError:
        return []
    lines = data.decode("utf-8", errors="replace").split("\n")
    if size > LOG_BYTES:
        lines = lines[1:]  # the first line was cut by the seek
    rows = []
    for line in lines[:-1]:  # the last piece has no newline yet: it may be torn
        try:
            row = json.loads(line)
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
    rows = read_log_tail(layout.job(run_id, seed).metrics_log)
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


def failed_rows(layout: ExperimentLayout, *, limit: int) -> tuple[list[tuple[str, ...]], int]:
    """The most recent failed jobs (job_id, run_id, seed, reason, exit code) and how many."""
    with read_only(layout.job_table) as conn:
        where = f"state = 'failed' AND {_LATEST}"
        total = conn.execute(f"SELECT COUNT(*) FROM jobs AS j WHERE {where}").fetchone()[0]
        rows = conn.execute(
            f"SELECT job_id, run_id, seed, reason, exit_code FROM jobs AS j WHERE {where} "
            "ORDER BY ended DESC LIMIT ?", (limit,)).fetchall()
    return [tuple(r) for r in rows], int(total)


def recent_finished(layout: ExperimentLayout, *, limit: int) -> list[tuple[str, str, int, str]]:
    """The jobs that ended last: (job_id, run_id, seed, state)."""
    with read_only(layout.job_table) as conn:
        rows = conn.execute(
            "SELECT job_id, run_id, seed, state FROM jobs AS j WHERE ended IS NOT NULL AND "
            f"{_LATEST} ORDER BY ended DESC LIMIT ?", (limit,)).fetchall()
    return [(str(a), str(b), int(c), str(d)) for a, b, c, d in rows]


def build_detail(layout: ExperimentLayout, *, name: str, counts: Counts,
                 placed: Sorted) -> Detail:
    """The selected experiment's runs, failures and curves."""
    objective = objective_of(layout)
    picks: list[tuple[str, str, int, str]] = [
        (j.job_id, j.run_id, j.seed, "running") for j in placed.running]
    picks += [(j.job_id, j.run_id, j.seed, "completed" if c == 0 else "failed")
              for j, c in placed.ended]
    if len(picks) < RUN_LINES:
        seen = {p[0] for p in picks}
        picks += [p for p in recent_finished(layout, limit=RUN_LINES) if p[0] not in seen]
    runs = tuple(run_view(layout, job_id=j, run_id=r, seed=s, state=st, objective=objective)
                 for j, r, s, st in picks[:RUN_LINES])
    fails: list[FailedView] = []
    for job, code in placed.ended:
        if code != 0 and len(fails) < FAILED_SHOWN:
            fails.append(FailedView(job.job_id, describe_exit(code),
                                    stderr_tail(layout.job(job.run_id, job.seed).stderr)))
    rows, total = failed_rows(layout, limit=FAILED_SHOWN)
    for job_id, run_id, seed, reason, exit_code in rows:
        if len(fails) < FAILED_SHOWN and all(f.job_id != job_id for f in fails):
            why = str(reason) or (describe_exit(int(exit_code)) if exit_code is not None
                                  else "failed")
            fails.append(FailedView(str(job_id), why,
                                    stderr_tail(layout.job(str(run_id), int(seed)).stderr)))
    total += sum(1 for _, c in placed.ended if c != 0)
    return Detail(exp_dir=str(layout.root), name=name, counts=counts, objective=objective,
                  runs=runs, failed=tuple(fails), failed_total=total)


# ------------------------------------------------------------------ this machine
def machine() -> Machine:
    """Cores, 1-minute load and memory in use, from /proc (zeros where unreadable)."""
    import socket

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
    return Machine(host=socket.gethostname(), cores=cores, load1=load1,
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
    tables = {e.exp_dir: _table(e.exp_dir) for e in shown}
    queues = _ask_schedulers(tables.values(), ask=ask)
    views, placements = [], {}
    for entry in shown:
        view, placed = _experiment(entry, tables[entry.exp_dir], queues, now=now)
        views.append(view)
        placements[entry.exp_dir] = placed
    selected = min(max(request.select, 0), len(views) - 1) if views else -1
    detail = None
    if selected >= 0:
        detail = _detail(views[selected], placements[views[selected].entry.exp_dir])
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


def _table(exp_dir: str) -> TableState | str | None:
    problem = experiment_problem(exp_dir)
    if problem:
        return problem
    try:
        return read_table(ExperimentLayout(Path(exp_dir)))
    except (sqlite3.Error, OSError) as err:
        return describe_problem(err)


def _ask_schedulers(tables: Any, *, ask: QueryFn) -> dict[str, QueueView]:
    """One call per scheduler that holds live jobs of a shown experiment."""
    needed = sorted({s for t in tables if isinstance(t, TableState) for j in t.live
                     if (s := scheduler_of(j.backend)) is not None})
    return {s: ask(s) for s in needed}


def _experiment(entry: Entry, table: TableState | str | None, queues: dict[str, QueueView],
                *, now: float) -> tuple[ExperimentView, Sorted | None]:
    layout = ExperimentLayout(Path(entry.exp_dir))
    # A detached launch has ended, its jobs have not: they run on, and so does the clock.
    live = entry.state in LIVE_HISTORY or entry.ended is None
    elapsed = (now if live else (entry.ended or now)) - entry.started
    if isinstance(table, str):
        return ExperimentView(entry, history_counts(entry), elapsed, None, "-", table), None
    planned = entry.jobs_total + entry.jobs_skipped
    if table is None:
        table = TableState(by_state={}, live=(), recorded=0)
    placed = sort_live(layout, table.live, queues)
    counts = count(table, placed, planned=planned)
    left = eta(counts, elapsed_s=elapsed, done_before=entry.jobs_skipped) if live else None
    return ExperimentView(entry, counts, elapsed, left, best_so_far(layout)), placed


def _detail(view: ExperimentView, placed: Sorted | None) -> Detail:
    entry = view.entry
    if placed is None:
        return Detail(exp_dir=entry.exp_dir, name=entry.name, counts=view.counts,
                      objective=None, runs=(), failed=(), failed_total=0, problem=view.problem)
    layout = ExperimentLayout(Path(entry.exp_dir))
    try:
        if not layout.job_table.is_file():
            return Detail(exp_dir=entry.exp_dir, name=entry.name, counts=view.counts,
                          objective=objective_of(layout), runs=(), failed=(), failed_total=0)
        return build_detail(layout, name=entry.name, counts=view.counts, placed=placed)
    except (sqlite3.Error, OSError) as err:
        return Detail(exp_dir=entry.exp_dir, name=entry.name, counts=view.counts,
                      objective=None, runs=(), failed=(), failed_total=0,
                      problem=describe_problem(err))
