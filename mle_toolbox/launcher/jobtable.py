"""The persistent job table of an experiment: ``.mle/jobs.sqlite``.

One row per job and attempt: config hash, seed, backend, the scheduler's native
id, state, exit code and times. A submission is written as ``submitting`` before
the backend is asked, with the token that names it on the scheduler (the arrays'
names end with it), and gets its native id right after, so a launcher that dies
at any point leaves a table that says what may be on the scheduler and how to find
it (``decide.gather``). SQLite in WAL
mode lets ``mle status`` read while a launcher writes; each change is one
transaction. ``sqlite3`` is imported only when a table is opened.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..errors import DiskFullError, ExperimentDirError, is_disk_full
from ..files.jobdir import EXIT_CODE_NAME, JobFiles, attempt_number
from ..files.jobfiles import read_exit_code
from ..records import record
from ..spec import JobHandle, JobResult, JobState, JobTask
from .wal import use_wal

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    import sqlite3
    from typing import Any

SUBMITTING = "submitting"  # written before the backend is asked; no native id yet
BUSY_TIMEOUT_S = 30.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT NOT NULL, attempt INTEGER NOT NULL, run_id TEXT NOT NULL,
    seed INTEGER NOT NULL, config_hash TEXT NOT NULL, backend TEXT NOT NULL,
    native_id TEXT, state TEXT NOT NULL, exit_code INTEGER, reason TEXT NOT NULL DEFAULT '',
    submitted REAL, ended REAL, token TEXT, PRIMARY KEY (job_id, attempt));
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Columns added after the first release: (name, type). A table of an older version gets
# them when it is opened for writing; read-only opens read old rows as they are.
_ADDED_COLUMNS = (("token", "TEXT"),)


@record
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
    token: str | None = None  # names the submission on the scheduler (tables before: None)

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
            use_wal(db, timeout_s=BUSY_TIMEOUT_S)  # two launchers may create it together
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            _add_columns(db)
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
                   attempts: Sequence[int], token: str | None = None) -> None:
        """Record that ``tasks`` are about to be submitted (before the backend is asked),
        under the ``token`` that names the submission on the scheduler."""
        now = time.time()
        rows = [(t.job_id, a, t.job.run_id, t.job.seed, t.job.config_hash, backend, SUBMITTING,
                 now, token) for t, a in zip(tasks, attempts, strict=True)]
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO jobs (job_id, attempt, run_id, seed, config_hash, "
                "backend, state, submitted, token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def submitted(self, handles: Sequence[JobHandle], *, attempts: Sequence[int]) -> None:
        """Record the native ids the backend gave; the submission is then done."""
        rows = [(h.native_id, JobState.PENDING.value, h.job_id, a)
                for h, a in zip(handles, attempts, strict=True)]
        with self._transaction() as db:
            db.executemany("UPDATE jobs SET native_id = ?, state = ? "
                           "WHERE job_id = ? AND attempt = ?", rows)

    def found(self, record: JobRecord, *, native_id: str) -> None:
        """The native id of a ``submitting`` row, found on the scheduler by a resume."""
        with self._transaction() as db:
            db.execute("UPDATE jobs SET native_id = ?, state = ? WHERE job_id = ? AND "
                       "attempt = ? AND native_id IS NULL",
                       (native_id, JobState.PENDING.value, record.job_id, record.attempt))

    def update(self, job_id: str, *, attempt: int, state: JobState,
               exit_code: int | None = None, reason: str = "") -> None:
        """Record a new state of one attempt (ended time set for final states)."""
        ended = time.time() if state.is_final else None
        with self._transaction() as db:
            db.execute("UPDATE jobs SET state = ?, exit_code = ?, reason = ?, ended = ? "
                       "WHERE job_id = ? AND attempt = ?",
                       (state.value, exit_code, reason, ended, job_id, attempt))

    def rerun(self, job_id: str, *, attempt: int, exit_code: int | None, reason: str) -> None:
        """The scheduler ran attempt ``attempt`` again under the same native id (a requeue
        it did on its own): that attempt is recorded failed with its exit code and
        ``reason``, and a row for the next attempt takes over the native id."""
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO jobs (job_id, attempt, run_id, seed, "
                       "config_hash, backend, native_id, state, submitted) SELECT job_id, "
                       "?, run_id, seed, config_hash, backend, native_id, ?, submitted "
                       "FROM jobs WHERE job_id = ? AND attempt = ?",
                       (attempt + 1, JobState.RUNNING.value, job_id, attempt))
            db.execute("UPDATE jobs SET state = ?, exit_code = ?, reason = ?, ended = ? "
                       "WHERE job_id = ? AND attempt = ?",
                       (JobState.FAILED.value, exit_code, reason, time.time(), job_id,
                        attempt))

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


def _add_columns(db: sqlite3.Connection) -> None:
    """Migrate a table of an older version: add the columns it lacks (old rows: NULL)."""
    have = {str(row[1]) for row in db.execute("PRAGMA table_info(jobs)")}
    for name, kind in _ADDED_COLUMNS:
        if name not in have:
            db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")


def _record(row: Iterable[Any]) -> JobRecord:
    return JobRecord(*row)


class TableJournal:
    """The runner's Journal over a JobTable: knows each job's attempt number."""

    def __init__(self, table: JobTable, *, backend: str) -> None:
        self.table = table
        self.backend = backend
        self._attempts: dict[str, int] = {}
        self._dirs: dict[str, Path] = {}

    def adopt(self, records: Iterable[JobRecord], *,
              job_dirs: Mapping[str, Path] | None = None) -> None:
        """Jobs re-attached from an earlier launch keep their recorded attempt; with their
        ``job_dirs`` (job id -> dir) a scheduler's rerun of them is recorded too."""
        self._attempts.update({r.job_id: r.attempt for r in records})
        self._dirs.update(job_dirs or {})

    def submitting(self, tasks: Sequence[JobTask], *, token: str | None = None) -> None:
        """Rows in state ``submitting`` with the submission's token, attempt numbers
        counted from the job dirs."""
        attempts = [attempt_number(t.job_dir) for t in tasks]
        self._attempts.update({t.job_id: a for t, a in zip(tasks, attempts, strict=True)})
        self._dirs.update({t.job_id: t.job_dir for t in tasks})
        self.table.submitting(tasks, backend=self.backend, attempts=attempts, token=token)

    def submitted(self, handles: Sequence[JobHandle]) -> None:
        """The native ids; from here a restarted launcher can find the jobs."""
        self.table.submitted(handles, attempts=[self._attempts[h.job_id] for h in handles])

    def finished(self, result: JobResult) -> None:
        """The final state of the attempt that ended last.

        A scheduler that requeued the job on its own (Slurm ``scontrol requeue``,
        preemption, SGE ``qmod -rj``) ran it again under the same native id, and the
        wrapper archived each earlier run to ``attempts/<k>/``: each gets its own row,
        failed with the exit code it left there, and the result goes to the run that
        wrote the exit_code now in the job dir.
        """
        attempt = self._attempts.get(result.job_id, 1)
        job_dir = self._dirs.get(result.job_id)
        if job_dir is not None and JobFiles(job_dir).exit_code.exists():
            last = attempt_number(job_dir)
            for earlier in range(attempt, last):
                archived = JobFiles(job_dir).attempts_dir / str(earlier) / EXIT_CODE_NAME
                self.table.rerun(result.job_id, attempt=earlier,
                                 exit_code=read_exit_code(archived),
                                 reason=f"run again by the scheduler as attempt {earlier + 1}")
            attempt = self._attempts[result.job_id] = max(attempt, last)
        self.table.finished(result, attempt=attempt)
