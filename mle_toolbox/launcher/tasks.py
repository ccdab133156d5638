"""Turn planned jobs into concrete tasks: command line, working dir, job files."""

from __future__ import annotations

import sys
from pathlib import Path

from ..spec import JobSpec, JobTask

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from ..config.expand import Plan
    from ..files.layout import ExperimentLayout


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
    return _TaskMaker(plan, layout=layout, python=python or interpreter(plan)).task(job)


def make_tasks(plan: Plan, *, layout: ExperimentLayout,
               jobs: tuple[JobSpec, ...]) -> list[JobTask]:
    """Tasks for ``jobs``; what runs share is computed once per run, not per job."""
    maker = _TaskMaker(plan, layout=layout, python=interpreter(plan))
    return [maker.task(job) for job in jobs]


class _TaskMaker:
    """Builds tasks with per-run paths cached (planning 100,000 jobs stays fast)."""

    def __init__(self, plan: Plan, *, layout: ExperimentLayout, python: list[str]) -> None:
        meta = plan.meta
        self.meta = meta
        self.layout = layout
        self.internal_dir = layout.internal_dir
        self.head = (*python, str(meta.train_script))
        env = [("PYTHONUNBUFFERED", "1")]
        if meta.environment.conda_env:
            env.append(("MLE_CONDA_ENV", meta.environment.conda_env))
        if meta.environment.venv:
            env.append(("MLE_VENV", str(meta.environment.venv)))
        self.env = tuple(env)
        self.runs: dict[str, tuple[str, str, Path]] = {}

    def task(self, job: JobSpec) -> JobTask:
        run = self.runs.get(job.run_id)
        if run is None:
            run_dir = self.layout.run_dir(job.run_id)
            jobs_dir = self.layout.job(job.run_id, 0).job_dir.parent
            run = (str(self.layout.run_config(job.run_id)), str(run_dir), jobs_dir)
            self.runs[job.run_id] = run
        config, run_dir_text, jobs_dir = run
        meta = self.meta
        return JobTask(
            job=job, name=f"{meta.job_name}-{job.job_id}",
            argv=(*self.head, "-config", config, "-seed", str(job.seed), "-exp_dir",
                  run_dir_text, *meta.extra_args),
            # One join per job: the run's jobs/ folder is made once per run.
            cwd=meta.base_dir, job_dir=jobs_dir / f"seed_{job.seed}",
            resources=meta.resources, environment=meta.environment, env=self.env,
            internal_dir=self.internal_dir, sweep_name=meta.job_name,
        )
