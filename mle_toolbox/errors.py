"""One exception hierarchy for everything the launcher reports to users.

The CLI turns each of these into a one-line message and an exit code; no traceback
is shown for them.
"""

from __future__ import annotations

import errno
import os

TYPE_CHECKING = False  # typing's flag without importing typing on a job's import path (issue 18)
if TYPE_CHECKING:
    import signal as _signal
    from collections.abc import Sequence
else:
    # The C module under ``signal``: its numbers without signal's enum classes (and with
    # them enum and functools), which a job that is never interrupted does not need.
    import _signal

# Exit code of a command stopped by a full disk: sysexits.h's EX_IOERR ("an error occurred
# while doing I/O on some file"), apart from 1 (a job failed) and 2 (bad input).
EXIT_DISK_FULL = 74
# ENOSPC: the disk is full; EDQUOT: the user's quota on it is.
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_SQLITE_FULL = 13  # sqlite3.SQLITE_FULL: "database or disk is full"


class Interrupted(KeyboardInterrupt):
    """Ctrl+C, or SIGTERM / SIGHUP (a scheduler, a dropped SSH session) handled like it.

    Remembers the signal, so messages name it and the exit code is 128 + its number.
    """

    def __init__(self, signum: int = _signal.SIGINT) -> None:
        super().__init__(signum)
        self.signum = signum


def interrupt_signal(err: BaseException) -> int:
    """The signal behind a KeyboardInterrupt (a plain one is Ctrl+C, SIGINT)."""
    return getattr(err, "signum", _signal.SIGINT)


def interrupt_name(err: BaseException) -> str:
    """``Ctrl+C`` for SIGINT, else the signal's name (``SIGTERM``)."""
    import signal

    signum = interrupt_signal(err)
    return "Ctrl+C" if signum == signal.SIGINT else signal.Signals(signum).name


class MleError(Exception):
    """Base class of every error mle_toolbox raises on purpose."""

    exit_code = 1


class DiskFullError(MleError, OSError):
    """A write found no space left (disk or quota) at ``path``.

    An OSError too, so code that handles failed writes (a job's own ``except OSError``)
    still does. The launcher's writes are atomic or transactions, so nothing was left
    half-written: after freeing space the same command carries on.
    """

    exit_code = EXIT_DISK_FULL

    def __init__(self, path: str | os.PathLike[str], *, what: str = "cannot write") -> None:
        from pathlib import Path  # an error path: a job's start does not pay for pathlib

        super().__init__(errno.ENOSPC, "disk full", str(path))
        self.path = Path(path)
        self.what = what

    def __str__(self) -> str:
        return (f"{self.what} {self.path}: disk full (no space left on the device or quota); "
                "nothing was half-written: free some space and run the same command again")


def is_disk_full(err: BaseException, *, folder: str | os.PathLike[str] | None = None) -> bool:
    """Whether ``err`` means the disk (or quota) is full.

    An OSError says so by its errno, SQLite by SQLITE_FULL; SQLite may also only say
    "disk I/O error" (it could not grow its -wal or -shm file), so with ``folder`` a disk
    that has no block left for us also counts.
    """
    if isinstance(err, DiskFullError) or (isinstance(err, OSError)
                                          and err.errno in _FULL_ERRNOS):
        return True
    if getattr(err, "sqlite_errorcode", None) == _SQLITE_FULL:  # without importing sqlite3
        return True
    if folder is None:
        return False
    try:
        return os.statvfs(folder).f_bavail == 0
    except OSError:
        return False


class PreloadNeededError(MleError):
    """A library (Debian's libdrmaa) can only load when ``preload`` is in LD_PRELOAD at start.

    The command line answers by starting itself again with it (once); other callers get this
    error's message, which names the variable to set.
    """

    exit_code = 3

    def __init__(self, message: str, *, preload: str) -> None:
        super().__init__(message)
        self.preload = preload


class ConfigError(MleError):
    """Bad user input: a meta YAML, a base config or a command-line value.

    Formats as ``file:line: key.path: message`` (line and key path when known).
    """

    exit_code = 2

    def __init__(
        self, message: str, *, file: str | None = None, key: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.key = key
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        key = f"{self.key}: " if self.key else ""
        return f"{where}{key}{self.message}"


class ExperimentDirError(MleError):
    """The experiment directory belongs to another experiment or is locked."""

    exit_code = 2


class HistoryError(MleError):
    """The experiment-history database exists but cannot be read."""

    exit_code = 2


class BackendUnavailable(MleError):  # noqa: N818 - name from the design guide
    """A backend was chosen whose scheduler or library is missing here."""

    exit_code = 2


class CommandError(MleError):
    """An external command (qsub, sbatch, ...) failed; keeps argv and output."""

    def __init__(
        self, *, argv: Sequence[str], returncode: int | None, stdout: str, stderr: str,
        note: str = "",
    ) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.note = note
        super().__init__(str(self))

    def __str__(self) -> str:
        code = "timed out" if self.returncode is None else f"exit code {self.returncode}"
        parts = [f"command {' '.join(self.argv)!r} failed ({code})"]
        if self.note:
            parts.append(self.note)
        if self.stdout.strip():
            parts.append(f"stdout: {self.stdout.strip()}")
        if self.stderr.strip():
            parts.append(f"stderr: {self.stderr.strip()}")
        return "\n  ".join(parts)


class SubmissionError(MleError):
    """A scheduler accepted no job, or answered something we cannot parse."""


class RefusedOverwrite(MleError):  # noqa: N818 - reads as what happened
    """A command would overwrite existing files and was not given ``--force``."""

    exit_code = 2
