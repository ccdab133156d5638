"""Readers of the files a job leaves in its job dir (names: jobdir.JobFiles).

The runner, every backend, ``mle status``, ``mle cancel``, ``mle eval`` and the
resume decision judge a job by the same files, read here: ``exit_code`` (written
by the job wrapper, the truth about how a job ended), ``status.json`` (written by
MLExperiment) and ``stderr.log``.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
from pathlib import Path

from ..spec import JobState, JobStatus

STDERR_TAIL_LINES = 15
STDERR_TAIL_BYTES = 4096


def read_exit_code(path: str | Path) -> int | None:
    """The exit code a job wrapper wrote, or None while there is none (or it is torn).

    Takes a plain string too: planning reads many of them and joins no Path per job.
    """
    try:
        with open(path, encoding="ascii") as file:
            text = file.read().strip()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None
    return int(text) if text.lstrip("-").isdigit() else None


def live_lock_held(path: str | Path) -> bool:
    """True while a run of the job holds its ``.live`` lock (the wrapper's flock).

    Probed with a shared lock, released at once: a wrapper that starts in that instant
    finds the lock taken and exits 75 without running or writing anything, so a probe
    never makes a job run twice, only (rarely) not at all this time.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False  # no lock file: no run of this job ever started here
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's lock
    return False


def take_live_lock(path: str) -> int | None:
    """The ``.live`` lock at ``path``, taken as the job wrapper takes it (exclusive, not
    waiting): the open file's descriptor, or None when another run holds it.

    The local backend takes it before it starts the wrapper and hands the wrapper this
    descriptor (``MLE_LIVE_FD``): the lock belongs to the open file, which the wrapper and
    the job then keep open, so the wrapper need not run ``flock`` itself (a fork and an
    exec per job, issue 18). The caller closes its copy once the wrapper has started.
    """
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None  # the wrapper finds it held too, says so and exits 75
    return fd


def read_start_time(path: Path) -> float | None:
    """When the job's script started (``start`` of its status.json at ``path``), if it says."""
    try:
        return float(json.loads(path.read_text())["start"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record_final_state(path: Path, *, state: str, reason: str) -> None:
    """status.json (at ``path``) of a job that ended without saying so (killed at its time
    limit, by the scheduler, cancelled) gets the state ``mle status`` reports.

    The killed script cannot write it any more; one that already ended is left alone.
    """
    import contextlib
    import time

    from .atomic import write_json_atomic

    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):
        return  # never started (or archived for a requeue): nothing claims it runs
    if not isinstance(status, dict) or status.get("state") != "running":
        return
    status.update(state=state, end=time.time(), error=reason)
    with contextlib.suppress(OSError):  # the job dir is gone: nothing to disagree with
        write_json_atomic(path, status)


def stderr_tail(path: Path) -> str:
    """Last lines of a job's stderr file, for failure messages."""
    try:
        with open(path, "rb") as handle:
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
