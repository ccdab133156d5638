"""The persistent job table of an experiment: ``.mle/jobs.sqlite``.

One row per job and attempt: config hash, seed, backend, the scheduler's native
id, state, exit code and times. A submission is written as ``submitting`` before
the backend is asked, and gets its native id right after, so a launcher that dies
at any point leaves a table that says what may be on the scheduler. SQLite in WAL
mode lets ``mle status`` read while a launcher writes; each change is one
transaction. ``sqlite3`` is imported only when a table is opened.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DiskFullError, ExperimentDirError, is_disk_full
from ..files.layout import attempt_number
from ..spec import JobHandle, JobResult, JobState, JobTask

if TYPE_CHECKING:
    import sqlite3

SUBMITTING = "submitting"  # written before the backend is asked; no native id yet
BUSY_TIMEOUT_S = 30.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT NOT NULL, attempt INTEGER NOT NULL, run_id TEXT NOT NULL,
    seed INTEGER NOT NULL, config_hash TEXT NOT NULL, backend TEXT NOT NULL,
    native_id TEXT, state TEXT NOT NULL, exit_code INTEGER, reason TEXT NOT NULL DEFAULT '',
    submitted REAL, ended REAL, PRIMARY KEY (job_id, attempt));
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One row of the job table: one attempt of one job."""

    job_id: str
    attempt: int
    run_id: str
    seed: int
    config_hash: str
    backend: str
    native_id: str | None
    state: str
    exit_code: int | None
    reason: str
    submitted: float | None
    ended: float | None

    @property
    def live(self) -> bool:
        """Submitted (or being submitted) and not known to have ended."""
        return self.state in (SUBMITTING, JobState.PENDING.value, JobState.RUNNING.value,
                              JobState.UNKNOWN.value)


class JobTable:
    """Reads and writes the job table; open with ``JobTable.open(path)``."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path

    @classmethod
    def open(cls, path: Path) -> JobTable:
        """Open (creating if needed) the table at ``path``."""
        import sqlite3

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
        except (sqlite3.DatabaseError, OSError) as err:
            _raise_if_full(path, err)
            if isinstance(err, OSError):
                raise
            raise _unusable(path, err) from err
        return cls(db, path)

    @classmethod
    def read(cls, path: Path) -> JobTable | None:
        """The table at ``path`` if there is one (never creates it), for reading and writing."""
        return cls.open(path) if path.exists() else None

    @classmethod
    def read_only(cls, path: Path) -> JobTable | None:
        """The table at ``path`` opened for reading only: works on a read-only experiment.

        SQLite needs to write a ``-shm`` file beside a WAL database even to read it; where it
        cannot (read-only folder or disk) the file is read as immutable: a snapshot.
        """
        import sqlite3
        from urllib.parse import quote

        if not path.exists():
            return None
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        for suffix in ("", "&immutable=1"):
            try:
                db = sqlite3.connect(uri + suffix, uri=True, timeout=BUSY_TIMEOUT_S,
                                     isolation_level=None)
                db.execute("SELECT COUNT(*) FROM jobs").fetchone()
                return cls(db, path)
            except sqlite3.OperationalError as err:
                last: sqlite3.DatabaseError = err
            except sqlite3.DatabaseError as err:
                raise _unusable(path, err) from err
        raise _unusable(path, last)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # BEGIN IMMEDIATE: a writer takes the lock up front; readers are never blocked (WAL).
        # A full disk fails a statement or the COMMIT: the transaction is rolled back, so
        # the table keeps its last complete state, and DiskFullError names the table.
        import sqlite3

        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as err:
            _raise_if_full(self.path, err)
            raise

    def set_info(self, **values: str) -> None:
        """Remember facts of the launch (backend, ...)."""
        with self._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO info VALUES (?, ?)", values.items())

    def info(self, key: str) -> str | None:
        """A value stored with ``set_info``."""
        row = self._db.execute("SELECT value FROM info WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def submitting(self, tasks: Sequence[JobTask], *, backend: str,
                   attempts: Sequence[int]) -> None:
        """Record that ``tasks`` are about to be submitted (before the backend is asked)."""
        now = time.time()
        rows = [(t.job_id, a, t.job.run_id, t.job.seed, t.job.config_hash, backend, SUBMITTING,
                 now) for t, a in zip(tasks, attempts, strict=True)]
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO jobs (job_id, attempt, run_id, seed, config_hash, "
                "backend, state, submitted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def submitted(self, handles: Sequence[JobHandle], *, attempts: Sequence[int]) -> None:
        """Record the native ids the backend gave; the submission is then done."""
        rows = [(h.native_id, JobState.PENDING.value, h.job_id, a)
                for h, a in zip(handles, attempts, strict=True)]
        with self._transaction() as db:
            db.executemany("UPDATE jobs SET native_id = ?, state = ? "
                           "WHERE job_id = ? AND attempt = ?", rows)

    def update(self, job_id: str, *, attempt: int, state: JobState,
               exit_code: int | None = None, reason: str = "") -> None:
        """Record a new state of one attempt (ended time set for final states)."""
        ended = time.time() if state.is_final else None
        with self._transaction() as db:
            db.execute("UPDATE jobs SET state = ?, exit_code = ?, reason = ?, ended = ? "
                       "WHERE job_id = ? AND attempt = ?",
                       (state.value, exit_code, reason, ended, job_id, attempt))

    def finished(self, result: JobResult, *, attempt: int) -> None:
        """Record the final state of one attempt."""
        self.update(result.job_id, attempt=attempt, state=result.state,
                    exit_code=result.exit_code, reason=result.reason)

    def latest(self) -> dict[str, JobRecord]:
        """The last attempt of every job in the table."""
        rows = self._db.execute(
            "SELECT * FROM jobs AS j WHERE attempt = "
            "(SELECT MAX(attempt) FROM jobs WHERE job_id = j.job_id)").fetchall()
        return {r[0]: _record(r) for r in rows}

    def records(self, job_id: str) -> list[JobRecord]:
        """Every attempt of one job, oldest first."""
        rows = self._db.execute("SELECT * FROM jobs WHERE job_id = ? ORDER BY attempt",
                                (job_id,)).fetchall()
        return [_record(r) for r in rows]


def _raise_if_full(path: Path, err: Exception) -> None:
    if is_disk_full(err, folder=path.parent):
        raise DiskFullError(path, what="cannot write the job table") from err


def _unusable(path: Path, err: Exception) -> ExperimentDirError:
    # Never advise discarding the table: it holds the ids of jobs that may still run.
    return ExperimentDirError(f"job table {path} is unusable ({err}); keep it, it holds the "
                              "ids of the experiment's cluster jobs: check the disk, its "
                              "permissions and free space, then run the command again")


def _record(row: Iterable[Any]) -> JobRecord:
    return JobRecord(*row)


class TableJournal:
    """The runner's Journal over a JobTable: knows each job's attempt number."""

    def __init__(self, table: JobTable, *, backend: str) -> None:
        self.table = table
        self.backend = backend
        self._attempts: dict[str, int] = {}

    def adopt(self, records: Iterable[JobRecord]) -> None:
        """Jobs re-attached from an earlier launch keep their recorded attempt."""
        self._attempts.update({r.job_id: r.attempt for r in records})

    def submitting(self, tasks: Sequence[JobTask]) -> None:
        """Rows in state ``submitting``, attempt numbers counted from the job dirs."""
        attempts = [attempt_number(t.job_dir) for t in tasks]
        self._attempts.update({t.job_id: a for t, a in zip(tasks, attempts, strict=True)})
        self.table.submitting(tasks, backend=self.backend, attempts=attempts)

    def submitted(self, handles: Sequence[JobHandle]) -> None:
        """The native ids; from here a restarted launcher can find the jobs."""
        self.table.submitted(handles, attempts=[self._attempts[h.job_id] for h in handles])

    def finished(self, result: JobResult) -> None:
        """The final state of the attempt."""
        self.table.finished(result, attempt=self._attempts.get(result.job_id, 1))
