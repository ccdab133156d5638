"""Native ids of packed jobs (single_job_args.jobs_per_task): ``<task id>@<k>``.

The k-th job (from 1) of an array task that runs several jobs one after another has
its task's id (``123.4``, ``123_4``), ``@`` and k. Small and import-free: ``mle
monitor`` places packed jobs by their task's state in the queue listing with it.
"""

from __future__ import annotations

from collections.abc import Sequence

PACK_SEP = "@"


def member_ids(task_ids: Sequence[str], *, jobs: int, size: int) -> list[str]:
    """The native id of each of ``jobs`` jobs run ``size`` per task by tasks ``task_ids``."""
    if size == 1:
        return list(task_ids[:jobs])
    return [f"{task_ids[i // size]}{PACK_SEP}{i % size + 1}" for i in range(jobs)]


def task_of(native_id: str) -> str:
    """The scheduler's id of the array task that runs the job ``native_id``."""
    return native_id.split(PACK_SEP, 1)[0]


def is_packed(native_id: str) -> bool:
    """The job shares its array task with other jobs."""
    return PACK_SEP in native_id
