"""Slurm through sbatch / squeue / scancel.

A sweep goes in as array jobs (``sbatch --array=0-N%M``), one rendered script per
array; task k finds its job directory in a task list written at submit. Native ids
are Slurm's own ``<array_id>_<task>``, so status and cancel work from handles
alone. Status comes from one ``squeue`` per poll plus each job's own ``exit_code``
file, which is the truth about success; ``scontrol show job`` is asked only about
jobs that left the queue without one. A killed run's exit code (143) while squeue
still lists the task is not final: Slurm requeued it (``scontrol requeue``,
preemption) and the task is followed until its last run ends (squeue alone tells:
the task goes back to PENDING under the same id). No loops over time and no sleeps
here, except the bounded back-off of a retried submission.
"""

from __future__ import annotations

import getpass
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
from .slurm_parse import (
    SQUEUE_FORMAT,
    STUCK_REASONS,
    EndedJob,
    QueuedJob,
    is_held,
    parse_max_array_size,
    parse_sbatch_parsable,
    parse_scontrol_job,
    parse_squeue,
)
from .slurm_script import (
    SLURM_DIR,
    SlurmOptions,
    render_script,
    sbatch_argv,
    task_list_path,
    write_array,
)
from .tracked import Tracked

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import ClassVar

# slurmctld busy or restarting (sbatch's own retries gave up).
TRANSIENT = ("Socket timed out", "Unable to contact slurm controller",
             "Communication connection failure",
             "Resource temporarily unavailable", "Zero Bytes were transmitted",
             "Connection refused", "try again later")
SCANCEL_CHUNK = 200
# scancel's lines about jobs that had already ended: not errors.
SCANCEL_GONE = ("Invalid job id", "already completing or completed", "Job/step already")
# scontrol release's lines about arrays that had already ended.
RELEASE_GONE = ("Invalid job id", "already finished")


@record(frozen=False, slots=False)
class SlurmBackend(ArrayBackend):
    """Submits array jobs to Slurm with sbatch and follows them with squeue."""

    name: ClassVar[str] = "slurm"
    orphan_folder: ClassVar[str | None] = SLURM_DIR
    transient: ClassVar[tuple[str, ...]] = TRANSIENT

    options: SlurmOptions = field(default_factory=SlurmOptions.from_env)

    def _query_max_array_tasks(self) -> int:
        # The cluster's MaxArraySize: task ids 0 .. size - 1.
        output = self.run(["scontrol", "show", "config"])
        return parse_max_array_size(output.stdout if output.returncode == 0 else "")

    def _script(self, chunk: list[JobTask], *, name: str,
                max_running: int | None) -> tuple[list[str], str]:
        return sbatch_argv(chunk), render_script(
            chunk, task_list=task_list_path(chunk, name=name), name=name,
            max_running=max_running, options=self.options)

    def _submit_array(self, chunk: list[JobTask], *, name: str,
                      max_running: int | None) -> list[JobHandle]:
        script = write_array(chunk, name=name, max_running=max_running, options=self.options)
        fault_point(FILES_WRITTEN)
        argv = [*sbatch_argv(chunk), str(script)]
        output = self._with_retries(argv, before_retry=lambda: self._already_queued(name))
        if output.returncode != 0:
            raise output.error("sbatch refused the job")
        array_id = parse_sbatch_parsable(output.stdout)
        fault_point(ACCEPTED)
        tasks = [f"{array_id}_{index}" for index in range(task_count(chunk))]
        natives = member_ids(tasks, jobs=len(chunk), size=jobs_per_task(chunk))
        return self.attach(list(zip(chunk, natives, strict=True)))

    def _already_queued(self, name: str) -> Output | None:
        # sbatch may have failed after slurmctld accepted the job: never submit twice.
        listing = squeue(self.run)
        for job in parse_squeue(listing.stdout if listing.returncode == 0 else ""):
            if job.name == name:
                return Output(argv=("sbatch",), returncode=0, stdout=f"{job.array_id}\n",
                              stderr="")
        return None

    def _queued_arrays(self) -> dict[str, str]:
        listing = squeue(self._with_retries)
        if listing.returncode != 0:
            raise listing.error("cannot read the queue")
        return {job.name: job.array_id for job in parse_squeue(listing.stdout)
                if job.job_state is not None}

    def _task_id(self, array_id: str, index: int) -> str:
        return f"{array_id}_{index}"  # Slurm numbers tasks from 0 (--array=0-N)

    def _array_of(self, task_id: str) -> str:
        return task_id.split("_", 1)[0]

    def _release_arrays(self, array_ids: list[str]) -> None:
        run_in_chunks(["scontrol", "release"], array_ids, chunk=SCANCEL_CHUNK,
                      run=self._with_retries, gone=RELEASE_GONE)

    def status(self, handles: Sequence[JobHandle]) -> Mapping[JobHandle, JobStatus]:
        """One squeue for all handles; the exit_code files decide how jobs ended.

        A busy controller's time-outs are retried (bounded): a failed poll would
        otherwise end the launch with its jobs still queued.
        """
        listing = squeue(self._with_retries)
        if listing.returncode != 0:
            raise listing.error("cannot read the queue")
        queue = {job.native_id: job for job in parse_squeue(listing.stdout)
                 if job.job_state is not None}
        now = self.clock()
        return {handle: self._status_of(handle, queue, now=now) for handle in handles}

    def _status_of(self, handle: JobHandle, queue: Mapping[str, QueuedJob], *,
                   now: float) -> JobStatus:
        task = task_of(handle.native_id)
        queued = queue.get(task)
        tracked = self._jobs.get(handle.native_id)
        if tracked is None:
            return self._untracked_status(handle, queued)
        grace = self.options.vanish_grace_s
        ended = tracked.ended(queued=queued.job_state if queued else None, now=now,
                              grace_s=grace)
        if ended is not None:
            return ended
        if queued is None:
            if tracked.missing_since is None and not is_lock_id(handle.native_id):
                tracked.final = self._never_started(handle)
                if tracked.final is not None:
                    return tracked.final
            return tracked.missing(now=now, grace_s=self.options.vanish_grace_s)
        tracked.seen()
        return self._queued_status(handle, tracked, queued, now=now)

    def _queued_status(self, handle: JobHandle, tracked: Tracked, queued: QueuedJob, *,
                       now: float) -> JobStatus:
        if tracked.killed is not None and queued.job_state is JobState.PENDING:
            return self._requeued(handle, tracked, queued, now=now)
        if queued.job_state is JobState.PENDING and queued.reason in STUCK_REASONS:
            # The task: no job of it can run.
            scancel([task_of(handle.native_id)], force=False, run=self.run)
            tracked.final = JobStatus(JobState.FAILED, reason=(
                f"Slurm cannot run it: pending with reason {queued.reason}"))
            return tracked.final
        return tracked.in_task(JobStatus(queued.job_state or JobState.RUNNING))

    def _requeued(self, handle: JobHandle, tracked: Tracked, queued: QueuedJob, *,
                  now: float) -> JobStatus:
        # Killed and back in the queue: `scontrol requeue`, or preemption with requeue.
        # Held there (`scontrol requeuehold`, or by Slurm after a failed launch), its task
        # is cancelled after the grace.
        def cancel_task() -> str:
            scancel([task_of(handle.native_id)], force=False, run=self.run)
            return "cancelled"

        return tracked.requeued(
            why=f"requeued by Slurm after exit code {tracked.killed}",
            hold=f"held ({queued.reason})" if is_held(queued) else None,
            now=now, grace_s=self.options.vanish_grace_s, stop_task=cancel_task)

    def _never_started(self, handle: JobHandle) -> JobStatus | None:
        # A job that ended without ever running (cancelled while pending) will write no
        # exit_code: no need to wait out the grace for it. Asked once per job.
        ended = self._scontrol_job(handle)
        if ended is None or not ended.is_over or ended.started:
            return None
        return JobStatus(JobState.FAILED, reason=(
            f"Slurm ended it before it started (state {ended.state}, reason {ended.reason})"))

    def _scontrol_job(self, handle: JobHandle) -> EndedJob | None:
        detail = self.run(["scontrol", "show", "job", task_of(handle.native_id)])
        return parse_scontrol_job(detail.stdout) if detail.returncode == 0 else None

    def _untracked_status(self, handle: JobHandle, queued: QueuedJob | None) -> JobStatus:
        # No job dir known (not tracked): the queue, then Slurm's memory of the job.
        if queued is not None and queued.job_state is not None:
            return JobStatus(queued.job_state)
        ended = self._scontrol_job(handle)
        if ended is None:
            return JobStatus(JobState.UNKNOWN, reason="Slurm no longer knows the job")
        if ended.state == "COMPLETED" and ended.exit_code == 0:
            return JobStatus(JobState.COMPLETED, exit_code=0)
        return JobStatus(JobState.FAILED, exit_code=ended.exit_code,
                         reason=f"Slurm state {ended.state} (reason {ended.reason})")

    def cancel(self, handles: Sequence[JobHandle], *, force: bool = False) -> None:
        """scancel every handle (chunked); jobs already gone are fine. A packed job
        cancelled without the rest of its task is asked to stop alone (tracked.Siblings). A
        run followed by its lock only has no id the scheduler knows: nothing to send."""
        scancel([n for n in self._to_cancel(handles) if not is_lock_id(n)], force=force,
                run=self.run)

    @classmethod
    def cancel_orphans(cls, names: set[str], *, force: bool) -> int:
        """scancel this user's arrays named ``names`` (one squeue); returns how many."""
        listing = squeue(run_command)
        if listing.returncode != 0:
            raise listing.error("cannot read the queue")
        arrays = sorted({job.array_id for job in parse_squeue(listing.stdout)
                         if job.name in names and job.job_state is not None}, key=int)
        scancel(arrays, force=force, run=run_command)
        return len(arrays)


def squeue(run: Runner) -> Output:
    """This user's jobs, one line per array task: the one queue query per poll."""
    return run(["squeue", "-h", "-r", "-u", getpass.getuser(), "-o", SQUEUE_FORMAT])


def scancel(ids: Sequence[str], *, force: bool, run: Runner) -> None:
    """scancel jobs or array tasks (``123`` / ``123_4``) in chunks; ids already gone are fine.

    ``force`` sends SIGKILL to every process of the job, the batch shell included.
    """
    flags = ["--full", "--signal=KILL"] if force else []
    run_in_chunks(["scancel", *flags], list(dict.fromkeys(ids)), chunk=SCANCEL_CHUNK, run=run,
                  gone=SCANCEL_GONE)


def slurm_available() -> bool:
    """True when an sbatch client is on PATH."""
    from shutil import which

    return which("sbatch") is not None
