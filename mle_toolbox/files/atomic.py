"""Atomic file writes: readers see the old file or the new one, never half of one."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import DiskFullError, is_disk_full

TYPE_CHECKING = False  # typing's flag without importing typing on a job's import path (issue 18)
if TYPE_CHECKING:
    from typing import IO, Any

# mkstemp creates files as 0600; give the final file the mode open() would give it,
# so that colleagues on a shared cluster can read plans, reports and summaries.
_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temp file beside ``path`` and rename it into place."""
    with atomic_binary(path) as handle:
        handle.write(text.encode("utf-8"))


@contextmanager
def atomic_binary(path: Path) -> Iterator[IO[bytes]]:
    """A binary file handle whose contents replace ``path`` only when the block succeeds.

    No space left raises DiskFullError naming ``path`` (a write error names no file).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _temp_beside(path)
    except OSError as err:
        _raise_if_full(err, path)
        raise
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException as err:
        # The rename did not happen; leave no temp file behind.
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            _raise_if_full(err, path)
        raise


def _raise_if_full(err: OSError, path: Path) -> None:
    if is_disk_full(err) and not isinstance(err, DiskFullError):
        raise DiskFullError(path) from err


def _temp_beside(path: Path) -> tuple[int, str]:
    """A new temp file next to ``path`` (as tempfile.mkstemp, without importing tempfile,
    which a job would otherwise pay for at every start). Mode as open() would give it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):  # a name taken by another writer: try another, a bounded number
        tmp = os.path.join(path.parent, f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, flags, FILE_MODE), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def write_json_atomic(path: Path, data: Any) -> None:
    """Atomically write ``data`` as indented JSON (NaN/Inf become null)."""
    write_text_atomic(path, dumps_json(data, indent=2) + "\n")


def dumps_json(data: Any, *, indent: int | None = None) -> str:
    """JSON text of ``data`` with NaN/Inf as null and numpy scalars as numbers."""
    try:
        return json.dumps(data, indent=indent, allow_nan=False, default=_to_builtin)
    except ValueError:
        # allow_nan=False raised: some float is NaN or infinite.
        return json.dumps(_finite(data), indent=indent, allow_nan=False, default=_to_builtin)


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
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a JSON log: {value!r}")
