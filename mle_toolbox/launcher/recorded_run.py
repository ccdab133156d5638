"""One launch of a sweep with its job table: resume decisions, retries, detach.

``launch.py`` validates and prepares; this module decides what each job needs
(``resume.decide``), records every submission in ``.mle/jobs.sqlite`` and drives
the runner with the retry and interrupt policy.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field

from ..backends.base import Backend
from ..config.expand import Plan
from ..config.meta import MetaConfig
from ..errors import ConfigError
from ..files.layout import ExperimentLayout
from ..spec import JobResult, JobTask
from . import upstream_flags
from .decide import Decision, ResumeFlags
from .jobtable import JobTable, TableJournal
from .runner import Hooks, OnInterrupt, Policy, RunReport, run_jobs
from .tasks import make_tasks

CLUSTER_HINT = "cluster backends only (sge, sge-drmaa, slurm)"


@dataclass(frozen=True, slots=True)
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


def launch_options(args: argparse.Namespace, *, meta: MetaConfig,
                   backend: Backend) -> LaunchOptions:
    """LaunchOptions from ``mle run`` / ``mle resume`` arguments and the meta YAML."""
    detach = bool(getattr(args, "detach", False))
    if detach and not is_cluster(backend):
        raise ConfigError(f"needs a scheduler that keeps jobs running without "
                          f"mle: {CLUSTER_HINT}; the local backend stops jobs with it",
                          key="--detach")
    retries = getattr(args, "max_retries", None)
    return LaunchOptions(
        flags=ResumeFlags(rerun_failed=bool(getattr(args, "rerun_failed", False)),
                          force=bool(getattr(args, "force", False))),
        max_retries=meta.max_retries if retries is None else retries,
        cancel_on_interrupt=bool(getattr(args, "cancel_on_interrupt", False)), detach=detach,
        purpose=upstream_flags.purpose(args),
        write_report=not getattr(args, "no_report", False),
        record_history=not getattr(args, "no_protocol", False),
        debug=bool(getattr(args, "debug", False)))


def is_cluster(backend: Backend) -> bool:
    """Jobs outlive the launcher: they can be detached from and re-attached to."""
    return backend.name != "local"


def policy_for(backend: Backend, options: LaunchOptions) -> Policy:
    """Retries from the options; Ctrl+C detaches on cluster backends unless told otherwise."""
    detach = is_cluster(backend) and not options.cancel_on_interrupt
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
        journal.adopt(latest[t.job_id] for _, t in decision.attach if t.job_id in latest)
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
