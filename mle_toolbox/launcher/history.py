"""Experiment history: every ``mle run`` launch is one row of a SQLite database.

The database lives in the project folder (the meta YAML's folder) as
``.mle/history.sqlite``; ``MLE_HISTORY_DB`` names another file. Nothing is
written under ``~``. Two launchers may write at once: every write is one short
``BEGIN IMMEDIATE`` transaction, waits for the other writer up to a deadline
(busy timeout), and the journal is WAL where the file system allows it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .. import records
from ..digest import sha256_hex
from ..errors import DiskFullError, MleError, is_disk_full
from ..files.layout import HISTORY_DB_ENV, history_db
from ..records import record
from .git_head import ASK_GIT, head_commit, on_path
from .wal import use_wal

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    import sqlite3
    from typing import Any

    from ..config.expand import Plan
    from ..files.layout import ExperimentLayout
    from .run_types import RunReport

BUSY_TIMEOUT_S = 30.0
GIT_TIMEOUT_S = 5.0
SCHEMA_VERSION = 1
# "died": the row said running, but its launcher is gone (kill -9, a lost machine); set by
# the next command that reads the history on the launcher's host.
STATES = ("running", "completed", "failed", "interrupted", "detached", "error", "died")

_SCHEMA = ("""
CREATE TABLE IF NOT EXISTS experiments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    purpose TEXT,
    meta_path TEXT NOT NULL,
    meta_hash TEXT NOT NULL,
    exp_dir TEXT NOT NULL,
    backend TEXT NOT NULL,
    state TEXT NOT NULL,
    jobs_total INTEGER NOT NULL,
    jobs_completed INTEGER NOT NULL DEFAULT 0,
    jobs_failed INTEGER NOT NULL DEFAULT 0,
    jobs_cancelled INTEGER NOT NULL DEFAULT 0,
    jobs_skipped INTEGER NOT NULL DEFAULT 0,
    started REAL NOT NULL,
    ended REAL,
    git_commit TEXT,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL
)""", "CREATE INDEX IF NOT EXISTS experiments_exp_dir ON experiments (exp_dir)")


@record
class Entry:
    """One recorded launch."""

    id: int
    name: str
    purpose: str | None
    meta_path: str
    meta_hash: str
    exp_dir: str
    backend: str
    state: str
    jobs_total: int
    jobs_completed: int
    jobs_failed: int
    jobs_cancelled: int
    jobs_skipped: int
    started: float
    ended: float | None
    git_commit: str | None
    host: str
    pid: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return records.asdict(self)


COLUMNS = tuple(f.name for f in records.fields(Entry))


def database_path(project_dir: Path) -> Path:
    """``$MLE_HISTORY_DB`` if set, else ``<project_dir>/.mle/history.sqlite``."""
    override = os.environ.get(HISTORY_DB_ENV)
    return Path(override) if override else history_db(project_dir)


@contextmanager
def connect(path: Path, *, write: bool = True) -> Iterator[sqlite3.Connection]:
    """An open connection, closed on exit; ``write`` also puts the schema in place.

    Readers (``mle ls``) change nothing, so a colleague's read-only database works.
    """
    conn = _open(path, write=write)
    try:
        yield conn
    finally:
        conn.close()


def _open(path: Path, *, write: bool) -> sqlite3.Connection:
    """What ``connect`` yields; the caller closes it."""
    import sqlite3

    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we open transactions ourselves (BEGIN IMMEDIATE), so a
        # writer takes the lock before reading and two launchers never deadlock.
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    else:
        conn = _open_for_reading(path)
    try:
        conn.row_factory = sqlite3.Row
        if write:
            _prepare(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _open_for_reading(path: Path) -> sqlite3.Connection:
    """A connection for readers: plain where it can be, read-only media read as immutable.

    SQLite writes a ``-shm`` file beside a WAL database even to read it; on a read-only
    disk that fails, and the file is then read as an immutable snapshot.
    """
    import sqlite3
    from urllib.parse import quote

    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return conn
    except sqlite3.OperationalError:
        conn.close()
    uri = f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1"
    return sqlite3.connect(uri, uri=True, isolation_level=None)


def _prepare(conn: sqlite3.Connection) -> None:
    # WAL lets `mle ls` read while a launcher writes; file systems without shared
    # memory (NFS) keep the rollback journal, which is still correct, only slower.
    use_wal(conn, timeout_s=BUSY_TIMEOUT_S)
    with _transaction(conn):
        if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            # One statement at a time: executescript would commit our transaction.
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def insert(conn: sqlite3.Connection, **fields: Any) -> int:
    """Add a launch; returns its id."""
    names = ", ".join(fields)
    marks = ", ".join("?" for _ in fields)
    with _transaction(conn):
        cursor = conn.execute(f"INSERT INTO experiments ({names}) VALUES ({marks})",
                              tuple(fields.values()))
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def update(conn: sqlite3.Connection, entry_id: int, **fields: Any) -> None:
    """Change fields of one launch."""
    unknown = set(fields) - set(COLUMNS)
    if unknown:
        raise ValueError(f"unknown history fields: {sorted(unknown)}")
    sets = ", ".join(f"{name} = ?" for name in fields)
    with _transaction(conn):
        conn.execute(f"UPDATE experiments SET {sets} WHERE id = ?",
                     (*fields.values(), entry_id))


def select(conn: sqlite3.Connection, *, name: str | None = None, state: str | None = None,
           exp_dir: str | None = None) -> list[Entry]:
    """Launches, oldest first, filtered by exact name, state and experiment dir."""
    where = [(f"{column} = ?", value) for column, value in
             (("name", name), ("state", state), ("exp_dir", exp_dir)) if value is not None]
    clause = f" WHERE {' AND '.join(w for w, _ in where)}" if where else ""
    rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM experiments{clause} ORDER BY id",
                        tuple(v for _, v in where)).fetchall()
    return [Entry(**dict(row)) for row in rows]


def settle_dead(conn: sqlite3.Connection, entries: list[Entry]) -> list[Entry]:
    """Rows still ``running`` whose launcher died on this host become ``died``.

    Written back when the database can be written; a read-only one is only shown so.
    """
    import sqlite3

    here = os.uname().nodename
    dead = {e.id for e in entries
            if e.state == "running" and e.host == here and not _launcher_alive(e.pid)}
    for entry_id in sorted(dead):
        # Read-only database: shown as died, written by the next command that can.
        with contextlib.suppress(sqlite3.OperationalError):
            update(conn, entry_id, state="died")
    return [records.replace(e, state="died") if e.id in dead else e for e in entries]


def _launcher_alive(pid: int) -> bool:
    """The pid runs an mle launcher (a reused pid running something else does not count)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc here: the pid's existence is all we can tell
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return b"mle" in cmdline


def file_hash(path: Path) -> str:
    """sha256 of a file's bytes."""
    return sha256_hex(path.read_bytes())


def git_commit(folder: Path) -> str | None:
    """HEAD commit of the git repository holding ``folder``; None without git or repo.

    Read from the repository's files where they settle it (git_head.py): no fork of git
    for a plain checkout, or for a folder in no repository; else ``git rev-parse``.
    """
    if not on_path("git"):
        return None
    commit = head_commit(folder)
    if commit != ASK_GIT:
        return commit
    from ..backends.commands import run_command  # here: only where git itself is asked

    try:
        out = run_command(["git", "-C", str(folder), "rev-parse", "--verify", "HEAD"],
                          timeout=GIT_TIMEOUT_S)
    except MleError:  # git missing, or no answer within the timeout
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None


def launch_fields(plan: Plan, *, layout: ExperimentLayout, backend: str, purpose: str | None,
                  total: int, skipped: int) -> dict[str, Any]:
    """History fields of a launch known before it starts."""
    meta = plan.meta
    return {"name": meta.project_name, "purpose": purpose, "meta_path": str(meta.path),
            "meta_hash": file_hash(meta.path), "exp_dir": str(layout.root.resolve()),
            "backend": backend, "jobs_total": total, "jobs_skipped": skipped,
            "git_commit": git_commit(meta.train_script.parent)}


class Recording:
    """The history row of one launch; ``finish`` fills in its outcome.

    A database that cannot be written (read-only folder, corrupt file) costs a
    warning, never the sweep.
    """

    def __init__(self, path: Path, entry_id: int | None,
                 connection: sqlite3.Connection | None = None) -> None:
        self.path = path
        self.entry_id = entry_id
        self.finished = False
        # The connection that inserted the row, kept for its updates until ``close``: a
        # second open (and the WAL checkpoint of closing the first before the jobs
        # start) cost ~1.5 ms of every launch (issue 18).
        self._connection = connection

    def close(self) -> None:
        """Close the connection kept for the row's updates (if any)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def finish(self, report: RunReport, *, failed: bool = False, total: int | None = None,
               skipped: int | None = None) -> None:
        """Record the job counts and final state of a finished launch.

        ``failed``: the launch failed beyond its jobs (a search's failed evaluations).
        ``total`` / ``skipped``: counts only known at the end (an adaptive search).
        """
        from ..spec import JobState

        self.finished = True
        state = ("detached" if report.detached  # jobs left running on the scheduler
                 else "interrupted" if report.interrupted
                 else "failed" if report.failed or failed else "completed")
        known = {"jobs_total": total, "jobs_skipped": skipped}
        self._set(state=state, jobs_completed=report.count(JobState.COMPLETED),
                  jobs_failed=report.count(JobState.FAILED) + report.count(JobState.UNKNOWN),
                  jobs_cancelled=report.count(JobState.CANCELLED),
                  **{key: value for key, value in known.items() if value is not None})

    def _set(self, **fields: Any) -> None:
        self._write(fields, quiet=False)

    def _write(self, fields: dict[str, Any], *, quiet: bool) -> None:
        if self.entry_id is None:
            return
        import sqlite3

        try:
            if self._connection is not None:
                update(self._connection, self.entry_id, ended=time.time(), **fields)
            else:
                with connect(self.path) as conn:
                    update(conn, self.entry_id, ended=time.time(), **fields)
        except (sqlite3.Error, OSError) as err:
            if not quiet:
                _warn(self.path, err)


@contextmanager
def recording(*, path: Path, fields: dict[str, Any]) -> Iterator[Recording]:
    """Insert a ``running`` row; the state becomes ``error`` or ``interrupted`` if the
    block raises before ``finish`` was called."""
    import sqlite3

    # uname's node name is gethostname()'s answer on Linux, without importing socket.
    row = {"state": "running", "started": time.time(), "host": os.uname().nodename,
           "pid": os.getpid(), **fields}
    full: Exception | None = None  # a full disk: warned about at the end, if at all
    conn: sqlite3.Connection | None = None
    try:
        conn = _open(path, write=True)
        entry = Recording(path, insert(conn, **row), conn)
    except (sqlite3.Error, OSError) as err:
        if conn is not None:
            conn.close()
        full = err if is_disk_full(err, folder=path.parent) else None
        if full is None:
            _warn(path, err)
        entry = Recording(path, None)
    try:
        yield entry
    except KeyboardInterrupt:
        if not entry.finished:
            entry._set(state="interrupted")
        raise
    except BaseException as err:
        # A launch stopped by a full disk says so in its one error line: no warning on top.
        quiet = isinstance(err, DiskFullError)
        if not entry.finished:
            entry._write({"state": "error"}, quiet=quiet)
        if full is not None and not quiet:
            _warn(path, full)
        raise
    finally:
        entry.close()  # the row's last update is written: checkpointed and closed
    if full is not None:
        _warn(path, full)


def _warn(path: Path, err: Exception) -> None:
    why = "disk full" if is_disk_full(err, folder=path.parent) else str(err)
    print(f"mle: warning: experiment history {path} not updated: {why}", file=sys.stderr)
