"""What cluster backends share: array chunks, task lists and scheduler-safe names."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..fsutil import write_text_atomic
from ..spec import JobState, JobStatus, JobTask
from .base import read_exit_code, status_from_exit_code

_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
MAX_NAME = 64


def chunks(tasks: Sequence[JobTask], size: int) -> list[list[JobTask]]:
    """``tasks`` cut into consecutive arrays of at most ``size`` tasks."""
    size = max(1, size)
    return [list(tasks[i:i + size]) for i in range(0, len(tasks), size)]


def write_task_files(tasks: Sequence[JobTask], *, task_list: Path) -> None:
    """Each job's NUL-separated argv in its job dir, and the array's list of job dirs.

    Task ``k`` (1-based) of the array runs the ``k``-th directory of ``task_list``.
    NUL separation keeps any byte of a path or argument intact; nothing is parsed
    by a shell.
    """
    for task in tasks:
        task.job_dir.mkdir(parents=True, exist_ok=True)
        argv_file = task.job_dir / "argv"
        write_text_atomic(argv_file, "".join(f"{arg}\0" for arg in task.argv))
    task_list.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(task_list, "".join(f"{task.job_dir}\0" for task in tasks))


def write_array_files(tasks: Sequence[JobTask], *, task_list: Path, script: str) -> Path:
    """Task files, the rendered ``script`` beside ``task_list`` (as ``.sh``) and a log folder.

    Returns the script's path, ready for the scheduler.
    """
    write_task_files(tasks, task_list=task_list)
    path = task_list.with_suffix(".sh")
    path.write_text(script, encoding="utf-8")
    (task_list.parent / "out").mkdir(exist_ok=True)
    return path


def scheduler_name(name: str, *, suffix: str = "") -> str:
    """A job name every scheduler accepts: safe characters, not starting with a digit."""
    text = _NAME_UNSAFE.sub("_", name).strip("_.-") or "mle"
    if not text[0].isalpha():
        text = f"j{text}"
    return text[:MAX_NAME - len(suffix)] + suffix


def array_names(tasks: Sequence[JobTask], size: int, *,
                token: str | None = None) -> list[tuple[str, list[JobTask]]]:
    """(name, tasks) of each array: the sweep's name, chunk number and a launch token.

    Unique per launch and chunk, so a retried submission can look itself up in the
    queue and ``mle cancel`` can find the arrays later. A dry run passes a
    placeholder ``token``: the real one is drawn at submission.
    """
    token = token or secrets.token_hex(3)
    return [(scheduler_name(chunk[0].sweep_name, suffix=f"_{number}_{token}"), chunk)
            for number, chunk in enumerate(chunks(tasks, size), start=1)]


def shared_value(tasks: Sequence[JobTask], what: str) -> object:
    """The value of attribute ``what`` that every task of one array must share."""
    values = {getattr(task, what) for task in tasks}
    if len(values) != 1:
        raise ValueError(f"tasks of one array differ in {what}: {sorted(map(str, values))}")
    return values.pop()


@dataclass
class Tracked:
    """What a cluster backend remembers of one submitted job."""

    task: JobTask
    missing_since: float | None = None
    final: JobStatus | None = None

    def ended(self) -> JobStatus | None:
        """The final status: remembered, or read from the job's exit_code file."""
        if self.final is None:
            code = read_exit_code(self.task.exit_code_file)
            if code is not None:
                self.final = status_from_exit_code(code)
        return self.final

    def seen(self) -> None:
        """The scheduler lists the job: it is not missing."""
        self.missing_since = None

    def missing(self, *, now: float, grace_s: float) -> JobStatus:
        """Not listed and no exit code yet: RUNNING within the grace, then FAILED.

        The grace allows for the lag of shared file systems between the node
        writing exit_code and this machine seeing it.
        """
        if self.missing_since is None:
            self.missing_since = now
        elif now - self.missing_since > grace_s:
            self.final = JobStatus(JobState.FAILED, reason=(
                "left the queue without writing its exit code (killed by the scheduler, "
                f"or the node failed); see {self.task.stderr}"))
        return self.final or JobStatus(JobState.RUNNING)
