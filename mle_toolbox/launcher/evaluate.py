"""Evaluation of finished runs, for ``mle eval EXP_DIR`` and ``post_process_args``.

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

import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..backends import DEFAULT_BACKEND, get_backend
from ..errors import Interrupted
from ..files.atomic import write_json_atomic
from ..files.documents import SummaryDocument, read_summary
from ..files.jobfiles import read_exit_code
from ..job.checkpoints import CheckpointNotFound, find_checkpoint
from ..results.merge import summarize_run
from ..spec import Environment, JobResult, JobSpec, JobState, JobTask, Resources
from .runner import run_jobs

if TYPE_CHECKING:
    from ..config.meta_types import PostProcess
    from ..files.layout import ExperimentLayout


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
    return JobTask(
        job=JobSpec(run_id=target.run_id, seed=target.seed, config_hash="eval"),
        name=f"eval-{target.run_id}-seed{target.seed}",
        argv=tuple(eval_argv(target, layout=layout, post=post)), cwd=cwd,
        job_dir=layout.eval_job(target.run_id, target.seed).job_dir,
        resources=Resources(time_limit_s=post.timeout_s),
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
    backend = get_backend(DEFAULT_BACKEND)  # evaluations run here, beside the launcher
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
        summary = SummaryDocument.from_json(summarize_run(layout.eval_dir(run_id)))
        write_json_atomic(layout.eval_summary(run_id), summary.to_json())
        path = layout.summary(run_id)
        merged = read_summary(path) or SummaryDocument(run_id=run_id, seeds=(), metrics={})
        merged = replace(merged, eval={"script": str(post.script), "seeds": list(summary.seeds),
                                       "metrics": summary.metrics})
        write_json_atomic(path, merged.to_json())
        print(f"  {run_id}: {_describe_metrics(summary.metrics) or 'no metrics logged'}")
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


def evaluate_finished(layout: ExperimentLayout, *, post: PostProcess, cwd: Path,
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
