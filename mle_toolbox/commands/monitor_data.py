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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..backends.queue_view import QueueView, query, scheduler_of
from ..files.layout import ExperimentLayout
from ..launcher.history import COLUMNS, Entry
from .monitor_detail import Detail, build_detail, objective_of
from .monitor_table import (
    Counts,
    TableState,
    count,
    live_backends,
    read_only,
    read_table,
)

RECENT = 8  # finished experiments shown besides the running ones
LIVE_HISTORY = ("running", "detached")
_HOST = socket.gethostname()


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


# ------------------------------------------------------------------ experiment state
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
    if not ExperimentLayout(root).plan.is_file():
        return "damaged: no plan.json"
    return ""


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
