"""The files inside one job dir: their names, ``JobFiles``, and the attempt count.

What the job wrapper (templates/job_wrapper.sh), a packed array task, the job and
``mle cancel`` write into ``<run_id>/jobs/seed_<s>/`` and the exit statuses the
wrapper uses. Apart from layout.py, which places job dirs inside an experiment:
spec.JobTask, the backends and the job table need only these names, not the
experiment's. The readers of these files are in ``jobfiles.py``.

It also holds ``_Frozen``, the frozen-value base of every path type in files/
(``JobFiles`` here, layout.py's, arrayfiles.py's and jobpaths.py's), kept in this
leaf module because all of them import it and a job imports it at every start.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's flag without importing typing on a job's import path (issue 18)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

class _Frozen:
    """A frozen value with slots: equality, hash and repr from its fields, in order.

    Not a dataclass: ``dataclasses`` imports ``inspect``, about a third of what importing
    MLExperiment costs, and every job imports this module.
    """

    __slots__: tuple[str, ...] = ()

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of a frozen {type(self).__name__}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Frozen)
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({shown})"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return type(self), self._fields()


# Names of a job's own files inside its job dir (JobTask uses them too).
STDOUT_NAME = "stdout.log"
STDERR_NAME = "stderr.log"
EXIT_CODE_NAME = "exit_code"
STATUS_NAME = "status.json"
ARGV_NAME = "argv"  # NUL-separated command, read by the wrapper of an array task
REQUEUE_NAME = "requeue"  # written by a job that asks to be requeued
ATTEMPTS_DIR_NAME = "attempts"
# Exit status of the wrapper of a job that asked to be requeued (JOB_DIR/requeue): Grid
# Engine puts such a job back into the queue; the runner resubmits it on other backends.
REQUEUE_EXIT = 99
# Written by `mle cancel` into a job dir before it stops the job: a launcher that then sees
# the job end records it cancelled, not failed. Archived with the attempt's other files.
CANCELLED_NAME = "cancelled"
# flock'd by the job wrapper for as long as a run of the job is alive (templates/job_wrapper.sh
# names it too): a second run of the same job folder exits 75 at once.
LIVE_LOCK_NAME = ".live"
DUPLICATE_RUN_EXIT = 75
# A packed array task (templates/pack_task.sh) runs several jobs one after another: it
# writes .started into a job dir as it starts that job (its siblings still waiting read
# as pending), and skips a job whose dir holds .stop (the launcher stopped that job only).
# Both are removed when the job is submitted again.
STARTED_NAME = ".started"
STOP_NAME = ".stop"


class JobFiles(_Frozen):
    """The files of one job inside its job dir (what the wrapper and the job write)."""

    __slots__ = ("job_dir",)
    job_dir: Path

    def __init__(self, job_dir: Path) -> None:
        object.__setattr__(self, "job_dir", job_dir)

    @property
    def stdout(self) -> Path:
        """The job's standard output."""
        return self.job_dir / STDOUT_NAME

    @property
    def stderr(self) -> Path:
        """The job's standard error."""
        return self.job_dir / STDERR_NAME

    @property
    def exit_code(self) -> Path:
        """Written by the job wrapper, atomically, once the command ended."""
        return self.job_dir / EXIT_CODE_NAME

    @property
    def status(self) -> Path:
        """Written by MLExperiment: start, end, host, error."""
        return self.job_dir / STATUS_NAME

    @property
    def argv(self) -> Path:
        """NUL-separated command of the job, for wrappers that read it from disk."""
        return self.job_dir / ARGV_NAME

    @property
    def requeue(self) -> Path:
        """Marker a job writes when it asks to be requeued (job/requeue.py)."""
        return self.job_dir / REQUEUE_NAME

    @property
    def cancelled(self) -> Path:
        """Marker written by ``mle cancel`` before it stops the job."""
        return self.job_dir / CANCELLED_NAME

    @property
    def live_lock(self) -> Path:
        """The wrapper holds an flock on it for as long as anything of a run is alive."""
        return self.job_dir / LIVE_LOCK_NAME

    @property
    def attempts_dir(self) -> Path:
        """Where the files of earlier attempts are kept."""
        return self.job_dir / ATTEMPTS_DIR_NAME

    @property
    def started(self) -> Path:
        """Written by a packed array task when it starts this job."""
        return self.job_dir / STARTED_NAME

    @property
    def stop(self) -> Path:
        """Written by the launcher to stop this job only, not its packed siblings."""
        return self.job_dir / STOP_NAME


def attempt_number(job_dir: Path) -> int:
    """The number of a job's current attempt: one more than the attempts archived.

    The job wrapper counts the same way (``MLE_ATTEMPT``), so the launcher, the job
    table and the script agree on it.
    """
    try:
        taken = [int(p.name) for p in JobFiles(job_dir).attempts_dir.iterdir()
                 if p.name.isdigit()]
    except FileNotFoundError:
        return 1
    return max(taken, default=0) + 1
