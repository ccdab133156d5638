"""The launch of ``mle run``: prepare the experiment directory, run, summarize; dry runs."""

from __future__ import annotations

import sys
from collections.abc import Callable

from ..files.layout import ExperimentLayout
from ..search import is_adaptive
from ..spec import hms
from .packing import packed
from .prepare import existing_plan, prepare, split_done
from .processing import describe as describe_processing
from .tasks import make_tasks

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from ..backends.base import Backend
    from ..config.expand import Plan
    from ..config.meta_types import MetaConfig
    from ..files.documents import PlanDocument
    from .recorded_run import LaunchOptions

DRY_RUN_JOBS_SHOWN = 20


def dry_run(plan: Plan, *, backend: Backend, max_running: int | None,
            show_all: bool) -> None:
    """What ``mle run --dry-run`` prints (an adaptive search: its next batch); writes nothing."""
    layout = ExperimentLayout(plan.meta.experiment_dir)
    if _adaptive(plan):  # its jobs are proposed batch by batch: show the next
        from ..search.loop import next_batch

        plan = next_batch(plan, layout=layout, backend=backend)
    print_plan(plan, layout=layout, backend=backend,
               max_running=_max_running(plan, backend=backend, given=max_running),
               previous=existing_plan(plan, layout), show_all=show_all)


def launch(plan: Plan, *, backend: Backend, max_running: int | None,
           options: LaunchOptions) -> int:
    """Run (or resume) the experiment of ``plan``; returns the exit code of ``mle run``."""
    meta = plan.meta
    layout = ExperimentLayout(meta.experiment_dir)
    existing_plan(plan, layout)  # another experiment's directory is refused at once
    if meta.search is not None:
        print(f"mle: search: {describe_search(meta)}", flush=True)
    if _adaptive(plan):
        from ..search.loop import run_search

        # Batches are not known yet: the default concurrency is computed per batch.
        return with_processing(meta, layout=layout, backend=backend, options=options,
                               launch=lambda: run_search(
                                   plan, layout=layout, backend=backend,
                                   max_running=max_running or meta.max_running,
                                   options=options))

    # What runs jobs is imported here: a dry run (the planning of 20,000 configs) needs none.
    from .pipeline import locked

    def sweep() -> int:
        with locked(layout, debug=options.debug):
            return _launch(plan, layout=layout, backend=backend,
                           max_running=_max_running(plan, backend=backend, given=max_running),
                           options=options)

    return with_processing(meta, layout=layout, backend=backend, options=options,
                           launch=sweep)


def with_processing(meta: MetaConfig, *, layout: ExperimentLayout, backend: Backend,
                    options: LaunchOptions, launch: Callable[[], int]) -> int:
    """pre_processing_args before ``launch``, post_processing_args after it (each one job
    on the same backend; a failed one makes the exit code 1, a failed pre-processing job
    also keeps the sweep from starting)."""
    from .processing import run_processing

    stages = {job.stage: job for job in meta.processing}
    pre, post = stages.get("pre_processing"), stages.get("post_processing")
    if pre is not None:
        layout.root.mkdir(parents=True, exist_ok=True)
        if not run_processing(pre, meta=meta, layout=layout, backend=backend):
            print("mle: the experiment's jobs were not started (pre-processing failed)",
                  file=sys.stderr)
            return 1
    code = launch()
    if post is None or code >= 128 or options.detach:
        return code  # interrupted or jobs still running: nothing to post-process yet
    return code if run_processing(post, meta=meta, layout=layout, backend=backend) else 1


def _adaptive(plan: Plan) -> bool:
    return is_adaptive(plan.meta.search)


def _max_running(plan: Plan, *, backend: Backend, given: int | None) -> int:
    meta = plan.meta
    return (given or meta.max_running
            or backend.default_max_running(meta.resources, jobs=len(plan.jobs)))


def _launch(plan: Plan, *, layout: ExperimentLayout, backend: Backend, max_running: int,
            options: LaunchOptions) -> int:
    from .launcher_log import DEBUG, log  # as what runs jobs: a dry run logs nothing
    from .pipeline import (
        close_launch,
        history_row,
        post_process,
        print_summary,
        run_with_progress,
        settle,
        write_results,
    )
    from .recorded_run import print_decision

    previous = existing_plan(plan, layout)  # again, now that we hold the lock
    decision = settle(plan, layout=layout, previous=previous, backend=backend,
                      flags=options.flags)
    prepare(plan, layout=layout, previous=previous, todo=decision.todo,
            meta_text=plan.meta.path.read_text(encoding="utf-8"))
    for note in plan.notes:
        print(f"mle: note: {note}")
    print_decision(decision, total=len(plan.jobs))
    plan = _packing(plan, layout=layout, backend=backend, jobs=len(decision.todo))
    print(f"mle: running {len(decision.todo)} jobs on {backend.name}, at most {max_running} "
          f"at once; results in {layout.root}", flush=True)
    log.info("launch: %d jobs to run, %d done earlier, %d re-attached", len(decision.todo),
             len(decision.done), len(decision.attach))
    if log.enabled(DEBUG):  # -d/--debug (mle-toolbox 0.3.x): every job
        for job in decision.todo:
            log.debug("to run: %s (config hash %s)", job.job_id, job.config_hash)
    total = len(decision.todo) + len(decision.attach)
    with history_row(plan, layout=layout, backend=backend, options=options, total=total,
                     skipped=len(decision.done)) as entry:
        report = run_with_progress(plan, layout=layout, backend=backend,
                                   max_running=max_running, decision=decision, options=options)
        entry.finish(report)
    write_results(plan, layout=layout, report=report, backend=backend.name,
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
    evaluations_failed = post_process(plan, layout=layout, max_running=max_running)
    return 1 if report.failed or decision.failed or evaluations_failed else 0


def print_plan(plan: Plan, *, layout: ExperimentLayout, backend: Backend, max_running: int,
               previous: PlanDocument | None, show_all: bool) -> None:
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
    if done and _code_changed(previous, plan=plan):
        print(f"note        the training script changed since the last launch: its {len(done)} "
              "completed jobs are stale and run again (--keep-stale keeps them)")
    if meta.search is not None:
        print(f"search      {describe_search(meta)}")
    plan = _packing(plan, layout=layout, backend=backend, jobs=len(todo))
    meta = plan.meta
    line = _describe_packing(meta, jobs=len(todo), backend=backend)
    if line:
        print(f"packing     {line}")
    for job in meta.processing:
        print(f"processing  {describe_processing(job, meta=meta, layout=layout)}")
    if meta.post_process is not None:
        post = meta.post_process
        print(f"eval        {post.script} on each finished job after the sweep (checkpoint "
              f"{post.checkpoint}, at most {post.timeout_s}s each)")
    shown = len(todo) if show_all else min(len(todo), DRY_RUN_JOBS_SHOWN)
    # Backends that show scripts render every job's; otherwise only the listed ones are built.
    scripts = backend.shows_scripts_in_dry_run
    tasks = make_tasks(plan, layout=layout, jobs=todo if scripts else todo[:shown])
    import shlex  # here: only a dry run prints commands (a launch never loads it)

    for task in tasks[:shown]:
        print(f"  {task.job_id}\n    cwd     {task.cwd}\n    command {shlex.join(task.argv)}"
              f"\n    files   {task.job_dir}/")
    if shown < len(todo):
        print(f"  ... and {len(todo) - shown} more jobs (--all lists every job)")
    if scripts and tasks:
        rendered = backend.scripts(tasks, max_running=max_running)
        print(f"arrays      {len(rendered)} array job(s), "
              f"{-(-len(tasks) // plan.meta.resources.jobs_per_task)} task(s) in all")
        _print_scripts(rendered)


def _code_changed(previous: PlanDocument | None, *, plan: Plan) -> bool:
    from .decide import code_changed  # only asked when earlier jobs completed

    return code_changed(previous, plan=plan)


def _packing(plan: Plan, *, layout: ExperimentLayout, backend: Backend, jobs: int) -> Plan:
    """``jobs_per_task: auto`` resolved (launcher/packing.py) where the backend packs jobs."""
    if not backend.packs_jobs:
        return plan
    return packed(plan, layout=layout, jobs=jobs)


def _describe_packing(meta: MetaConfig, *, jobs: int, backend: Backend) -> str | None:
    """How many jobs each array task runs, and how many tasks that makes (packed only)."""
    size = meta.resources.jobs_per_task
    if not backend.packs_jobs or (size == 1 and not meta.packing.auto):
        return None
    how = "auto: " if meta.packing.auto else ""
    limit = meta.resources.time_limit_s
    each = f"; each job keeps its time limit {hms(limit)}" if limit else ""
    return (f"{size} jobs per array task ({how}single_job_args.jobs_per_task): "
            f"{-(-jobs // size)} tasks run {jobs} jobs one after another{each}")


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
    import shlex

    if scripts:  # -h / --hold below: a reader copying the command needs to know why
        print("release     each array is submitted held and released once the job table "
              "has its ids (qrls / scontrol release)")
    for argv, text in scripts:
        print(f"submit      {shlex.join(argv)} SCRIPT\n--- SCRIPT\n{text}---")


def _describe_resources(meta: MetaConfig) -> str:
    res = meta.resources
    memory = f"{res.memory_mb}MB" if res.memory_mb else (
        f"{res.memory_per_cpu_mb}MB/cpu" if res.memory_per_cpu_mb else "-")
    env = meta.environment
    where = f"conda env {env.conda_env}" if env.conda_env else (
        f"venv {env.venv}" if env.venv else f"python {sys.executable}")
    limit = hms(res.time_limit_s) if res.time_limit_s else "-"
    return (f"cores={res.cores} gpus={res.gpus} memory={memory} time={limit} "
            f"queue={res.queue or '-'} ({where})")
