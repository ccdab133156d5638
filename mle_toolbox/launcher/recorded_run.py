"""One run of jobs through the job table: retries, detach, re-attach.

``pipeline.settle`` decides what each job needs (``decide.py``); this module runs
``decision.todo`` and follows ``decision.attach``, records every submission in
``.mle/jobs.sqlite`` and drives the runner with the retry and interrupt policy.
"""

from __future__ import annotations

import sys

from ..records import field, record
from .decide import Decision, ResumeFlags
from .jobtable import JobTable, TableJournal
from .run_types import Hooks, OnInterrupt, Policy, RunReport
from .runner import run_jobs
from .tasks import make_tasks

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from ..backends.base import Backend
    from ..config.expand import Plan
    from ..files.layout import ExperimentLayout
    from ..spec import JobResult, JobTask


@record
class LaunchOptions:
    """What ``mle run`` / ``mle resume`` flags ask of a launch."""

    flags: ResumeFlags = field(default_factory=ResumeFlags)
    max_retries: int = 0
    cancel_on_interrupt: bool = False
    detach: bool = False  # submit, record, return
    purpose: str | None = None  # kept in the experiment history (--purpose)
    write_report: bool = True  # report.md/.html at the end (not with --no-report)
    record_history: bool = True  # a row in the experiment history (not with -np)
    debug: bool = False  # launcher.log at debug level (-d)


def policy_for(backend: Backend, options: LaunchOptions) -> Policy:
    """Retries from the options; Ctrl+C detaches on cluster backends unless told otherwise."""
    detach = backend.jobs_outlive_launcher and not options.cancel_on_interrupt
    return Policy(max_retries=options.max_retries, submit_only=options.detach,
                  on_interrupt=OnInterrupt.DETACH if detach else OnInterrupt.CANCEL)


def say(text: str) -> None:
    """A launcher message on stderr."""
    print(f"mle: {text}", file=sys.stderr, flush=True)


def print_decision(decision: Decision, *, total: int) -> None:
    """What a relaunch found: skipped, re-attached, lost, kept as failed."""
    if decision.done:
        print(f"mle: {len(decision.done)} of {total} jobs completed earlier with the same "
              "config; skipped")
    if decision.attach:
        print(f"mle: re-attached to {len(decision.attach)} job(s) still queued or running")
    if decision.stale:
        print(f"mle: {len(decision.stale)} job(s) completed earlier with an older version of "
              "the training script: their results are stale, running them again "
              "(--keep-stale keeps them)")
    if decision.lost:
        print(f"mle: {len(decision.lost)} job(s) were lost (their launcher died and "
              f"nothing runs them); running them again: {', '.join(decision.lost[:10])}")
    if decision.cancelled_stale:
        print(f"mle: cancelled {decision.cancelled_stale} live job(s) of an older config")
    if decision.failed:
        ids = ", ".join(j.job_id for j in decision.failed[:10])
        say(f"{len(decision.failed)} job(s) failed earlier and are not rerun ({ids}); "
            "add --rerun-failed to run them again")


def run_recorded(plan: Plan, *, layout: ExperimentLayout, backend: Backend, max_running: int,
                 decision: Decision, options: LaunchOptions,
                 hooks: Hooks | None = None) -> RunReport:
    """Run ``decision.todo`` and follow ``decision.attach``, recording all in the table."""
    table = JobTable.open(layout.job_table)
    try:
        table.set_info(backend=backend.name)
        journal = TableJournal(table, backend=backend.name)
        latest = table.latest()
        journal.adopt((latest[t.job_id] for _, t in decision.attach if t.job_id in latest),
                      job_dirs={t.job_id: t.job_dir for _, t in decision.attach})
        # The caller's on_result / on_start (progress) with the table's own hooks.
        recorded = Hooks(on_result=hooks.on_result if hooks else None,
                         on_start=hooks.on_start if hooks else None, notify=say,
                         journal=journal,
                         on_retry=lambda r, t: _archive_for_retry(r, t, layout=layout))
        tasks = make_tasks(plan, layout=layout, jobs=decision.todo)
        return run_jobs(tasks, backend=backend, max_running=max_running, hooks=recorded,
                        policy=policy_for(backend, options), attached=decision.attach)
    finally:
        table.close()


def _archive_for_retry(result: JobResult, task: JobTask, *, layout: ExperimentLayout) -> None:
    # Keep the failed attempt's logs; the retry starts with fresh files.
    kept = layout.job(task.job.run_id, task.job.seed).archive_attempt()
    where = f"; its files are in {kept}" if kept is not None else ""
    say(f"retrying {result.job_id} after: {result.reason}{where}")


def print_detached(report: RunReport, *, layout: ExperimentLayout, backend: Backend) -> None:
    """How to follow, resume or cancel jobs left running on the scheduler."""
    if not report.detached:
        return
    root = layout.root
    print(f"mle: {len(report.detached)} job(s) keep running on {backend.name}; the job table "
          f"is saved in {layout.job_table}\n"
          f"  follow:  mle status {root}\n"
          f"  resume:  mle resume {root}   (re-attaches, collects results)\n"
          f"  cancel:  mle cancel {root}")
