"""The stages every ``mle run`` launch goes through, each written once.

A static sweep (``launch.py``: one batch) and an adaptive search (``search/loop.py``:
batch after batch, proposed from the results so far) run the same stages:

- ``locked``: the experiment lock and ``launcher.log`` for the whole launch;
- ``settle``: what to skip, re-attach, run and cancel (``decide``), carried out;
- ``history_row``: the launch's row in the experiment history;
- ``run_with_progress``: the jobs through the job table, with the progress line;
- ``write_results``: summary.json of every run and report.json;
- ``print_summary`` and ``close_launch``: counts, failures, detach notice, report;
- ``post_process``: ``post_process_args`` evaluations after the sweep.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ..files.atomic import write_json_atomic
from ..files.documents import JobOutcome, PlanDocument, ReportDocument, SummaryDocument
from ..spec import JobResult, JobState
from .decide import Decision, ResumeFlags, carry_out, decide, gather
from .history import Recording, database_path, launch_fields, recording
from .jobtable import JobTable
from .launcher_log import log
from .lock import ExperimentLock
from .progress import Progress
from .recorded_run import LaunchOptions, print_detached, run_recorded
from .run_types import Hooks, RunReport

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from ..backends.base import Backend
    from ..config.expand import Plan
    from ..files.layout import ExperimentLayout

@contextmanager
def locked(layout: ExperimentLayout, *, debug: bool = False) -> Iterator[None]:
    """Hold the experiment lock and log to launcher.log while a launch runs."""
    with ExperimentLock(layout.lock), launcher_log(layout, debug=debug):
        yield


@contextmanager
def launcher_log(layout: ExperimentLayout, *, debug: bool = False) -> Iterator[None]:
    """Write launcher.log while a launch runs (-d: at debug level; launcher_log.py)."""
    with log.attached(layout.launcher_log, debug=debug):
        yield


def settle(plan: Plan, *, layout: ExperimentLayout, previous: PlanDocument | None,
           backend: Backend, flags: ResumeFlags) -> Decision:
    """Decide what each job of ``plan`` needs (decide.py) and cancel what must stop."""
    table = JobTable.read(layout.job_table)
    try:
        facts = gather(plan, layout=layout, previous=previous, table=table, backend=backend)
        decision = decide(plan, facts=facts, flags=flags)
        carry_out(decision, backend=backend, table=table)
        return decision
    finally:
        if table is not None:
            table.close()


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


def write_results(plan: Plan, *, layout: ExperimentLayout, report: RunReport, backend: str,
                  skipped: list[str]) -> None:
    """summary.json of every run that logged metrics, and report.json of the launch."""
    from ..results.merge import summarize_run  # here: after the jobs, not before the first

    search = plan.meta.search
    maximize = search.eval_metrics if search is not None and search.max_objective else ()
    for run in plan.runs:
        run_dir = layout.run_dir(run.run_id)
        if (run_dir / "logs").is_dir():
            summary = SummaryDocument.from_json(summarize_run(run_dir, maximize=maximize))
            write_json_atomic(layout.summary(run.run_id), summary.to_json())
    counts = {state.value: report.count(state) for state in JobState if report.count(state)}
    document = ReportDocument(
        backend=backend, finished=time.time(), elapsed_s=report.elapsed_s,
        interrupted=report.interrupted, counts=counts, skipped=tuple(skipped),
        detached=tuple(report.detached), jobs=tuple(_outcome(r) for r in report.results))
    write_json_atomic(layout.report, document.to_json())


def _outcome(result: JobResult) -> JobOutcome:
    return JobOutcome(job_id=result.job_id, state=result.state.value,
                      exit_code=result.exit_code, reason=result.reason,
                      duration_s=result.duration_s, stderr_tail=result.stderr_tail)


def print_summary(report: RunReport, *, layout: ExperimentLayout) -> None:
    """Counts, then every job that did not complete with its stderr tail."""
    parts = [f"{report.count(s)} {s.value}" for s in JobState if report.count(s)]
    print(f"mle: {len(report.results)} jobs: {', '.join(parts) or 'none'} "
          f"in {report.elapsed_s:.1f}s")
    for result in report.failed:
        print(f"mle: {result.state.value}: {result.job_id}: {result.reason}", file=sys.stderr)
        for line in result.stderr_tail.splitlines():
            print(f"    | {line}", file=sys.stderr)
    if report.interrupted and not report.detached:
        print(f"mle: {_stopped(report)}; running jobs were stopped. Run the same command "
              "again to rerun what did not complete.", file=sys.stderr)
    print(f"mle: results in {layout.root}")


def _stopped(report: RunReport) -> str:
    name = signal.Signals(report.stopped_by).name
    return "interrupted (Ctrl+C)" if name == "SIGINT" else f"stopped by {name}"


def close_launch(report: RunReport, *, layout: ExperimentLayout, backend: Backend,
                 options: LaunchOptions) -> None:
    """How to follow detached jobs; else the report (unless ``--no-report`` or interrupted)."""
    print_detached(report, layout=layout, backend=backend)
    if options.write_report and not report.interrupted and not report.detached:
        # Imported here: a launch with --no-report (or detached) never loads the report code.
        from ..results.report import report_after_run

        report_after_run(layout)


def post_process(plan: Plan, *, layout: ExperimentLayout, max_running: int) -> int:
    """post_process_args: evaluate every finished job (see evaluate.py); 1 if any failed."""
    if plan.meta.post_process is None:
        return 0
    from .evaluate import evaluate_finished

    return evaluate_finished(layout, post=plan.meta.post_process, cwd=plan.meta.base_dir,
                        jobs=[(job.run_id, job.seed) for job in plan.jobs],
                        max_running=max_running)
