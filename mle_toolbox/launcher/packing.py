"""``single_job_args.jobs_per_task: auto``: how many jobs one array task runs.

A cluster spends a fraction of a second to seconds dispatching each array task; jobs
of a few seconds then wait on the scheduler, not on the work. Packed, one task runs
several jobs one after another (templates/pack_task.sh), each in its own job folder.
``auto`` aims at tasks of about ``TARGET_TASK_S`` seconds from what one job takes:

- the durations of jobs of this experiment that completed, the median for the target,
  the longest for the time limit: from the start mark of a packed task
  (``JOB_DIR/.started``) to the job's exit_code, else MLExperiment's status.json start
  and end plus ``STARTUP_S`` for the interpreter start it does not see, else the job
  table's submission and end (which overstate it);
- else ``single_job_args.job_duration_hint`` (seconds);
- else nothing is known and each task runs one job (``UNKNOWN_JOBS_PER_TASK``).

Never more than the time limit allows (N x duration <= ``time_per_job``; the task's
scheduler limit is N x ``time_per_job``), never more than ``MAX_AUTO`` jobs, and never
so many that fewer than ``MIN_TASKS`` tasks share the sweep (packing must not take
away the parallelism it is there to make cheap).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence

from ..records import replace
from ..spec import JobState

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from ..config.expand import Plan
    from ..files.layout import ExperimentLayout

TARGET_TASK_S = 30.0
UNKNOWN_JOBS_PER_TASK = 1  # nothing known about the jobs: do not pack
MAX_AUTO = 1000
SAMPLE = 200  # completed jobs read for their durations (bounded file reads)
MIN_DURATION_S = 0.01  # a job's start-up alone takes longer: guards a division by ~0
MIN_TASKS = 16
STARTUP_S = 0.1  # interpreter start and imports before MLExperiment writes its start


def choose_jobs_per_task(*, durations: Sequence[float], hint_s: float | None,
                         time_limit_s: int | None, jobs: int) -> int:
    """How many of ``jobs`` jobs one task runs (a pure function of what is known)."""
    if durations:
        import statistics  # only for jobs_per_task: auto with durations to go by

        typical = max(statistics.median(durations), MIN_DURATION_S)
        longest = max(*durations, MIN_DURATION_S)
    elif hint_s is not None:
        typical = longest = max(hint_s, MIN_DURATION_S)
    else:
        return UNKNOWN_JOBS_PER_TASK
    size = min(int(TARGET_TASK_S // typical), max(1, jobs // MIN_TASKS))
    if time_limit_s is not None:
        size = min(size, int(time_limit_s // longest))
    return max(1, min(size, MAX_AUTO))


def completed_durations(layout: ExperimentLayout) -> list[float]:
    """Seconds each of (at most ``SAMPLE``) completed jobs of the experiment took."""
    from .jobtable import JobTable

    table = JobTable.read_only(layout.job_table)
    if table is None:
        return []
    try:
        done = [r for r in table.latest().values() if r.state == JobState.COMPLETED.value]
    finally:
        table.close()
    out = []
    for record in done[-SAMPLE:]:
        seconds = _status_duration(layout, run_id=record.run_id, seed=record.seed)
        if seconds is None and record.ended is not None and record.submitted is not None:
            seconds = record.ended - record.submitted
        if seconds is not None and seconds >= 0:
            out.append(seconds)
    return out


def _status_duration(layout: ExperimentLayout, *, run_id: str, seed: int) -> float | None:
    files = layout.job(run_id, seed).files
    with contextlib.suppress(OSError):  # a packed task's start mark to the exit code
        return files.exit_code.stat().st_mtime - files.started.stat().st_mtime
    try:  # MLExperiment's status.json: start and end of the script itself
        status = json.loads(files.status.read_text(encoding="utf-8"))
        return float(status["end"]) - float(status["start"]) + STARTUP_S
    except (OSError, ValueError, KeyError, TypeError):
        return None


def packed(plan: Plan, *, layout: ExperimentLayout, jobs: int) -> Plan:
    """``plan`` with ``auto`` resolved into ``resources.jobs_per_task`` for running ``jobs``
    of its jobs; else unchanged."""
    meta = plan.meta
    if not meta.packing.auto:
        return plan
    size = choose_jobs_per_task(durations=completed_durations(layout),
                                hint_s=meta.packing.duration_hint_s,
                                time_limit_s=meta.resources.time_limit_s, jobs=jobs)
    return replace(plan, meta=replace(meta, resources=replace(meta.resources,
                                                              jobs_per_task=size)))
