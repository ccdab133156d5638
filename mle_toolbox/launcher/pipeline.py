"""The frame every ``mle run`` launch shares around its jobs.

One history row per launch (``history.recording``), the live progress line around
each run of jobs through the job table (``session.run_recorded``), and at the end
the detach notice and the report (``report_after_run``). ``launch._launch`` runs
one sweep inside it; the adaptive search loop runs many batches inside one row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..backends.base import Backend
from ..config.expand import Plan
from ..files.layout import ExperimentLayout
from ..results.report import report_after_run
from .decide import Decision
from .history import Recording, database_path, launch_fields, recording
from .progress import Progress
from .recorded_run import LaunchOptions, print_detached, run_recorded
from .runner import Hooks, RunReport


@contextmanager
def history_row(plan: Plan, *, layout: ExperimentLayout, backend: Backend,
                options: LaunchOptions, total: int, skipped: int) -> Iterator[Recording]:
    """The launch's row in the experiment history; ``finish`` it with the run report."""
    if not options.record_history:  # -np/--no_protocol: a row that writes nothing
        yield Recording(database_path(plan.meta.base_dir), None)
        return
    fields = launch_fields(plan, layout=layout, backend=backend.name, purpose=options.purpose,
                           total=total, skipped=skipped)
    with recording(path=database_path(plan.meta.base_dir), fields=fields) as entry:
        yield entry


def run_with_progress(plan: Plan, *, layout: ExperimentLayout, backend: Backend,
                      max_running: int, decision: Decision, options: LaunchOptions,
                      ) -> RunReport:
    """``run_recorded`` with the live progress line over the jobs it runs and follows."""
    with Progress(total=len(decision.todo) + len(decision.attach)) as progress:
        return run_recorded(plan, layout=layout, backend=backend, max_running=max_running,
                            decision=decision, options=options,
                            hooks=Hooks(on_result=progress, on_start=progress.started))


def close_launch(report: RunReport, *, layout: ExperimentLayout, backend: Backend,
                 options: LaunchOptions) -> None:
    """How to follow detached jobs; else the report (unless ``--no-report`` or interrupted)."""
    print_detached(report, layout=layout, backend=backend)
    if options.write_report and not report.interrupted and not report.detached:
        report_after_run(layout)
