"""The files of the arrays a cluster backend submits, in ``.mle/<scheduler>/``.

Per array: ``<name>.tasks`` (its job dirs), ``<name>.sh`` (the script as submitted),
``<name>.jobs/`` (a packed array's per-task commands), and the backend folder's
``out/`` (the scheduler's own logs). Apart from layout.py because only the cluster
backends and ``mle cancel`` use these names; a job never imports this module.
``submitted_arrays`` is the one function here that reads the disk.
"""

from __future__ import annotations

from .jobdir import _Frozen
from .layout import scheduler_dir

TYPE_CHECKING = False  # typing's flag without importing typing, as layout.py does
if TYPE_CHECKING:
    from pathlib import Path

# A cluster backend's folder in the experiment's .mle/: <name>.tasks, <name>.sh, out/.
TASK_LIST_SUFFIX = ".tasks"
SCHEDULER_LOG_DIR_NAME = "out"


class ArrayFiles(_Frozen):
    """The files of one array a cluster backend submits (in ``.mle/<scheduler>/``)."""

    __slots__ = ("folder", "name")
    folder: Path
    name: str

    def __init__(self, folder: Path, name: str) -> None:
        object.__setattr__(self, "folder", folder)
        object.__setattr__(self, "name", name)

    @property
    def task_list(self) -> Path:
        """NUL-separated job dirs: task ``k`` runs the ``k``-th."""
        return self.folder / f"{self.name}{TASK_LIST_SUFFIX}"

    @property
    def commands(self) -> Path:
        """Packed arrays: one file per task (``0``, ``1``, ...) of NUL-separated records,
        job dir, argument count and arguments of each of its jobs."""
        return packed_commands(self.task_list)

    @property
    def script(self) -> Path:
        """The rendered job script, as submitted."""
        return self.folder / f"{self.name}.sh"

    @property
    def log_dir(self) -> Path:
        """Where the scheduler writes its own logs of the array."""
        return scheduler_log_dir(self.folder)


def packed_commands(task_list: Path) -> Path:
    """The folder of a packed array's per-task command files, beside its task list."""
    return task_list.with_name(task_list.name.removesuffix(TASK_LIST_SUFFIX) + ".jobs")


def scheduler_log_dir(folder: Path) -> Path:
    """Scheduler logs of every array in a backend's folder (``scheduler_dir``)."""
    return folder / SCHEDULER_LOG_DIR_NAME


def submitted_arrays(internal_dir: Path, scheduler: str) -> set[str]:
    """Names of the arrays a backend submitted for an experiment (from its task lists)."""
    return {p.stem for p in scheduler_dir(internal_dir, scheduler).glob(f"*{TASK_LIST_SUFFIX}")}
