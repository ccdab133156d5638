"""One launcher per experiment directory, with stale-lock detection."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from types import TracebackType

from ..errors import ExperimentDirError


class ExperimentLock:
    """Exclusive lock file holding the owner's pid and host; a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._held = False

    def acquire(self) -> None:
        """Take the lock or raise ExperimentDirError saying who holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            raise self._held_by_other() from None
        with os.fdopen(fd, "w") as handle:
            json.dump(owner, handle)
        self._held = True

    def _held_by_other(self) -> ExperimentDirError:
        try:
            owner = json.loads(self.path.read_text())
            pid, host = int(owner["pid"]), str(owner["host"])
        except (OSError, ValueError, KeyError, TypeError):
            return ExperimentDirError(
                f"{self.path} exists but is unreadable (a launcher died while taking it); "
                f"if no launcher is running on this experiment, remove it: rm {self.path}"
            )
        if host == socket.gethostname() and not _alive(pid):
            return ExperimentDirError(
                f"stale lock {self.path}: launcher pid {pid} on {host} is no longer running; "
                f"remove it to continue: rm {self.path}"
            )
        return ExperimentDirError(
            f"another mle launcher (pid {pid} on {host}) is working on this experiment "
            f"(lock {self.path}); wait for it or cancel it first"
        )

    def release(self) -> None:
        """Remove the lock if this process holds it."""
        if self._held:
            self.path.unlink(missing_ok=True)
            self._held = False

    def __enter__(self) -> ExperimentLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
