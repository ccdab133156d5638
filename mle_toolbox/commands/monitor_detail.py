"""The selected experiment of ``mle monitor``: latest metrics per run, a sparkline of the
objective, failed jobs with their stderr tail. Reads files only (monitor_data.py calls it).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..files.jobfiles import describe_exit
from ..files.layout import ExperimentLayout
from .monitor_table import Counts, TableState, read_only

RUN_LINES = 8  # runs of the selected experiment with their latest metrics
FAILED_SHOWN = 3  # failed jobs of the selected experiment with their stderr tail
TAIL_LINES = 4
TAIL_BYTES = 4096
LOG_BYTES = 4 << 20  # a metrics log's last 4 MiB: its latest values and its recent curve
CURVE_POINTS = 48  # rows of a log parsed for its sparkline


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


def objective_of(layout: ExperimentLayout) -> str | None:
    """The objective metric plan.json records (None when it names none or is unreadable)."""
    from ..errors import MleError
    from ..files.expdir import read_plan

    try:
        found = read_plan(layout.plan).objective
    except (MleError, OSError):
        return None
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
