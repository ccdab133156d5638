"""Sun/Son of Grid Engine through qsub / qstat / qdel.

A sweep goes in as array jobs (``qsub -t 1-N -tc M``), one rendered script per
array; task k finds its job directory in a task list written at submit. Status
comes from one ``qstat -xml`` per poll plus each job's own ``exit_code`` file,
which is the truth about success; a killed run's exit code while qstat still lists
the task (``qmod -rj`` reschedules it: state Rq) is not final, and the task is
followed until its last run ends. No loops over time and no sleeps here, except
the bounded back-off of a retried submission.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping, Sequence

from ..faults import ACCEPTED, FILES_WRITTEN, fault_point
from ..records import field, record
from ..spec import JobHandle, JobState, JobStatus, JobTask
from .arrays import ArrayBackend, jobs_per_task, task_count
from .base import is_lock_id
from .commands import (
    Output,
    Runner,
    run_command,
    run_in_chunks,
)
from .packed_ids import member_ids, task_of
from .sge_parse import (
    is_running_state,
    parse_error_reason,
    parse_max_aj_tasks,
    parse_qstat_xml,
    parse_qsub_terse,
    queue_states,
)
from .sge_script import (
    SGE_DIR,
    SgeOptions,
    qsub_argv,
    render_script,
    task_list_path,
    write_array,
)
from .tracked import Tracked

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import ClassVar

# qmaster hiccups after configuration changes or under load (notes/real-clusters.md).
TRANSIENT = ("Error reading answer list from qmaster", "failed receiving gdi request",
             "unable to contact qmaster", "commlib error")
QDEL_CHUNK = 200
# qdel's lines about jobs that had already ended (or were being deleted): not errors.
QDEL_GONE = ("does not exist", "has already been", "registered", "deleted",
             "forced the deletion")


@record(frozen=False, slots=False)
class SgeBackend(ArrayBackend):
    """Submits array jobs to Grid Engine with qsub and follows them with qstat."""

    name: ClassVar[str] = "sge"
    orphan_folder: ClassVar[str | None] = SGE_DIR
    transient: ClassVar[tuple[str, ...]] = TRANSIENT

    options: SgeOptions = field(default_factory=SgeOptions.from_env)

    def _query_max_array_tasks(self) -> int:
        # The cluster's max_aj_tasks.
        output = self.run(["qconf", "-sconf"])
        return parse_max_aj_tasks(output.stdout if output.returncode == 0 else "")

    def _script(self, chunk: list[JobTask], *, name: str,
                max_running: int | None) -> tuple[list[str], str]:
        return qsub_argv(chunk), render_script(
            chunk, task_list=task_list_path(chunk, name=name), name=name,
            max_running=max_running, options=self.options)

    def _submit_array(self, chunk: list[JobTask], *, name: str,
                      max_running: int | None) -> list[JobHandle]:
        script = write_array(chunk, name=name, max_running=max_running, options=self.options)
        fault_point(FILES_WRITTEN)
        argv = [*qsub_argv(chunk), str(script)]
        output = self._with_retries(
            argv, before_retry=lambda: self._already_queued(name, count=task_count(chunk)))
        if output.returncode != 0:
            raise output.error("qsub refused the job")
        number = parse_qsub_terse(output.stdout).job_number
        fault_point(ACCEPTED)
        tasks = [f"{number}.{index}" for index in range(1, task_count(chunk) + 1)]
        natives = member_ids(tasks, jobs=len(chunk), size=jobs_per_task(chunk))
        return self.attach(list(zip(chunk, natives, strict=True)))

    def _already_queued(self, name: str, *, count: int) -> Output | None:
        # qsub may have failed after the qmaster accepted the job: never submit twice.
        listing = qstat_xml(self.run)
        for job in parse_qstat_xml(listing.stdout if listing.returncode == 0 else ""):
            if job.name == name:
                return Output(argv=("qsub",), returncode=0,
                              stdout=f"{job.job_number}.1-{count}:1\n", stderr="")
        return None

    def _queued_arrays(self) -> dict[str, str]:
        listing = qstat_xml(self.run)
        if listing.returncode != 0:
            raise listing.error("cannot read the queue")
        return {job.name: job.job_number for job in parse_qstat_xml(listing.stdout)}

    def _task_id(self, array_id: str, index: int) -> str:
        return f"{array_id}.{index + 1}"  # SGE numbers tasks from 1 (qsub -t 1-N)

    def _array_of(self, task_id: str) -> str:
        return array_of(task_id)

    def _release_arrays(self, array_ids: list[str]) -> None:
        qrls(array_ids, run=self._with_retries)

    def status(self, handles: Sequence[JobHandle]) -> Mapping[JobHandle, JobStatus]:
        """One qstat for all handles; the exit_code files decide how jobs ended."""
        listing = qstat_xml(self.run)
        if listing.returncode != 0:
            raise listing.error("cannot read the queue")
        queue = queue_states(parse_qstat_xml(listing.stdout))
        now = self.clock()
        return {handle: self._status_of(handle, queue, now=now) for handle in handles}

    def _status_of(self, handle: JobHandle, queue: Mapping[str, str], *,
                   now: float) -> JobStatus:
        tracked = self._jobs.get(handle.native_id)
        if tracked is None:
            return JobStatus(JobState.FAILED, reason="not submitted by this launcher")
        task = task_of(handle.native_id)  # a packed job's task: its array task
        letters = queue.get(task)
        listed = None if letters is None else (
            JobState.RUNNING if is_running_state(letters) else JobState.PENDING)
        ended = tracked.ended(queued=listed, now=now, grace_s=self.options.vanish_grace_s)
        if ended is not None:
            return ended
        if letters is not None:
            tracked.seen()
            if tracked.killed is not None and listed is JobState.PENDING and "E" not in letters:
                return self._rescheduled(task, tracked, letters, now=now)
            return tracked.in_task(self._queued_status(task, tracked, letters))
        return tracked.missing(now=now, grace_s=self.options.vanish_grace_s)

    def _rescheduled(self, task: str, tracked: Tracked, letters: str, *,
                     now: float) -> JobStatus:
        # Killed (e.g. 140 for -notify's SIGUSR2) and pending again: `qmod -rj`
        # rescheduled it (state Rq); held (h), its task is deleted after the grace.
        def delete() -> str:
            qdel([task], force=True, run=self.run)  # the held task: no job of it can run
            return "deleted"

        return tracked.requeued(
            why=f"rescheduled by Grid Engine after exit code {tracked.killed}",
            hold=f"held in state {letters}" if "h" in letters else None,
            now=now, grace_s=self.options.vanish_grace_s, stop_task=delete)

    def _queued_status(self, task: str, tracked: Tracked, state: str) -> JobStatus:
        if "E" in state:
            job_number = task.split(".", maxsplit=1)[0]
            detail = self.run(["qstat", "-j", job_number])
            why = parse_error_reason(detail.stdout) or "no reason given by qstat -j"
            qdel([task], force=True, run=self.run)  # the task: no job of it can run
            tracked.final = JobStatus(JobState.FAILED, reason=f"SGE error state {state}: {why}")
            return tracked.final
        if is_running_state(state):
            return JobStatus(JobState.RUNNING)
        return JobStatus(JobState.PENDING)

    def cancel(self, handles: Sequence[JobHandle], *, force: bool = False) -> None:
        """qdel every handle (chunked); jobs already gone are fine. A packed job cancelled
        without the rest of its task is asked to stop alone (tracked.Siblings). A run
        followed by its lock only has no id the scheduler knows: nothing to send."""
        qdel([n for n in self._to_cancel(handles) if not is_lock_id(n)], force=force,
             run=self.run)

    @classmethod
    def cancel_orphans(cls, names: set[str], *, force: bool) -> int:
        """qdel this user's arrays named ``names`` (one qstat); returns how many."""
        listing = qstat_xml(run_command)
        if listing.returncode != 0:
            raise listing.error("cannot read the queue")
        numbers = sorted({job.job_number for job in parse_qstat_xml(listing.stdout)
                          if job.name in names}, key=int)
        qdel(numbers, force=force, run=run_command)
        return len(numbers)


def qstat_xml(run: Runner) -> Output:
    """``qstat -xml`` of this user's jobs: the one queue query per poll."""
    return run(["qstat", "-xml", "-u", getpass.getuser()])


def qdel(ids: Sequence[str], *, force: bool, run: Runner) -> None:
    """qdel jobs or tasks (``123`` / ``123.4``) in chunks; ids already gone are fine."""
    run_in_chunks(["qdel", *(["-f"] if force else [])], ids, chunk=QDEL_CHUNK, run=run,
                  gone=QDEL_GONE)


def array_of(task_id: str) -> str:
    """The job number of the array task ``task_id`` (``123.4`` -> ``123``)."""
    return task_id.split(".", 1)[0]


def qrls(array_ids: Sequence[str], *, run: Runner) -> None:
    """Release held arrays in chunks; arrays already gone are fine."""
    run_in_chunks(["qrls"], array_ids, chunk=QDEL_CHUNK, run=run, gone=QDEL_GONE)


def sge_available() -> bool:
    """True when a qsub client is on PATH (and SGE_ROOT is set)."""
    from shutil import which

    return which("qsub") is not None and bool(os.environ.get("SGE_ROOT"))
