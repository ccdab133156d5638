"""The one loop that drives jobs on any backend.

Submits while there are free slots, polls all live jobs in one batched call,
waits with back-off (or on the backend's wake-up descriptors), enforces time
limits, and on Ctrl+C cancels every live job. A failed job is data, never an
exception: the loop always ends with a result for every job.
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

from ..errors import Interrupted, MleError, interrupt_name, interrupt_signal
from ..faults import FIRST_POLL, IDS_RECORDED, ROWS_WRITTEN, SUBMITTED, fault_point
from ..files.jobfiles import read_start_time, record_final_state, stderr_tail
from ..records import field, record
from ..spec import JobHandle, JobResult, JobState, JobStatus, JobTask, hms
from .run_types import MAX_REQUEUES, Hooks, OnInterrupt, Policy, PollPolicy, RunReport

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from ..backends.base import Backend


@record(frozen=False, slots=False)
class _Live:
    task: JobTask
    submitted: float
    running_since: float | None = None
    said: str = ""  # the last requeue reason told for it (told once)


@record(frozen=False, slots=False)
class _Loop:
    backend: Backend
    max_running: int
    poll: PollPolicy
    policy: Policy
    hooks: Hooks
    clock: Callable[[], float]
    queue: deque[JobTask]
    live: dict[JobHandle, _Live] = field(default_factory=dict)
    results: dict[str, JobResult] = field(default_factory=dict)
    reruns: dict[str, int] = field(default_factory=dict)  # retries used per job
    requeues: dict[str, int] = field(default_factory=dict)


def run_jobs(
    tasks: Sequence[JobTask], *, backend: Backend, max_running: int,
    poll: PollPolicy | None = None, on_result: Callable[[JobResult], None] | None = None,
    clock: Callable[[], float] = time.monotonic, policy: Policy | None = None,
    hooks: Hooks | None = None, attached: Sequence[tuple[JobHandle, JobTask]] = (),
) -> RunReport:
    """Run every task to a final state and report the outcome of each.

    ``attached`` are jobs an earlier launcher submitted that are still live: they
    are followed like the ones submitted here.
    """
    hooks = hooks or Hooks(on_result=on_result)
    loop = _Loop(backend=backend, max_running=max(1, max_running), poll=poll or PollPolicy(),
                 policy=policy or Policy(), hooks=hooks, clock=clock, queue=deque(tasks))
    start = clock()
    for handle, task in attached:
        # The time limit counts from the job's own start, not from the re-attach.
        loop.live[handle] = _Live(task=task, submitted=start,
                                  running_since=_started(task, now=start))
    if attached:
        # An earlier launcher may have died between its submission and the release.
        backend.release([handle for handle, _ in attached])
    interrupted = False
    stopped_by: int = signal.SIGINT
    detached: list[str] = []
    try:
        _drive(loop)
        detached = [live.task.job_id for live in loop.live.values()]
    except KeyboardInterrupt as err:
        interrupted, stopped_by = True, interrupt_signal(err)
        detached = _interrupted(loop, what=interrupt_name(err))
    every = [t.job_id for _, t in attached] + [t.job_id for t in tasks]
    ordered = [loop.results[j] for j in every if j in loop.results]
    return RunReport(results=ordered, interrupted=interrupted, elapsed_s=clock() - start,
                     detached=detached, stopped_by=stopped_by)


def _started(task: JobTask, *, now: float) -> float | None:
    """When a job started (status.json of MLExperiment) on the runner's clock, if known."""
    start = read_start_time(task.files.status)
    if start is None:
        return None
    return now - max(0.0, time.time() - start)


def _interrupted(loop: _Loop, *, what: str) -> list[str]:
    """Cancel, or detach unless a second Ctrl+C comes within the grace; ids left running."""
    reason = f"cancelled: interrupted ({what})"
    if loop.policy.on_interrupt is OnInterrupt.CANCEL or not loop.live:
        _cancel_everything(loop, reason=reason)
        return []
    try:
        _say(loop, f"interrupted: detaching from {len(loop.live)} live job(s); press Ctrl+C "
                   f"again within {loop.policy.detach_grace_s:g}s to cancel them instead")
        time.sleep(loop.policy.detach_grace_s)
    except KeyboardInterrupt:
        _cancel_everything(loop, reason="cancelled: interrupted twice (Ctrl+C)")
        return []
    _drop_queue(loop)
    return [live.task.job_id for live in loop.live.values()]


def _say(loop: _Loop, text: str) -> None:
    if loop.hooks.notify is not None:
        loop.hooks.notify(text)


def _drive(loop: _Loop) -> None:
    delay = loop.poll.initial
    while loop.queue or loop.live:
        changed = _submit_free_slots(loop)
        if loop.policy.submit_only and not loop.queue:
            return
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
    if not loop.backend.throttles and len(loop.live) >= loop.max_running:
        return False  # no free slot: no Ctrl+C handlers swapped in and out for nothing
    # Ctrl+C waits until the handles are recorded and followed: a job the scheduler
    # accepted is never forgotten (submission retries are bounded, so is the wait).
    with _interrupts_deferred():
        return _submit_some(loop)


def _submit_some(loop: _Loop) -> bool:
    if loop.backend.throttles:
        # The scheduler caps concurrency itself (array -tc / %M): submit everything now.
        batch = list(loop.queue)
        loop.queue.clear()
        _submit(loop, batch, max_running=loop.max_running)
    else:
        free = loop.max_running - len(loop.live)
        if free <= 0:
            return False
        batch = [loop.queue.popleft() for _ in range(min(free, len(loop.queue)))]
        _submit(loop, batch)
    return True


def _submit(loop: _Loop, batch: list[JobTask], *,
            max_running: int | None = None) -> list[JobHandle]:
    journal = loop.hooks.journal
    # Drawn before the table is written: the scheduler knows the submission by this token
    # (its arrays' names end with it), so a resume finds what a launcher killed between
    # here and the recording of the native ids started (decide.gather), never submits twice.
    token = os.urandom(3).hex()  # secrets.token_hex(3), without importing secrets
    if journal is not None:
        journal.submitting(batch, token=token)
    fault_point(ROWS_WRITTEN)
    if max_running is None:
        handles = loop.backend.submit(batch, token=token)
    else:
        handles = loop.backend.submit(batch, max_running=max_running, token=token)
    fault_point(SUBMITTED)
    if journal is not None:
        try:
            journal.submitted(handles)
        except MleError:  # e.g. a full disk: nothing may run that the table cannot name
            _mark_cancelled(batch)
            loop.backend.cancel(handles, force=True)
            raise
    fault_point(IDS_RECORDED)
    # Cluster arrays wait held until now: none of them started before its id was recorded.
    loop.backend.release(handles)
    now = loop.clock()
    for handle, task in zip(handles, batch, strict=True):
        loop.live[handle] = _Live(task=task, submitted=now)
    return handles


def _mark_cancelled(batch: list[JobTask]) -> None:
    """Mark each job of a submission this launcher cancels because its table could not
    record it: a job that started meanwhile (local jobs start at submit; cluster arrays
    wait held, so none of theirs) ends killed, and the next launch then runs it again
    rather than keep it as failed (decide.gather). Best effort: on a disk too full for an
    empty file it stays failed."""
    for task in batch:
        try:
            with open(task.files.cancelled, "a"):
                pass
        except OSError:
            continue  # the next launch sees a failure: --rerun-failed runs it


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl+C and SIGTERM while inside; raise KeyboardInterrupt on leaving.

    A handler that only takes note, not a blocked signal mask: a mask would be
    inherited by the job processes started inside.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)

    held = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, hold) for sig in held}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
    if caught:
        raise Interrupted(caught[0])


def _collect(loop: _Loop) -> bool:
    if not loop.live:
        return False
    statuses = loop.backend.status(list(loop.live))
    fault_point(FIRST_POLL)
    now = loop.clock()
    changed = False
    for handle, status in statuses.items():
        live = loop.live[handle]
        if status.state is JobState.PENDING and (live.running_since is not None
                                                 or status.reason):
            _back_in_queue(loop, live, status)
        if status.state is JobState.RUNNING and live.running_since is None:
            live.running_since = now
            if loop.hooks.on_start is not None:
                loop.hooks.on_start(live.task.job_id)
        if status.state.is_final:
            _finish(loop, handle, status, now=now)
            changed = True
    return changed


def _back_in_queue(loop: _Loop, live: _Live, status: JobStatus) -> None:
    # Pending after it ran, or pending with the reason a backend gives for a requeue (a
    # short run may end between two polls): the scheduler requeued it (Slurm requeue,
    # preemption, SGE reschedule). Said once; the time limit counts from its next start.
    live.running_since = None
    text = status.reason or "back in the queue"
    if live.said != text:
        live.said = text
        _say(loop, f"{live.task.job_id}: {text}; followed until its last run ends")


def _finish(loop: _Loop, handle: JobHandle, status: JobStatus, *, now: float) -> None:
    live = loop.live.pop(handle)
    if status.state is JobState.FAILED and live.task.files.cancelled.exists():
        # `mle cancel` stopped it (from another shell): cancelled, whatever its exit code.
        status = JobStatus(JobState.CANCELLED, exit_code=status.exit_code,
                           reason="cancelled with mle cancel")
    started = live.running_since if live.running_since is not None else live.submitted
    tail = stderr_tail(live.task.files.stderr) if status.state is not JobState.COMPLETED else ""
    if status.state in (JobState.FAILED, JobState.CANCELLED):  # status.json agrees
        record_final_state(live.task.files.status, state=status.state.value,
                           reason=status.reason)
    result = JobResult(job_id=live.task.job_id, state=status.state, exit_code=status.exit_code,
                       reason=status.reason, duration_s=now - started, stderr_tail=tail)
    if loop.hooks.journal is not None:
        loop.hooks.journal.finished(result)
    if _rerun(loop, result, live.task, requeue=status.requeue):
        return
    loop.results[result.job_id] = result
    if loop.hooks.on_result is not None:
        loop.hooks.on_result(result)


def _rerun(loop: _Loop, result: JobResult, task: JobTask, *, requeue: bool) -> bool:
    """Queue a failed job again when it asked to be requeued or has retries left."""
    if result.state is not JobState.FAILED:
        return False
    job = result.job_id
    if requeue and loop.requeues.get(job, 0) < MAX_REQUEUES:
        # The wrapper already archived the attempt's logs (it asked to be requeued) and wrote
        # no exit_code; make sure no older one can make the next run read as finished.
        task.files.exit_code.unlink(missing_ok=True)
        loop.requeues[job] = loop.requeues.get(job, 0) + 1
    elif loop.reruns.get(job, 0) < loop.policy.max_retries:
        loop.reruns[job] = loop.reruns.get(job, 0) + 1
        if loop.hooks.on_retry is not None:
            loop.hooks.on_retry(result, task)
    else:
        return False
    loop.queue.appendleft(task)
    return True


def _enforce_time_limits(loop: _Loop) -> bool:
    # Schedulers do not always kill at the limit, and the local backend has none.
    now = loop.clock()
    expired = [
        handle for handle, live in loop.live.items()
        if (limit := live.task.resources.time_limit_s) is not None
        and live.running_since is not None and now - live.running_since > limit
    ]
    if not expired:
        return False
    loop.backend.cancel(expired, force=True)
    for handle in expired:
        limit = loop.live[handle].task.resources.time_limit_s or 0
        reason = f"timed out after {hms(limit)} (time_per_job)"
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
            _await_exit(loop, deadline=now + loop.poll.cancel_grace, reason=reason)
    except KeyboardInterrupt:
        pass  # a second Ctrl+C: stop waiting, kill now
    if loop.live:
        loop.backend.cancel(list(loop.live), force=True)
    for handle in list(loop.live):
        _finish(loop, handle, JobStatus(JobState.CANCELLED, reason=reason), now=loop.clock())
    _drop_queue(loop)


def _drop_queue(loop: _Loop) -> None:
    while loop.queue:
        task = loop.queue.popleft()
        loop.results[task.job_id] = JobResult(
            job_id=task.job_id, state=JobState.CANCELLED, exit_code=None,
            reason="cancelled before it started", duration_s=None,
        )


def _await_exit(loop: _Loop, *, deadline: float, reason: str) -> None:
    delay = loop.poll.initial
    while loop.live and loop.clock() < deadline:
        statuses = loop.backend.status(list(loop.live))
        for handle, status in statuses.items():
            if status.state is JobState.COMPLETED:
                _finish(loop, handle, status, now=loop.clock())
            elif status.state.is_final:
                # Ended after the cancel: it was stopped by us, whatever its code.
                _finish(loop, handle, JobStatus(JobState.CANCELLED, exit_code=status.exit_code,
                                                reason=reason), now=loop.clock())
        if loop.live:
            _wait(loop.backend, min(delay, max(0.0, deadline - loop.clock())))
            delay = min(delay * loop.poll.factor, loop.poll.maximum)

