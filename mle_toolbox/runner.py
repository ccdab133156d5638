"""The one loop that drives jobs on any backend.

Submits while there are free slots, polls all live jobs in one batched call,
waits with back-off (or on the backend's wake-up descriptors), enforces time
limits, and on Ctrl+C cancels every live job. A failed job is data, never an
exception: the loop always ends with a result for every job.
"""

from __future__ import annotations

import select
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .backends.base import Backend
from .spec import JobHandle, JobResult, JobState, JobStatus, JobTask

STDERR_TAIL_LINES = 15
STDERR_TAIL_BYTES = 4096


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """Back-off between polls: ``initial`` seconds, times ``factor``, at most ``maximum``."""

    initial: float = 0.2
    factor: float = 1.5
    maximum: float = 1.0
    cancel_grace: float = 5.0


@dataclass
class RunReport:
    """Results of every job, in the order the jobs were given."""

    results: list[JobResult]
    interrupted: bool
    elapsed_s: float

    def count(self, state: JobState) -> int:
        """Number of jobs that ended in ``state``."""
        return sum(r.state is state for r in self.results)

    @property
    def failed(self) -> list[JobResult]:
        """Jobs that did not complete (failed or cancelled)."""
        return [r for r in self.results if r.state is not JobState.COMPLETED]


@dataclass
class _Live:
    task: JobTask
    submitted: float
    running_since: float | None = None


@dataclass
class _Loop:
    backend: Backend
    max_running: int
    poll: PollPolicy
    on_result: Callable[[JobResult], None] | None
    clock: Callable[[], float]
    queue: deque[JobTask]
    on_start: Callable[[str], None] | None = None
    live: dict[JobHandle, _Live] = field(default_factory=dict)
    results: dict[str, JobResult] = field(default_factory=dict)


def run_jobs(
    tasks: Sequence[JobTask], *, backend: Backend, max_running: int,
    poll: PollPolicy | None = None, on_result: Callable[[JobResult], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    on_start: Callable[[str], None] | None = None,
) -> RunReport:
    """Run every task to a final state and report the outcome of each.

    ``on_start(job_id)`` is called when a job is first seen running, ``on_result``
    when it reaches a final state (progress displays use both).
    """
    loop = _Loop(backend=backend, max_running=max(1, max_running), poll=poll or PollPolicy(),
                 on_result=on_result, clock=clock, queue=deque(tasks), on_start=on_start)
    start = clock()
    interrupted = False
    try:
        _drive(loop)
    except KeyboardInterrupt:
        interrupted = True
        _cancel_everything(loop, reason="cancelled: interrupted (Ctrl+C)")
    ordered = [loop.results[t.job_id] for t in tasks]
    return RunReport(results=ordered, interrupted=interrupted, elapsed_s=clock() - start)


def _drive(loop: _Loop) -> None:
    delay = loop.poll.initial
    while loop.queue or loop.live:
        changed = _submit_free_slots(loop)
        changed = _collect(loop) or changed
        changed = _enforce_time_limits(loop) or changed
        if changed:
            delay = loop.poll.initial
            continue
        _wait(loop.backend, delay)
        delay = min(delay * loop.poll.factor, loop.poll.maximum)


def _submit_free_slots(loop: _Loop) -> bool:
    if not loop.queue:
        return False
    if loop.backend.throttles:
        # The scheduler caps concurrency itself (array -tc / %M): submit everything now.
        batch = list(loop.queue)
        loop.queue.clear()
        handles = loop.backend.submit(batch, max_running=loop.max_running)
    else:
        free = loop.max_running - len(loop.live)
        if free <= 0:
            return False
        batch = [loop.queue.popleft() for _ in range(min(free, len(loop.queue)))]
        handles = loop.backend.submit(batch)
    now = loop.clock()
    for handle, task in zip(handles, batch, strict=True):
        loop.live[handle] = _Live(task=task, submitted=now)
    return True


def _collect(loop: _Loop) -> bool:
    if not loop.live:
        return False
    statuses = loop.backend.status(list(loop.live))
    now = loop.clock()
    changed = False
    for handle, status in statuses.items():
        live = loop.live[handle]
        if status.state is JobState.RUNNING and live.running_since is None:
            live.running_since = now
            if loop.on_start is not None:
                loop.on_start(live.task.job_id)
        if status.state.is_final:
            _finish(loop, handle, status, now=now)
            changed = True
    return changed


def _finish(loop: _Loop, handle: JobHandle, status: JobStatus, *, now: float) -> None:
    live = loop.live.pop(handle)
    started = live.running_since if live.running_since is not None else live.submitted
    tail = stderr_tail(live.task) if status.state is not JobState.COMPLETED else ""
    result = JobResult(job_id=live.task.job_id, state=status.state, exit_code=status.exit_code,
                       reason=status.reason, duration_s=now - started, stderr_tail=tail)
    loop.results[result.job_id] = result
    if loop.on_result is not None:
        loop.on_result(result)


def _enforce_time_limits(loop: _Loop) -> bool:
    # Schedulers do not always kill at the limit, and the local backend has none.
    now = loop.clock()
    expired = [
        handle for handle, live in loop.live.items()
        if (limit := live.task.resources.time_limit_seconds) is not None
        and live.running_since is not None and now - live.running_since > limit
    ]
    if not expired:
        return False
    loop.backend.cancel(expired, force=True)
    for handle in expired:
        reason = f"timed out after {loop.live[handle].task.resources.time_limit} (time_per_job)"
        _finish(loop, handle, JobStatus(JobState.FAILED, reason=reason), now=now)
    return True


def _wait(backend: Backend, delay: float) -> None:
    fds = list(backend.wait_fds())
    if fds:
        select.select(fds, [], [], delay)
    else:
        time.sleep(delay)


def _cancel_everything(loop: _Loop, *, reason: str) -> None:
    handles = list(loop.live)
    now = loop.clock()
    try:
        if handles:
            loop.backend.cancel(handles)
            _await_exit(loop, deadline=now + loop.poll.cancel_grace)
    except KeyboardInterrupt:
        pass  # a second Ctrl+C: stop waiting, kill now
    if loop.live:
        loop.backend.cancel(list(loop.live), force=True)
    for handle in list(loop.live):
        _finish(loop, handle, JobStatus(JobState.CANCELLED, reason=reason), now=loop.clock())
    while loop.queue:
        task = loop.queue.popleft()
        loop.results[task.job_id] = JobResult(
            job_id=task.job_id, state=JobState.CANCELLED, exit_code=None,
            reason="cancelled before it started", duration_s=None,
        )


def _await_exit(loop: _Loop, *, deadline: float) -> None:
    delay = loop.poll.initial
    while loop.live and loop.clock() < deadline:
        statuses = loop.backend.status(list(loop.live))
        for handle, status in statuses.items():
            if status.state is JobState.COMPLETED:
                _finish(loop, handle, status, now=loop.clock())
            elif status.state.is_final:
                # Ended after the cancel: it was stopped by us, whatever its code.
                _finish(loop, handle, JobStatus(JobState.CANCELLED, exit_code=status.exit_code,
                                                reason="cancelled: interrupted (Ctrl+C)"),
                        now=loop.clock())
        if loop.live:
            _wait(loop.backend, min(delay, max(0.0, deadline - loop.clock())))
            delay = min(delay * loop.poll.factor, loop.poll.maximum)


def stderr_tail(task: JobTask) -> str:
    """Last lines of a job's stderr, for failure messages."""
    try:
        with open(task.stderr, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - STDERR_TAIL_BYTES))
            data = handle.read()
    except FileNotFoundError:
        return ""
    lines = data.decode("utf-8", errors="replace").splitlines()
    return "\n".join(lines[-STDERR_TAIL_LINES:])
