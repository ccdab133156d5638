"""Rendering of one ``mle monitor`` snapshot: plain text (``--once``, no ``rich``) and rich.

Both come from the same sections (a title and text lines), so the live dashboard and
``--once`` never disagree on a number.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..backends.queue_view import QueueView
from ..launcher.progress import format_duration
from .monitor_data import ExperimentView, Machine, Snapshot
from .monitor_detail import Detail
from .monitor_table import Counts

SPARK = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 24
KEYS = "q quit · j/k select experiment"


@dataclass(frozen=True, slots=True)
class Section:
    """A titled block of text lines."""

    title: str
    lines: tuple[str, ...]


def sparkline(values: Sequence[float], *, width: int = SPARK_WIDTH) -> str:
    """A curve in block characters; long curves are averaged into ``width`` buckets."""
    if not values:
        return ""
    if len(values) > width:
        size = len(values) / width
        values = [_mean(values[int(i * size):max(int((i + 1) * size), int(i * size) + 1)])
                  for i in range(width)]
    low, high = min(values), max(values)
    span = high - low
    if span == 0:
        return SPARK[len(SPARK) // 2] * len(values)
    return "".join(SPARK[min(len(SPARK) - 1, int((v - low) / span * len(SPARK)))]
                   for v in values)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def counts_text(counts: Counts) -> str:
    """``2 queued, 1 running, 3 completed, 1 failed`` (cancelled only when there are)."""
    text = (f"{counts.queued} queued, {counts.running} running, {counts.completed} completed, "
            f"{counts.failed} failed")
    return text + (f", {counts.cancelled} cancelled" if counts.cancelled else "")


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in [header, *rows]]


def experiments_section(snap: Snapshot) -> Section:
    """Every running and recent experiment, one line each."""
    if not snap.experiments:
        where = snap.database or "no history database found (mle run records one)"
        return Section("Experiments", (f"no experiments in {where}",))
    header = ("", "ID", "NAME", "PURPOSE", "BACKEND", "STATE", "QUEUED", "RUN", "DONE",
              "FAILED", "ELAPSED", "ETA", "BEST")
    rows = [_experiment_row(v, mark=">" if i == snap.selected else " ")
            for i, v in enumerate(snap.experiments)]
    shown = len(snap.experiments)
    foot = f"{shown} shown of {snap.total_experiments} in the history"
    return Section("Experiments", (*_table(header, rows), foot))


def _experiment_row(view: ExperimentView, *, mark: str) -> tuple[str, ...]:
    entry, c = view.entry, view.counts
    state = view.state
    eta = format_duration(view.eta_s) if view.eta_s is not None else "-"
    return (mark, str(entry.id or "-"), _clip(entry.name, 20), _clip(entry.purpose or "-", 24),
            entry.backend, _clip(state, 28), str(c.queued), str(c.running),
            str(c.completed), str(c.failed + c.cancelled), format_duration(view.elapsed_s),
            eta, _clip(view.best, 32))


def detail_sections(detail: Detail | None) -> list[Section]:
    """The selected experiment: counts, runs with metrics and curve, failures."""
    if detail is None:
        return []
    head = [f"{detail.exp_dir}", f"jobs: {counts_text(detail.counts)}"]
    if detail.problem:
        return [Section(f"Selected: {detail.name}", (*head, f"problem: {detail.problem}"))]
    objective = detail.objective or "first logged metric"
    rows = []
    for run in detail.runs:
        values = " ".join(f"{k}={v:.4g}" for k, v in run.values[:4]) or "-"
        rows.append((run.job_id, run.state, run.step, _clip(values, 48),
                     sparkline(run.curve) or "-"))
    lines = [*head, f"curve: {objective}"]
    lines += _table(("JOB", "STATE", "STEP", "LATEST METRICS", "CURVE"), rows) if rows else [
        "no job has logged metrics yet"]
    sections = [Section(f"Selected: {detail.name}", tuple(lines))]
    if detail.failed_total:
        failed = []
        for fail in detail.failed:
            failed.append(f"{fail.job_id}: {fail.reason}")
            failed += [f"    | {line}" for line in fail.tail.splitlines()] or [
                "    | (stderr is empty)"]
        more = detail.failed_total - len(detail.failed)
        if more > 0:
            failed.append(f"... and {more} more (mle status {detail.exp_dir})")
        sections.append(Section(f"Failed jobs ({detail.failed_total})", tuple(failed)))
    return sections


def resources_section(machine: Machine, queues: Sequence[QueueView]) -> Section:
    """This machine, and per-user load of each scheduler asked."""
    lines = [f"{machine.host}: {machine.cores} cores, load {machine.load1:.2f}; memory "
             f"{machine.mem_used_gib:.1f} / {machine.mem_total_gib:.1f} GiB in use"]
    for queue in queues:
        name = queue.title
        if queue.error:
            lines.append(f"{name}: cannot be asked: {_clip(queue.error, 100)}")
            continue
        running = sum(u.running for u in queue.users)
        queued = sum(u.queued for u in queue.users)
        lines.append(f"{name}: {queue.in_use} {queue.unit} in use; {running} running, "
                     f"{queued} queued")
        lines += ["  " + line for line in _table(
            ("USER", "RUNNING", "QUEUED"),
            [(u.user, str(u.running), str(u.queued)) for u in queue.users[:8]])]
    return Section("Resources", tuple(lines))


def sections(snap: Snapshot) -> list[Section]:
    """Every section of the screen, top to bottom."""
    return [experiments_section(snap), *detail_sections(snap.detail),
            resources_section(snap.machine, snap.queues)]


def header(snap: Snapshot, *, live: bool) -> str:
    """The first line: what, where, when."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(snap.taken))
    keys = f"   {KEYS}" if live else ""
    return f"mle monitor · {stamp} · history {snap.database or '-'}{keys}"


def to_text(snap: Snapshot) -> str:
    """The whole screen as plain text."""
    out = [header(snap, live=False)]
    for section in sections(snap):
        out += ["", f"== {section.title} ==", *section.lines]
    return "\n".join(out) + "\n"


_STYLES = (("failed", "bold red"), ("cancelled", "red"), ("vanished", "bold red"),
           ("damaged", "bold red"), ("running", "yellow"), ("completed", "green"),
           ("queued", "cyan"))


def to_rich(snap: Snapshot) -> Any:
    """The screen as a rich renderable (panels of the same lines)."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    parts: list[Any] = [Text(header(snap, live=True), style="bold")]
    for section in sections(snap):
        text = Text("\n".join(section.lines), no_wrap=True, overflow="ellipsis")
        for word, style in _STYLES:
            text.highlight_words([word], style=style)
        text.highlight_regex(f"[{SPARK}]+", style="magenta")
        parts.append(Panel(text, title=section.title, title_align="left",
                           border_style="blue"))
    return Group(*parts)
