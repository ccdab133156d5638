"""The Backend protocol and what every backend shares.

Backends submit, report status in one batched call, and cancel idempotently.
They contain no loops over time and no sleeps: the runner owns waiting.
Readers of the files a job leaves (exit_code, status.json, stderr.log) live here
too: the runner, the backends and ``mle status`` judge a job by the same files.
"""

from __future__ import annotations

import contextlib
import json
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar, Protocol

from ..spec import JobHandle, JobState, JobStatus, JobTask, Resources

# Exit status of a job that asked to be requeued (JOB_DIR/requeue): Grid Engine puts
# such a job back into the queue; the runner resubmits it on other backends.
REQUEUE_EXIT = 99
STDERR_TAIL_LINES = 15
STDERR_TAIL_BYTES = 4096


class Backend(Protocol):
    """What the runner needs from a way of running jobs."""

    name: ClassVar[str]
    # True when the scheduler enforces max_running itself (array throttles): the
    # runner then submits every task at once and passes max_running along.
    throttles: ClassVar[bool]

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

    def attach(self, jobs: Sequence[tuple[JobTask, str]]) -> list[JobHandle]:
        """Handles for jobs an earlier launcher submitted, from (task, recorded native id).

        ``status`` and ``cancel`` then work on them as on jobs submitted here; a job
        the scheduler no longer knows ends by its exit_code file or as FAILED.
        """
        ...


def read_exit_code(path: str | Path) -> int | None:
    """The exit code a job wrapper wrote, or None while there is none (or it is torn)."""
    try:
        with open(path, encoding="ascii") as file:
            text = file.read().strip()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None
    return int(text) if text.lstrip("-").isdigit() else None


def read_start_time(task: JobTask) -> float | None:
    """When the job's script started (``start`` of its status.json), if it says."""
    try:
        return float(json.loads(task.status_file.read_text())["start"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record_final_state(task: JobTask, *, state: str, reason: str) -> None:
    """status.json of a job that ended without saying so (killed at its time limit,
    by the scheduler, cancelled) gets the state ``mle status`` reports.

    The killed script cannot write it any more; one that already ended is left alone.
    """
    import time

    from ..files.atomic import write_json_atomic

    try:
        status = json.loads(task.status_file.read_text())
    except (OSError, ValueError):
        return  # never started (or archived for a requeue): nothing claims it runs
    if not isinstance(status, dict) or status.get("state") != "running":
        return
    status.update(state=state, end=time.time(), error=reason)
    with contextlib.suppress(OSError):  # the job dir is gone: nothing to disagree with
        write_json_atomic(task.status_file, status)


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


def status_from_exit_code(code: int) -> JobStatus:
    """COMPLETED for 0, else FAILED with a reason that names a signal if there was one."""
    if code == 0:
        return JobStatus(JobState.COMPLETED, exit_code=0)
    return JobStatus(JobState.FAILED, exit_code=code, reason=describe_exit(code))


def describe_exit(code: int) -> str:
    """``exit code 3``; ``killed by signal SIGKILL (exit code 137)``; negative = signal."""
    number = -code if code < 0 else code - 128 if 128 < code < 160 else 0
    if number:
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"killed by signal {name} (exit code {code})"
    return f"exit code {code}"
