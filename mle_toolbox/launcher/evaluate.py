"""Evaluation of finished runs: ``mle eval EXP_DIR`` and ``post_process_args``.

For every job whose training completed, the evaluation script runs as::

    python SCRIPT -config RUN_CONFIG -seed S -exp_dir RUN_DIR/eval \\
        -checkpoint CHECKPOINT_FILE -run_dir RUN_DIR [extra -key value ...]

in the meta YAML's folder, as local jobs through ``runner.run_jobs`` (at most
``--max-running`` at once, each stopped at its time limit). A script that
uses MLExperiment then logs to ``RUN_DIR/eval/logs/seed_S.jsonl``; its stdout,
stderr, exit code and status go to ``RUN_DIR/eval/jobs/seed_S/`` (an earlier
evaluation's files move to ``attempts/<k>/``). Afterwards ``RUN_DIR/eval/summary.json``
is written, the same metrics are added to ``RUN_DIR/summary.json`` under ``"eval"``,
and ``EXP_DIR/eval_report.json`` records every evaluation.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..backends import get_backend
from ..backends.base import read_exit_code
from ..config.meta import PostProcess, load_meta
from ..errors import ConfigError, Interrupted
from ..files.atomic import write_json_atomic
from ..files.expdir import open_experiment
from ..files.layout import ExperimentLayout
from ..job.checkpoints import CHECKPOINT_NAME, CheckpointNotFound, find_checkpoint
from ..results.merge import summarize_run
from ..spec import Environment, JobResult, JobSpec, JobState, JobTask, Resources
from .lock import ExperimentLock
from .runner import run_jobs


@dataclass(frozen=True, slots=True)
class EvalTarget:
    """One finished job to evaluate, with the checkpoint file it is given."""

    run_id: str
    seed: int
    checkpoint: Path


@dataclass(frozen=True, slots=True)
class EvalResult:
    """Outcome of one evaluation: its target and a JobResult like a training job's."""

    target: EvalTarget
    result: JobResult

    @property
    def completed(self) -> bool:
        """True when the script exited with code 0."""
        return self.result.state is JobState.COMPLETED


def find_targets(layout: ExperimentLayout, *, jobs: Iterable[tuple[str, int]],
                 checkpoint: str) -> tuple[list[EvalTarget], int]:
    """Evaluation targets of the jobs whose training completed, and how many were skipped.

    Every checkpoint is looked up before anything runs: a missing one raises
    CheckpointNotFound naming each run, seed and folder.
    """
    targets, missing, skipped = [], [], 0
    for run_id, seed in jobs:
        job = layout.job(run_id, seed)
        if read_exit_code(job.exit_code) != 0:
            skipped += 1
            continue
        try:
            path = find_checkpoint(job.checkpoints_dir, checkpoint, run=f"{run_id} seed {seed}")
        except CheckpointNotFound as err:
            missing.append(str(err))
            continue
        targets.append(EvalTarget(run_id=run_id, seed=seed, checkpoint=path))
    if missing:
        raise CheckpointNotFound("\n  ".join(["nothing was evaluated:", *missing]))
    return targets, skipped


def eval_argv(target: EvalTarget, *, layout: ExperimentLayout, post: PostProcess) -> list[str]:
    """The command of one evaluation (an argv list, never a shell string)."""
    head = ["bash"] if post.script.suffix == ".sh" else [sys.executable]
    run_dir = layout.run_dir(target.run_id)
    return [*head, str(post.script), "-config", str(layout.run_config(target.run_id)),
            "-seed", str(target.seed), "-exp_dir", str(layout.eval_dir(target.run_id)),
            "-checkpoint", str(target.checkpoint), "-run_dir", str(run_dir), *post.extra_args]


def eval_task(target: EvalTarget, *, layout: ExperimentLayout, post: PostProcess,
              cwd: Path) -> JobTask:
    """The evaluation of one job as a task for the local backend."""
    limit = post.timeout_s
    return JobTask(
        job=JobSpec(run_id=target.run_id, seed=target.seed, config_hash="eval"),
        name=f"eval-{target.run_id}-seed{target.seed}",
        argv=tuple(eval_argv(target, layout=layout, post=post)), cwd=cwd,
        job_dir=layout.eval_job(target.run_id, target.seed).job_dir,
        resources=Resources(time_limit=f"{limit // 3600:02d}:{limit // 60 % 60:02d}:"
                            f"{limit % 60:02d}"),
        environment=Environment(), env=(("PYTHONUNBUFFERED", "1"),))


def evaluate(layout: ExperimentLayout, *, targets: Sequence[EvalTarget], post: PostProcess,
             cwd: Path, max_running: int | None = None) -> list[EvalResult]:
    """Run the evaluations as local jobs (runner.run_jobs: time limits, Ctrl+C), print one
    line each, then write summaries and the report.

    An earlier evaluation's files move to ``attempts/<k>/`` first. Raises
    KeyboardInterrupt after writing the report when interrupted.
    """
    from .progress import Progress  # the launcher's own progress lines

    for target in targets:
        layout.eval_job(target.run_id, target.seed).archive_attempt()
    tasks = [eval_task(t, layout=layout, post=post, cwd=cwd) for t in targets]
    backend = get_backend("local")
    report = run_jobs(tasks, backend=backend, on_result=Progress(total=len(tasks)),
                      max_running=max_running or backend.default_max_running(
                          Resources(), jobs=len(tasks)))
    results = [EvalResult(t, r) for t, r in zip(targets, report.results, strict=True)]
    write_eval_results(layout, results=results, post=post)
    if report.interrupted:
        raise Interrupted(report.stopped_by)
    return results


def write_eval_results(layout: ExperimentLayout, *, results: Sequence[EvalResult],
                       post: PostProcess) -> None:
    """eval/summary.json per run, its metrics under "eval" in summary.json, eval_report.json."""
    for run_id in dict.fromkeys(r.target.run_id for r in results):
        summary = summarize_run(layout.eval_dir(run_id))
        write_json_atomic(layout.eval_dir(run_id) / "summary.json", summary)
        path = layout.summary(run_id)
        merged = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {
            "run_id": run_id}
        merged["eval"] = {"script": str(post.script), "seeds": summary["seeds"],
                          "metrics": summary["metrics"]}
        write_json_atomic(path, merged)
        print(f"  {run_id}: {_describe_metrics(summary['metrics']) or 'no metrics logged'}")
    write_json_atomic(layout.eval_report, {
        "script": str(post.script), "checkpoint": post.checkpoint, "finished": time.time(),
        "evaluations": [_report_row(r) for r in results]})


def _describe_metrics(metrics: dict[str, Any]) -> str:
    """``acc 0.9987 ± 0.0013, nll 0.0022 ± 0.0008``: final values, mean ± std over seeds."""
    parts = []
    for name, kinds in metrics.items():
        final = kinds["final"]
        if final["mean"] is not None:
            parts.append(f"{name} {final['mean']:.4g} ± {final['std']:.2g}")
    return ", ".join(parts)


def _report_row(evaluation: EvalResult) -> dict[str, Any]:
    target, result = evaluation.target, evaluation.result
    return {"run_id": target.run_id, "seed": target.seed, "checkpoint": str(target.checkpoint),
            "state": result.state.value, "exit_code": result.exit_code,
            "duration_s": result.duration_s, "reason": result.reason}


def print_eval_summary(results: Sequence[EvalResult], *, layout: ExperimentLayout) -> None:
    """Counts, the failures with their stderr tail, and where the metrics are."""
    done = sum(e.completed for e in results)
    print(f"mle: {len(results)} evaluations: {done} completed, {len(results) - done} not")
    for result in (e.result for e in results if not e.completed):
        print(f"mle: eval {result.state.value}: {result.job_id}: {result.reason}",
              file=sys.stderr)
        for line in result.stderr_tail.splitlines():
            print(f"    | {line}", file=sys.stderr)
    print(f"mle: eval metrics in {layout.root}/<run_id>/eval/ and summary.json")


def post_process(layout: ExperimentLayout, *, post: PostProcess, cwd: Path,
                 jobs: Iterable[tuple[str, int]], max_running: int) -> int:
    """Evaluate ``jobs`` after a sweep (``post_process_args``); returns 0 or 1."""
    targets, _ = find_targets(layout, jobs=jobs, checkpoint=post.checkpoint)
    if not targets:
        print("mle: post-processing: no job finished training; nothing to evaluate")
        return 0
    print(f"mle: post-processing: {post.script.name} on {len(targets)} finished jobs",
          flush=True)
    results = evaluate(layout, targets=targets, post=post, cwd=cwd, max_running=max_running)
    print_eval_summary(results, layout=layout)
    return 0 if all(e.completed for e in results) else 1


def eval_command(args: argparse.Namespace) -> int:
    """Carry out ``mle eval EXP_DIR [--checkpoint NAME] [--script FILE] [--timeout S]
    [--max-running N]``."""
    experiment = open_experiment(args.exp_dir)
    layout, meta_path = experiment.layout, experiment.meta_path
    post = _eval_settings(args, meta_path=meta_path, plan=experiment.plan)
    jobs = [(run_id, seed) for run_id, seed, _ in experiment.jobs()]
    project = experiment.project_dir  # where the launch ran its jobs (config/paths.py)
    cwd = project if project.is_dir() else layout.root
    with ExperimentLock(layout.lock):
        targets, skipped = find_targets(layout, jobs=jobs, checkpoint=post.checkpoint)
        if skipped:
            print(f"mle: {skipped} jobs did not complete training; not evaluated")
        if not targets:
            print("mle: no finished jobs to evaluate", file=sys.stderr)
            return 1
        results = evaluate(layout, targets=targets, post=post, cwd=cwd,
                           max_running=args.max_running)
    print_eval_summary(results, layout=layout)
    return 0 if all(e.completed for e in results) else 1


def _eval_settings(args: argparse.Namespace, *, meta_path: Path,
                   plan: dict[str, Any]) -> PostProcess:
    """post_process_args of the experiment's meta YAML, overridden by the flags."""
    work_dir = plan.get("work_dir")  # read the YAML as its launch did (relative paths)
    cwd = Path(work_dir) if isinstance(work_dir, str) and Path(work_dir).is_dir() else None
    post = load_meta(meta_path, cwd=cwd).post_process if meta_path.is_file() else None
    if args.script is not None:
        script = Path(args.script).absolute()
        if not script.is_file():
            raise ConfigError(f"evaluation script {args.script!r} does not exist",
                              key="--script")
        post = replace(post, script=script) if post else PostProcess(script=script)
    if post is None:
        raise ConfigError(f"no evaluation script: give --script FILE, or post_process_args."
                          f"process_fname in {meta_path}", key="--script")
    if args.checkpoint is not None:
        if not CHECKPOINT_NAME.fullmatch(args.checkpoint):
            raise ConfigError("expected final, best, last, step_<k> or a checkpoint file "
                              f"name, got {args.checkpoint!r}", key="--checkpoint")
        post = replace(post, checkpoint=args.checkpoint)
    if args.timeout is not None:
        post = replace(post, timeout_s=args.timeout)
    return post
