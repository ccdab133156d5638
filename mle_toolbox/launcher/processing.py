"""Run the pre- and post-processing jobs of an experiment (config/processing.py).

Each is one job on the experiment's backend, through the same runner as the sweep's
jobs (time limit, Ctrl+C, job files). Its files go to
``<experiment_dir>/<stage>/jobs/seed_0/`` (stdout.log, stderr.log, exit_code); an
earlier attempt's files are moved to ``attempts/<k>/`` first.
"""

from __future__ import annotations

import sys

from ..backends.base import Backend
from ..config.meta_types import MetaConfig
from ..config.processing import ProcessingJob
from ..files.layout import ExperimentLayout, JobLayout
from ..spec import JobSpec, JobState, JobTask


def processing_task(job: ProcessingJob, *, meta: MetaConfig,
                    layout: ExperimentLayout) -> JobTask:
    """``python SCRIPT -exp_dir EXPERIMENT_DIR [-key value ...]`` as a task."""
    env = meta.environment
    if job.script.suffix == ".sh":
        head = ["bash"]
    else:  # with an env to activate, ``python`` is the env's one
        head = ["python"] if env.conda_env or env.venv else [sys.executable]
    variables = [("PYTHONUNBUFFERED", "1")]
    if env.conda_env:
        variables.append(("MLE_CONDA_ENV", env.conda_env))
    if env.venv:
        variables.append(("MLE_VENV", str(env.venv)))
    name = f"{meta.job_name}-{job.stage}"
    return JobTask(
        job=JobSpec(run_id=job.stage, seed=0, config_hash=job.stage), name=name,
        argv=(*head, str(job.script), "-exp_dir", str(layout.root), *job.extra_args),
        cwd=meta.base_dir, job_dir=_files(job, layout=layout).job_dir,
        resources=job.resources, environment=env, env=tuple(variables),
        internal_dir=layout.internal_dir, sweep_name=name)


def _files(job: ProcessingJob, *, layout: ExperimentLayout) -> JobLayout:
    return JobLayout(run_dir=layout.root / job.stage, seed=0)


def describe(job: ProcessingJob, *, meta: MetaConfig, layout: ExperimentLayout) -> str:
    """One dry-run line: when, what command, where its files go."""
    import shlex  # here: only a dry run prints commands

    task = processing_task(job, meta=meta, layout=layout)
    when = "before the jobs" if job.stage == "pre_processing" else "after the jobs"
    return f"{job.title} ({when}): {shlex.join(task.argv)}  files {task.job_dir}/"


def run_processing(job: ProcessingJob, *, meta: MetaConfig, layout: ExperimentLayout,
                   backend: Backend) -> bool:
    """Run one processing job to its end; True when it completed (exit code 0)."""
    _files(job, layout=layout).archive_attempt()
    task = processing_task(job, meta=meta, layout=layout)
    task.job_dir.mkdir(parents=True, exist_ok=True)
    print(f"mle: {job.title} job: {job.script.name} on {backend.name}", flush=True)
    from .runner import run_jobs  # a dry run only describes the job

    report = run_jobs([task], backend=backend, max_running=1)
    if report.interrupted or not report.results:
        raise KeyboardInterrupt
    result = report.results[0]
    if result.state is JobState.COMPLETED:
        print(f"mle: {job.title} job completed in {result.duration_s or 0:.1f}s")
        return True
    print(f"mle: {job.title} job {result.state.value}: {result.reason}; its files are in "
          f"{task.job_dir}", file=sys.stderr)
    for line in result.stderr_tail.splitlines():
        print(f"    | {line}", file=sys.stderr)
    return False
