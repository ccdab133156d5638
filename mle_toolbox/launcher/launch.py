"""``mle run``: validate, plan, prepare the experiment directory, run, summarize."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import shlex
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..backends import get_backend
from ..backends.base import Backend
from ..config.base_configs import load_configs
from ..config.expand import Plan, expand, run_ids
from ..config.meta import MetaConfig, load_meta
from ..config.source import display_name
from ..files.atomic import write_json_atomic
from ..files.layout import ExperimentLayout
from ..results.merge import summarize_run
from ..search import is_adaptive
from ..spec import JobResult, JobState
from . import upstream_flags
from .decide import decide
from .job_options import unused_note
from .jobtable import JobTable
from .lock import ExperimentLock
from .pipeline import close_launch, history_row, run_with_progress
from .prepare import existing_plan, prepare, split_done
from .processing import describe as describe_processing
from .processing import run_processing
from .recorded_run import LaunchOptions, launch_options, print_decision
from .runner import RunReport
from .tasks import make_tasks

log = logging.getLogger("mle_toolbox")
DRY_RUN_JOBS_SHOWN = 20


def run_command(args: argparse.Namespace) -> int:
    """Carry out ``mle run``; returns the exit code."""
    work_dir = getattr(args, "work_dir", None)  # mle resume: where the first launch ran
    meta = load_meta(Path(args.meta), cwd=Path(work_dir) if work_dir else None,
                     overrides=upstream_flags.overrides(args))
    for warning in meta.warnings:
        print(f"mle: warning: {warning}", file=sys.stderr)
    upstream_flags.note_unused(args)
    if not is_adaptive(meta.search) or len(meta.config_files) == 1:
        return _run_meta(args, meta)
    # An adaptive search over a list of base configs: one search per config, one after
    # the other, in experiment_dir/<config name> (as mle-toolbox runs it); grid and
    # random search expand every config into one plan (expand.py).
    names = run_ids(meta.config_files, meta_display=display_name(meta.path))
    code = 0
    for name, config in zip(names, meta.config_files, strict=True):
        print(f"mle: search over base config {display_name(config)} in "
              f"{meta.experiment_dir / name}", flush=True)
        one = dataclasses.replace(meta, config_files=(config,),
                                  experiment_dir=meta.experiment_dir / name)
        code = max(code, _run_meta(args, one))
        if code == 130:  # interrupted: the later searches wait for the next mle run
            break
    return code


def _run_meta(args: argparse.Namespace, meta: MetaConfig) -> int:
    plan = expand(meta, configs=load_configs(meta.config_files))
    backend = get_backend(upstream_flags.backend_name(args) or meta.backend or "local")
    unused = unused_note(meta, backend=backend.name)
    if unused is not None:
        print(f"mle: note: {unused}", file=sys.stderr)
    layout = ExperimentLayout(meta.experiment_dir)
    adaptive = is_adaptive(meta.search)
    if adaptive and args.dry_run:  # its jobs are proposed batch by batch: show the next
        from ..search.loop import next_batch

        plan = next_batch(plan, layout=layout, backend=backend)
    previous = existing_plan(plan, layout)
    max_running = (args.max_running or meta.max_running
                   or backend.default_max_running(meta.resources, jobs=len(plan.jobs)))
    if args.dry_run:
        print_plan(plan, layout=layout, backend=backend, max_running=max_running,
                   previous=previous, show_all=args.all)
        return 0
    options = launch_options(args, meta=meta, backend=backend)
    if meta.search is not None:
        print(f"mle: search: {describe_search(meta)}", flush=True)
    if adaptive:
        from ..search.loop import run_search

        # Batches are not known yet: the default concurrency is computed per batch.
        return with_processing(meta, layout=layout, backend=backend, options=options,
                               launch=lambda: run_search(
                                   plan, layout=layout, backend=backend,
                                   max_running=args.max_running or meta.max_running,
                                   options=options))

    def sweep() -> int:
        with ExperimentLock(layout.lock), _launcher_log(layout, debug=options.debug):
            return _launch(plan, layout=layout, backend=backend, max_running=max_running,
                           options=options)

    return with_processing(meta, layout=layout, backend=backend, options=options,
                           launch=sweep)


def with_processing(meta: MetaConfig, *, layout: ExperimentLayout, backend: Backend,
                    options: LaunchOptions, launch: Callable[[], int]) -> int:
    """pre_processing_args before ``launch``, post_processing_args after it (each one job
    on the same backend; a failed one makes the exit code 1, a failed pre-processing job
    also keeps the sweep from starting)."""
    stages = {job.stage: job for job in meta.processing}
    pre, post = stages.get("pre_processing"), stages.get("post_processing")
    if pre is not None:
        layout.root.mkdir(parents=True, exist_ok=True)
        if not run_processing(pre, meta=meta, layout=layout, backend=backend):
            print("mle: the experiment's jobs were not started (pre-processing failed)",
                  file=sys.stderr)
            return 1
    code = launch()
    if post is None or code == 130 or options.detach:
        return code  # interrupted or jobs still running: nothing to post-process yet
    return code if run_processing(post, meta=meta, layout=layout, backend=backend) else 1


def _launch(plan: Plan, *, layout: ExperimentLayout, backend: Backend, max_running: int,
            options: LaunchOptions) -> int:
    previous = existing_plan(plan, layout)  # again, now that we hold the lock
    decision = decide(plan, layout=layout, previous=previous, backend=backend,
                      table=JobTable.read(layout.job_table), flags=options.flags)
    prepare(plan, layout=layout, previous=previous, todo=decision.todo,
            meta_text=plan.meta.path.read_text(encoding="utf-8"))
    for note in plan.notes:
        print(f"mle: note: {note}")
    print_decision(decision, total=len(plan.jobs))
    print(f"mle: running {len(decision.todo)} jobs on {backend.name}, at most {max_running} "
          f"at once; results in {layout.root}", flush=True)
    log.info("launch: %d jobs to run, %d done earlier, %d re-attached", len(decision.todo),
             len(decision.done), len(decision.attach))
    if log.isEnabledFor(logging.DEBUG):  # -d/--debug (mle-toolbox 0.3.x): every job
        for job in decision.todo:
            log.debug("to run: %s (config hash %s)", job.job_id, job.config_hash)
    total = len(decision.todo) + len(decision.attach)
    with history_row(plan, layout=layout, backend=backend, options=options, total=total,
                     skipped=len(decision.done)) as entry:
        report = run_with_progress(plan, layout=layout, backend=backend,
                                   max_running=max_running, decision=decision, options=options)
        entry.finish(report)
    _write_results(plan, layout=layout, report=report, backend=backend.name,
                   skipped=[j.job_id for j in decision.done])
    if plan.meta.search is not None:
        from ..search.best import report_best

        report_best(plan, layout=layout, report=report)
    print_summary(report, layout=layout)
    close_launch(report, layout=layout, backend=backend, options=options)
    if report.interrupted:
        return report.exit_code
    if report.detached:  # jobs still run: nothing to evaluate yet
        return 1 if decision.failed else 0
    evaluations_failed = _post_process(plan, layout=layout, max_running=max_running)
    return 1 if report.failed or decision.failed or evaluations_failed else 0


def _post_process(plan: Plan, *, layout: ExperimentLayout, max_running: int) -> int:
    """post_process_args: evaluate every finished job (see evaluate.py); 1 if any failed."""
    if plan.meta.post_process is None:
        return 0
    from .evaluate import post_process

    return post_process(layout, post=plan.meta.post_process, cwd=plan.meta.base_dir,
                        jobs=[(job.run_id, job.seed) for job in plan.jobs],
                        max_running=max_running)


def _write_results(plan: Plan, *, layout: ExperimentLayout, report: RunReport, backend: str,
                   skipped: list[str]) -> None:
    search = plan.meta.search
    maximize = search.eval_metrics if search is not None and search.max_objective else ()
    for run in plan.runs:
        run_dir = layout.run_dir(run.run_id)
        if (run_dir / "logs").is_dir():
            summary = summarize_run(run_dir, maximize=maximize)
            write_json_atomic(layout.summary(run.run_id), summary)
    counts = {state.value: report.count(state) for state in JobState if report.count(state)}
    document: dict[str, Any] = {
        "backend": backend, "finished": time.time(), "elapsed_s": report.elapsed_s,
        "interrupted": report.interrupted, "counts": counts, "skipped": skipped,
        "detached": report.detached,
        "jobs": [_job_entry(r) for r in report.results],
    }
    write_json_atomic(layout.report, document)


def _job_entry(result: JobResult) -> dict[str, Any]:
    # stderr_tail: `mle report` lists failed jobs with it long after the launch.
    return {"job_id": result.job_id, "state": result.state.value,
            "exit_code": result.exit_code, "reason": result.reason,
            "duration_s": result.duration_s, "stderr_tail": result.stderr_tail}


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


def print_plan(plan: Plan, *, layout: ExperimentLayout, backend: Backend, max_running: int,
               previous: dict[str, Any] | None, show_all: bool) -> None:
    """What ``mle run`` would do; writes nothing."""
    meta = plan.meta
    done, todo = split_done(plan, layout=layout, previous=previous)
    state = "new" if previous is None else f"existing: {len(done)} completed jobs are skipped"
    print("mle: dry run: nothing is written or started")
    print(f"experiment  {meta.project_name} ({meta.experiment_type.value}) from {meta.path}")
    print(f"directory   {layout.root} ({state})")
    print(f"backend     {backend.name}, at most {max_running} jobs at once")
    print(f"resources   {_describe_resources(meta)}")
    print(f"jobs        {len(todo)} to run: {len(plan.runs)} runs x {len(meta.seeds)} seeds "
          f"(seeds {' '.join(map(str, meta.seeds))})")
    for note in plan.notes:
        print(f"note        {note}")
    if meta.search is not None:
        print(f"search      {describe_search(meta)}")
    for job in meta.processing:
        print(f"processing  {describe_processing(job, meta=meta, layout=layout)}")
    if meta.post_process is not None:
        post = meta.post_process
        print(f"eval        {post.script} on each finished job after the sweep (checkpoint "
              f"{post.checkpoint}, at most {post.timeout_s}s each)")
    shown = len(todo) if show_all else min(len(todo), DRY_RUN_JOBS_SHOWN)
    # Cluster backends render scripts of every job; otherwise only the listed ones are built.
    scripts = getattr(backend, "scripts", None)
    tasks = make_tasks(plan, layout=layout, jobs=todo if scripts else todo[:shown])
    for task in tasks[:shown]:
        print(f"  {task.job_id}\n    cwd     {task.cwd}\n    command {shlex.join(task.argv)}"
              f"\n    files   {task.job_dir}/")
    if shown < len(todo):
        print(f"  ... and {len(todo) - shown} more jobs (--all lists every job)")
    if scripts is not None and tasks:
        _print_scripts(scripts(tasks, max_running=max_running))


def describe_search(meta: MetaConfig) -> str:
    """Search type and objective with its direction (max_objective defaults to true)."""
    search = meta.search
    assert search is not None
    metric = search.eval_metrics[0] if search.eval_metrics else None
    if metric is None:
        return f"{search.spelling or search.search_type}, no objective (no eval_metrics)"
    direction = "maximise" if search.max_objective else "minimise"
    return (f"{search.spelling or search.search_type}, objective {metric}: {direction} "
            "(max_objective: "
            f"{str(search.max_objective).lower()}), {search.aggregate_seeds} over seeds")


def _print_scripts(scripts: list[tuple[list[str], str]]) -> None:
    # Show the job scripts exactly as they would be submitted.
    for argv, text in scripts:
        print(f"submit      {shlex.join(argv)} SCRIPT\n--- SCRIPT\n{text}---")


def _describe_resources(meta: MetaConfig) -> str:
    res = meta.resources
    memory = f"{res.memory_mb}MB" if res.memory_mb else (
        f"{res.memory_per_cpu_mb}MB/cpu" if res.memory_per_cpu_mb else "-")
    env = meta.environment
    where = f"conda env {env.conda_env}" if env.conda_env else (
        f"venv {env.venv}" if env.venv else f"python {sys.executable}")
    return (f"cores={res.cores} gpus={res.gpus} memory={memory} time={res.time_limit or '-'} "
            f"queue={res.queue or '-'} ({where})")


class _launcher_log:  # noqa: N801 - used as a context manager like a function
    """Attach a file handler for launcher.log while a launch runs."""

    def __init__(self, layout: ExperimentLayout, *, debug: bool = False) -> None:
        self.path = layout.launcher_log
        self.level = logging.DEBUG if debug else logging.INFO
        self.handler: logging.Handler | None = None

    def __enter__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handler = logging.FileHandler(self.path, encoding="utf-8")
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(self.handler)
        log.setLevel(self.level)

    def __exit__(self, *exc: object) -> None:
        if self.handler is not None:
            log.removeHandler(self.handler)
            self.handler.close()
