"""Progress of a running sweep: queued / running / completed / failed, elapsed time, ETA.

On a terminal one live line is redrawn in place (carriage return) once a second and
on every change; failed jobs are printed above it as lines of their own. When
stdout is not a terminal (CI logs, files) every finished job prints one plain line,
so logs stay readable and greppable.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

from ..spec import JobResult, JobState
from .launcher_log import log

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import TextIO

CLEAR_LINE = "\r\x1b[K"
TICK_S = 1.0
JOIN_TIMEOUT_S = 2.0


def format_duration(seconds: float) -> str:
    """``m:ss`` below an hour, ``h:mm:ss`` above."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Counts job states for ``runner.run_jobs`` (``on_start`` / ``on_result``) and shows them.

    Use as a context manager for the live line: on a terminal a ticker thread keeps
    the elapsed time and ETA moving while no job changes state. Without ``with`` it
    prints plain lines, terminal or not.
    """

    def __init__(self, *, total: int, stream: TextIO | None = None, live: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stdout
        # The live line needs the context manager (ticker, final newline); a Progress
        # used only as an on_result callback prints plain lines.
        self._live = self.stream.isatty() if live is None else live
        self.live = False
        self.clock = clock
        self.start = clock()
        self.running: set[str] = set()
        self.completed = 0
        self.failed = 0
        self.cancelled = 0  # stopped on purpose (Ctrl+C, mle cancel): not a failure
        self.width = len(str(total))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    @property
    def finished(self) -> int:
        """Jobs in a final state."""
        return self.completed + self.failed + self.cancelled

    @property
    def queued(self) -> int:
        """Jobs not yet seen running: waiting for a slot or in the scheduler's queue."""
        return self.total - self.finished - len(self.running)

    def eta_s(self) -> float | None:
        """Seconds left at the rate jobs have finished so far; None before the first."""
        if not self.finished:
            return None
        return (self.total - self.finished) * (self.clock() - self.start) / self.finished

    def counts(self) -> str:
        """``2 queued, 1 running, 3 completed, 0 failed | 0:04 elapsed, ETA 0:03``.

        Cancelled jobs are counted apart (``, 2 cancelled`` after the failed ones) when any.
        """
        eta = self.eta_s()
        cancelled = f", {self.cancelled} cancelled" if self.cancelled else ""
        return (f"{self.queued} queued, {len(self.running)} running, {self.completed} "
                f"completed, {self.failed} failed{cancelled} | "
                f"{format_duration(self.clock() - self.start)} elapsed, ETA "
                f"{'?' if eta is None else format_duration(eta)}")

    def started(self, job_id: str) -> None:
        """A job was seen running."""
        with self._lock:
            self.running.add(job_id)
            if self.live:
                self._draw()

    def __call__(self, result: JobResult) -> None:
        """A job reached a final state."""
        log.info("%s %s %s", result.job_id, result.state.value, result.reason)
        with self._lock:
            self.running.discard(result.job_id)
            if result.state is JobState.COMPLETED:
                self.completed += 1
            elif result.state is JobState.CANCELLED:
                self.cancelled += 1
            else:
                self.failed += 1
            if not self.live:
                self.stream.write(f"{self._job_line(result)}  | {self.counts()}\n")
                self.stream.flush()
                return
            if result.state is not JobState.COMPLETED:
                self.stream.write(f"{CLEAR_LINE}{self._job_line(result)}\n")
            self._draw()

    def _job_line(self, result: JobResult) -> str:
        took = f" {result.duration_s:.1f}s" if result.duration_s is not None else ""
        why = f"  {result.reason}" if result.reason else ""
        return (f"[{self.finished:>{self.width}}/{self.total}] {result.state.value:<9} "
                f"{result.job_id}{took}{why}")

    def _draw(self) -> None:
        line = f"[{self.finished:>{self.width}}/{self.total}] {self.counts()}"
        # A line longer than the terminal wraps, and \r then redraws only its tail.
        from shutil import get_terminal_size  # here: only a terminal draws the line

        columns = get_terminal_size().columns
        self.stream.write(f"{CLEAR_LINE}{line[:max(20, columns - 1)]}")
        self.stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(TICK_S):
            with self._lock:
                self._draw()

    def __enter__(self) -> Progress:
        self.live = self._live
        if self.live:
            with self._lock:
                self._draw()
            self._ticker = threading.Thread(target=self._tick, name="mle-progress",
                                            daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=JOIN_TIMEOUT_S)
        if self.live:
            with self._lock:
                self._draw()
                self.stream.write("\n")
                self.stream.flush()
