"""One launcher per experiment directory, held by a kernel lock that dies with its holder.

The lock is an ``flock`` on ``.mle-lock``, held for the launcher's whole life. The kernel
releases it when the holder exits for any reason (kill -9 included), so a dead launcher never
leaves a lock someone has to remove by hand, and a reused pid is never mistaken for the holder.
The file's content (pid, host, start time) only serves messages. On Linux NFS, flock is
emulated with POSIX byte-range locks, so the lock also holds across hosts on a shared filesystem.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from pathlib import Path
from types import TracebackType

from ..errors import DiskFullError, ExperimentDirError, is_disk_full

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import Any

# The file can be unlinked by a releasing holder between our open() and flock(): then we
# hold a lock on a dead inode and must open the path again. Each retry means another launcher
# released in that window, so a few suffice.
_REOPEN_TRIES = 5


class ExperimentLock:
    """Exclusive kernel lock on ``path`` with the owner's pid, host and start inside."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise ExperimentDirError saying who holds it."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            for _ in range(_REOPEN_TRIES):
                fd = self._open_locked()
                if _same_file(fd, self.path):
                    self._fd = fd
                    break
                os.close(fd)
            else:
                raise ExperimentDirError(f"could not take the lock {self.path}: other launchers "
                                         "kept replacing it; try again")
            self._record_owner()
        except OSError as err:
            self.release()
            raise _os_error(err, path=self.path) from err

    def _open_locked(self) -> int:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read_owner(fd)
            os.close(fd)
            raise self._held_by(owner) from None
        except OSError:
            os.close(fd)
            raise
        return fd

    def _record_owner(self) -> None:
        assert self._fd is not None
        previous = _read_owner(self._fd)
        if previous:
            print(f"mle: took over the lock {self.path} of launcher pid {previous.get('pid', '?')}"
                  f" on {previous.get('host', '?')}, which is no longer running",
                  file=sys.stderr)
        # uname's node name is gethostname()'s answer on Linux, without importing socket.
        owner = {"pid": os.getpid(), "host": os.uname().nodename, "since": time.time()}
        data = json.dumps(owner).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    def _held_by(self, owner: dict[str, Any]) -> ExperimentDirError:
        if not owner:
            return ExperimentDirError(
                f"another mle launcher is working on this experiment (lock {self.path}, "
                "still being written); wait for it or cancel it first")
        since = owner.get("since")
        started = (f", started {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(since))}"
                   if isinstance(since, (int, float)) else "")
        return ExperimentDirError(
            f"another mle launcher (pid {owner.get('pid', '?')} on {owner.get('host', '?')}"
            f"{started}) is working on this experiment (lock {self.path}); wait for it or "
            "cancel it first")

    def release(self) -> None:
        """Remove the lock file and drop the lock if this process holds it."""
        if self._fd is None:
            return
        # Unlink while still holding the lock: a waiter then sees a new inode (checked above).
        self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> ExperimentLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def _read_owner(fd: int) -> dict[str, Any]:
    """The owner recorded in the lock file; {} when empty or unreadable (messages only)."""
    try:
        raw = os.pread(fd, 4096, 0)
        owner = json.loads(raw.decode()) if raw.strip() else {}
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}


def _os_error(err: OSError, *, path: Path) -> ExperimentDirError | DiskFullError:
    if is_disk_full(err):  # the half-made lock file was removed by release()
        return DiskFullError(path, what="cannot take the lock")
    return ExperimentDirError(f"cannot take the lock {path}: {err.strerror or err}")
