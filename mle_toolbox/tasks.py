"""Turn planned jobs into concrete tasks: command line, working dir, job files."""

from __future__ import annotations

import sys

from .expand import Plan
from .layout import ExperimentLayout
from .spec import JobSpec, JobTask


def interpreter(plan: Plan) -> list[str]:
    """How to start the train script: bash for .sh, else Python.

    With an environment to activate on the node, ``python`` is looked up after the
    activation; otherwise the launcher's own interpreter runs the job.
    """
    if plan.meta.train_script.suffix == ".sh":
        return ["bash"]
    env = plan.meta.environment
    return ["python"] if env.conda_env or env.venv else [sys.executable]


def make_task(plan: Plan, *, layout: ExperimentLayout, job: JobSpec,
              python: list[str] | None = None) -> JobTask:
    """The JobTask for one job of ``plan``."""
    meta = plan.meta
    files = layout.job(job.run_id, job.seed)
    argv = (
        *(python or interpreter(plan)), str(meta.train_script),
        "-config", str(layout.run_config(job.run_id)), "-seed", str(job.seed),
        "-exp_dir", str(layout.run_dir(job.run_id)), *meta.extra_args,
    )
    env = [("PYTHONUNBUFFERED", "1")]
    if meta.environment.conda_env:
        env.append(("MLE_CONDA_ENV", meta.environment.conda_env))
    if meta.environment.venv:
        env.append(("MLE_VENV", str(meta.environment.venv)))
    return JobTask(
        job=job, name=f"{meta.job_name}-{job.job_id}", argv=argv, cwd=meta.base_dir,
        job_dir=files.job_dir, stdout=files.stdout, stderr=files.stderr,
        exit_code_file=files.exit_code, resources=meta.resources,
        environment=meta.environment, env=tuple(env),
    )


def make_tasks(plan: Plan, *, layout: ExperimentLayout,
               jobs: tuple[JobSpec, ...]) -> list[JobTask]:
    """Tasks for ``jobs``, sharing one interpreter lookup."""
    python = interpreter(plan)
    return [make_task(plan, layout=layout, job=job, python=python) for job in jobs]
