"""The Backend protocol and what every backend shares.

Backends submit, report status in one batched call, and cancel idempotently.
They contain no loops over time and no sleeps: the runner owns waiting.
Readers of the files a job leaves (exit_code, status.json, stderr.log) live in
``files/jobfiles.py``, beside the layout that names them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar, Protocol

from ..spec import FollowedJob, JobHandle, JobStatus, JobTask, Resources


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

    def submit(self, tasks: Sequence[JobTask], *,
               max_running: int | None = None) -> list[JobHandle]:
        """Start or queue the tasks; one handle per task, same order."""
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
