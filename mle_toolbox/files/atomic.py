"""Atomic file writes: readers see the old file or the new one, never half of one."""

from __future__ import annotations

import os

from ..errors import DiskFullError, is_disk_full
from .jsontext import dumps

TYPE_CHECKING = False  # typing's flag without importing typing on a job's import path (issue 18)
if TYPE_CHECKING:
    from types import TracebackType
    from typing import IO, Any

    StrPath = str | os.PathLike[str]

# mkstemp creates files as 0600; give the final file the mode open() would give it,
# so that colleagues on a shared cluster can read plans, reports and summaries.
_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK


def write_text_atomic(path: StrPath, text: str) -> None:
    """Write ``text`` to a temp file beside ``path`` and rename it into place."""
    with atomic_binary(path) as handle:
        handle.write(text.encode("utf-8"))


class atomic_binary:  # noqa: N801 - used like the function it replaced: with atomic_binary(p)
    """A binary file handle whose contents replace ``path`` only when the block succeeds.

    No space left raises DiskFullError naming ``path`` (a write error names no file).
    A class, not a ``contextlib.contextmanager``: a job's import path stays without
    contextlib (issue 18).
    """

    def __init__(self, path: StrPath) -> None:
        self.path = path
        self._tmp = ""
        self._handle: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        try:
            folder = os.path.dirname(os.fspath(self.path))
            if folder:
                os.makedirs(folder, exist_ok=True)
            fd, self._tmp = _temp_beside(self.path)
        except OSError as err:
            _raise_if_full(err, self.path)
            raise
        self._handle = os.fdopen(fd, "wb")
        return self._handle

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self._handle is not None
        try:
            self._handle.close()
            if error is None:
                os.replace(self._tmp, self.path)
                return
        except BaseException as failed:
            error = failed
            _discard(self._tmp, error, self.path)
            raise
        _discard(self._tmp, error, self.path)


def _discard(tmp: str, error: BaseException, path: StrPath) -> None:
    """The rename did not happen: leave no temp file behind; a full disk says so."""
    import contextlib  # a failed write only

    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    if isinstance(error, OSError):
        _raise_if_full(error, path)


def _raise_if_full(err: OSError, path: StrPath) -> None:
    if is_disk_full(err) and not isinstance(err, DiskFullError):
        raise DiskFullError(path) from err


def _temp_beside(path: StrPath) -> tuple[int, str]:
    """A new temp file next to ``path`` (as tempfile.mkstemp, without importing tempfile,
    which a job would otherwise pay for at every start). Mode as open() would give it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):  # a name taken by another writer: try another, a bounded number
        folder, name = os.path.split(os.fspath(path))
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, flags, FILE_MODE), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def write_json_atomic(path: StrPath, data: Any) -> None:
    """Atomically write ``data`` as indented JSON (NaN/Inf become null)."""
    write_text_atomic(path, dumps_json(data, indent=2) + "\n")


def dumps_json(data: Any, *, indent: int | None = None) -> str:
    """JSON text of ``data`` with NaN/Inf as null and numpy scalars as numbers."""
    try:
        return dumps(data, indent=indent, default=_to_builtin)
    except ValueError:
        # allow_nan=False raised: some float is NaN or infinite.
        return dumps(_finite(data), indent=indent, default=_to_builtin)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if value - value == 0.0 else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str):
        return _finite(value.tolist())  # numpy scalars and arrays of any shape
    return value


def _to_builtin(value: Any) -> Any:
    # numpy scalars and 0-d arrays expose .item(); arrays expose .tolist().
    if hasattr(value, "tolist"):
        return _finite(value.tolist())
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot store {type(value).__name__} in a JSON log: {value!r}")
