"""What a cluster backend remembers of each job it follows (``Tracked``), and how the jobs
of one packed array task are stopped together or alone (``Siblings``, ``stop_job``).

A job's exit code is final only when its scheduler no longer lists the task pending: a
requeued task (Slurm's ``scontrol requeue``, preemption, Grid Engine's ``qmod -rj``) runs
again under the same id.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..files.atomic import write_text_atomic
from ..files.jobfiles import live_lock_held, read_exit_code, status_from_exit_code
from ..spec import FollowedJob, JobState, JobStatus
from .packed_ids import is_packed, task_of

# Exit codes from 128 up name the signal that stopped a job (143: SIGTERM). Such a stop
# may be a scheduler's requeue (Slurm's `scontrol requeue` or preemption, Grid Engine's
# `qmod -rj`), after which the same task runs again: not final while it is still listed.
KILLED_FROM = 128


@dataclass
class Tracked:
    """What a cluster backend remembers of one submitted job."""

    task: FollowedJob
    missing_since: float | None = None
    final: JobStatus | None = None
    packed: bool = False  # runs in an array task with other jobs
    # Exit code of a run the scheduler still lists (it may run again: see ``ended``), and
    # since when the task has been in its present unsettled state.
    killed: int | None = None
    unsettled: tuple[str, float] | None = None

    def ended(self, *, queued: JobState | None = None, now: float = 0.0,
              grace_s: float = 0.0) -> JobStatus | None:
        """The final status: remembered, or read from the job's exit_code file.

        ``queued`` is the task's state in the scheduler's queue (None: not listed). An
        exit code while the task is listed pending is not final: the scheduler requeued
        the run and will start it again (``killed`` holds the code; None is returned).
        A killed run's exit code (128 and up) while the task is listed running is either
        being cleaned up or already running again (the new run archives the old
        exit_code as it starts), so it is trusted only after ``grace_s`` seconds.
        Otherwise the exit code is final as before: the common path (an ordinary exit,
        the task running or gone) reads one file and asks nothing more.
        """
        if self.final is not None:
            return self.final
        code = read_exit_code(self.task.files.exit_code)
        self.killed = None
        if code is None:
            self.unsettled = None
            return None
        # A packed job's task runs its other jobs on after this one ended, and a requeued
        # packed task skips jobs that have an exit code: only pending matters for it.
        killed_listed = code >= KILLED_FROM and queued is not None and not self.packed
        if queued is JobState.PENDING or killed_listed:
            self.killed = code
            if queued is JobState.PENDING:
                if self.unsettled is not None and self.unsettled[0] == "killed":
                    self.unsettled = None  # requeued: the next run's grace starts afresh
                return None
            if self.waited("killed", now=now) <= grace_s:
                return None
        self.final = status_from_exit_code(code)
        return self.final

    def waited(self, what: str, *, now: float) -> float:
        """Seconds the task has been unsettled in the same way ``what`` (0 the first time)."""
        if self.unsettled is None or self.unsettled[0] != what:
            self.unsettled = (what, now)
        return now - self.unsettled[1]

    def requeued(self, *, why: str, hold: str | None, now: float, grace_s: float,
                 stop_task: Callable[[], str]) -> JobStatus:
        """The status of a killed run whose task the scheduler lists pending again.

        A requeue (``scontrol requeue``, preemption, ``qmod -rj``): pending, ``why``, and
        followed until its last run ends. ``hold`` says how the scheduler shows a hold
        (None: not held). A held task runs only if someone releases it: held past
        ``grace_s`` it is removed by ``stop_task`` (which returns how, e.g. "deleted")
        and recorded failed with the killed run's exit code, so that no run of it goes
        on unobserved.
        """
        if hold is None:
            return JobStatus(JobState.PENDING, reason=why)
        if self.waited("held", now=now) <= grace_s:
            return JobStatus(JobState.PENDING, reason=f"{why}, {hold}")
        how = stop_task()
        self.final = JobStatus(JobState.FAILED, exit_code=self.killed, reason=(
            f"{why} and {hold} for over {grace_s:g}s: {how}, so that no run of it goes on "
            "unobserved (mle run --rerun-failed runs it again)"))
        return self.final

    def seen(self) -> None:
        """The scheduler lists the job: it is not missing."""
        self.missing_since = None

    def in_task(self, status: JobStatus) -> JobStatus:
        """The job's status from its task's: a packed job of a running task is pending
        until the task starts it (JOB_DIR/.started)."""
        if (self.packed and status.state is JobState.RUNNING
                and not self.task.files.started.exists()):
            return JobStatus(JobState.PENDING)
        return status

    def missing(self, *, now: float, grace_s: float) -> JobStatus:
        """Not listed and no exit code yet: RUNNING within the grace, then FAILED.

        The grace allows for the lag of shared file systems between the node
        writing exit_code and this machine seeing it. A packed job is then lost, not
        failed: its task was killed, preempted or lost its node while it ran or
        before it started, and the next ``mle run`` or ``mle resume`` runs it again.
        A run that still holds the job's ``.live`` lock is running, listed or not.
        """
        if live_lock_held(self.task.files.live_lock):
            self.missing_since = now  # the grace counts from the end of the run
            return JobStatus(JobState.RUNNING)
        if self.missing_since is None:
            self.missing_since = now
        elif now - self.missing_since > grace_s:
            reason = ("left the queue without writing its exit code (killed by the scheduler, "
                      f"or the node failed); see {self.task.files.stderr}")
            if self.packed:
                reason = ("lost: its array task left the queue before the job wrote its exit "
                          "code (the task was killed or preempted, or its node failed); the "
                          "next mle run or mle resume runs it again")
            self.final = JobStatus(JobState.FAILED, reason=reason)
        return self.final or JobStatus(JobState.RUNNING)


def stop_job(task: FollowedJob) -> None:
    """Ask the packed task of ``task`` to skip it (it has not started) or let it be."""
    with contextlib.suppress(OSError):  # its folder gone: nothing left to stop
        write_text_atomic(task.files.stop, "stopped by the launcher\n")


@dataclass
class Siblings:
    """The jobs of each packed array task a backend follows (task id -> native ids)."""

    by_task: dict[str, list[str]] = field(default_factory=dict)

    def add(self, native_id: str) -> None:
        """Remember a packed job under its task."""
        if is_packed(native_id):
            self.by_task.setdefault(task_of(native_id), []).append(native_id)

    def split(self, native_ids: Sequence[str], *, jobs: dict[str, Tracked],
              ) -> tuple[list[str], list[Tracked]]:
        """(ids of whole tasks or unpacked jobs to stop, packed jobs to stop alone).

        A packed task is stopped as a whole only when every one of its jobs that has
        not ended is among ``native_ids``; otherwise its siblings run on.
        """
        whole: list[str] = []
        alone: list[Tracked] = []
        asked: dict[str, set[str]] = {}
        for native in native_ids:
            if is_packed(native):
                asked.setdefault(task_of(native), set()).add(native)
            else:
                whole.append(native)
        for task, mine in asked.items():
            open_jobs = {n for n in self.by_task.get(task, ()) if n in jobs
                         and jobs[n].ended() is None}
            if open_jobs <= mine:
                whole.append(task)
            alone += [jobs[n] for n in sorted(mine) if n in jobs]
        return whole, alone
