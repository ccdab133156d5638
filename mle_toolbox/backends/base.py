"""The Backend protocol and what every backend shares.

Backends submit, report status in one batched call, and cancel idempotently.
They contain no loops over time and no sleeps: the runner owns waiting.
Readers of the files a job leaves (exit_code, status.json, stderr.log) live in
``files/jobfiles.py``, beside the layout that names them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..spec import FollowedJob, JobHandle, JobStatus, JobTask, Resources

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import ClassVar, Protocol
else:
    Protocol = object  # structural types are for the type checker; no class derives from them

# Native id of a job found only by its held ``JOB_DIR/.live`` lock (a submission cut short
# whose run is not otherwise visible: no token recorded, or its wrapper gone while its
# command still runs): followed until the lock is free, then by its exit code.
LOCK_ID_PREFIX = "live-lock:"


def lock_id(job_id: str) -> str:
    """The native id of a job followed by its ``.live`` lock."""
    return f"{LOCK_ID_PREFIX}{job_id}"


def is_lock_id(native_id: str) -> bool:
    """True for a native id made by ``lock_id``: no scheduler knows it."""
    return native_id.startswith(LOCK_ID_PREFIX)


class Backend(Protocol):
    """What the runner needs from a way of running jobs."""

    name: ClassVar[str]
    # True when the scheduler enforces max_running itself (array throttles): the
    # runner then submits every task at once and passes max_running along.
    throttles: ClassVar[bool]
    # Jobs keep running when the launcher exits: --detach, re-attach, and a first Ctrl+C
    # that detaches instead of cancelling.
    jobs_outlive_launcher: ClassVar[bool]
    # A dry run renders the script of every job (``scripts``) and prints it.
    shows_scripts_in_dry_run: ClassVar[bool]
    # Runs resources.jobs_per_task jobs in one array task (single_job_args.jobs_per_task).
    packs_jobs: ClassVar[bool]
    # The backend's folder in an experiment's .mle/ whose task lists name the arrays it
    # submitted (``mle cancel`` finds them by name when the job table missed them); None
    # when it leaves none.
    orphan_folder: ClassVar[str | None]

    @classmethod
    def cancel_orphans(cls, names: set[str], *, force: bool) -> int:
        """Cancel this user's queued or running arrays named ``names``; returns how many."""
        ...

    def scripts(self, tasks: Sequence[JobTask], *, max_running: int | None = None,
                ) -> list[tuple[list[str], str]]:
        """(submit argv, script text) of what ``submit`` would send; [] without scripts."""
        ...

    def submit(self, tasks: Sequence[JobTask], *, max_running: int | None = None,
               token: str | None = None) -> list[JobHandle]:
        """Start or queue the tasks (cluster backends: held, see ``release``); one handle
        per task, same order.

        ``token`` names the submission on the scheduler (cluster arrays' names end with
        it; drawn here when None); the launcher records it before asking, so that
        ``find_submitted`` can find what a submission cut short started.
        """
        ...

    def find_submitted(self, jobs: Sequence[tuple[FollowedJob, str | None]], *,
                       internal_dir: Path) -> dict[str, str]:
        """Native ids of the jobs a submission cut short started, by job id.

        ``jobs``: (job, token of its submission, None when not recorded);
        ``internal_dir``: the experiment's ``.mle/``. One scheduler query at most:
        cluster backends look for the arrays named with the token, the local backend
        for the jobs' wrapper processes. Jobs not found are absent.
        """
        ...

    def release(self, handles: Sequence[JobHandle]) -> None:
        """Let jobs ``submit`` left held start; released, running or ended jobs are fine.

        Cluster backends submit their arrays held and the launcher releases them once
        their native ids are recorded: nothing runs that the job table cannot name.
        """
        ...

    def status(self, handles: Sequence[JobHandle]) -> Mapping[JobHandle, JobStatus]:
        """Current status of every handle, from one scheduler query at most."""
        ...

    def cancel(self, handles: Sequence[JobHandle], *, force: bool = False) -> None:
        """Stop the jobs; jobs already gone are fine (idempotent)."""
        ...

    def wait_fds(self) -> Sequence[int]:
        """File descriptors that become readable when a job may have ended."""
        ...

    def default_max_running(self, resources: Resources, *, jobs: int) -> int:
        """How many jobs to run at once when the user did not say."""
        ...

    def attach(self, jobs: Sequence[tuple[FollowedJob, str]]) -> list[JobHandle]:
        """Handles for jobs an earlier launcher submitted, from (job, recorded native id).

        ``status`` and ``cancel`` then work on them as on jobs submitted here; a job
        the scheduler no longer knows ends by its exit_code file or as FAILED.
        """
        ...
