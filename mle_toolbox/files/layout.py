"""Where every file of an experiment lies: with jobdir.py and arrayfiles.py, the only
modules that know file names on disk.

::

    <experiment_dir>/
      experiment_config.yaml   copy of the meta YAML
      plan.json                every run and job of the sweep
      report.json              outcome of every job of the last launch
      report.md, report.html   human-readable report (``mle report``; report.pdf too)
      figures/                 its PNG figures (learning curves, heatmap)
      launcher.log             what the launcher did
      search_log.jsonl         adaptive search: proposals and results, per batch
      best_config.json         best evaluation of a search so far
      pareto_front.json        search over several eval metrics: the non-dominated runs
      <run_id>/
        <run_id>.json          resolved config of this run
        summary.json           metrics merged over seeds
        logs/seed_<s>.jsonl    metrics log of one seed (one JSON object per line)
        logs/seed_<s>.meta.json  MLELogger: paths of the model, figures, extra objects
        figures/, extra/       MLELogger.save_plot / save_extra (mle-logging's folders)
        tboards/seed_<s>/      TensorBoard events (log_config.use_tboard)
        checkpoints/seed_<s>/  saved models of one seed (``mle.checkpoint_dir``):
                               final.<ext>, step_<k>.<ext>, index.json
        resume_from/           adaptive search: copy of the parent run's checkpoints/
        eval/                  ``mle eval`` / post_process_args runs, laid out like a run
                               dir: logs/seed_<s>.jsonl, jobs/seed_<s>/, summary.json
        jobs/seed_<s>/         stdout.log stderr.log exit_code status.json argv requeue
                               attempts/<k>/ (files of earlier attempts); their names
                               are in ``jobdir.py``
      .mle/jobs.sqlite         job table: every submission, native id, state
      .mle/<scheduler>/        a cluster backend's arrays: <name>.tasks (job dirs),
                               <name>.sh (the script), out/ (scheduler logs); their
                               names are in ``arrayfiles.py``

Nothing here touches the disk except ``archive_attempt``; everything else is path
arithmetic, so the per-job wrapper imports it for free. The job's own side
(``MLExperiment``) uses ``jobpaths.JobPaths``, the same paths as strings: this module
never imports pathlib itself, and a job's start does not pay for it (issue 18). The
readers of a job's files live beside it in ``jobfiles.py``; the job wrapper
(``templates/job_wrapper.sh``) writes the same names (tests/test_layout.py checks).
"""

from __future__ import annotations

import os

from .jobdir import EXIT_CODE_NAME, JobFiles, _Frozen, attempt_number

TYPE_CHECKING = False  # typing's flag without importing typing on a job's import path (issue 18)
if TYPE_CHECKING:
    from pathlib import Path

CONFIG_SUFFIX = ".json"
# Experiment history: one SQLite file per project folder (the meta YAML's folder).
HISTORY_DB_ENV = "MLE_HISTORY_DB"


def history_db(project_dir: Path) -> Path:
    """Default experiment-history database of a project folder."""
    return project_dir / ".mle" / "history.sqlite"


CHECKPOINT_INDEX_NAME = "index.json"
# What --checkpoint / post_process_args.checkpoint accept: a name or a file name (a
# pattern string: the meta YAML reader checks it without importing job/checkpoints.py).
CHECKPOINT_NAME_PATTERN = r"final|best|last|step_\d+|[\w.-]+\.(?:npz|json|pkl|pt)"
# RUN_DIR/checkpoints/ is the one checkpoint folder of a run: one seed_<s>/ per seed
# (JobLayout.checkpoints_dir); an adaptive search hands the whole folder to the script
# (mle_search.checkpoint_dir) and copies it for the runs that continue from it.
CHECKPOINTS_DIR_NAME = "checkpoints"
EVAL_DIR_NAME = "eval"
LOGS_DIR_NAME = "logs"
JOBS_DIR_NAME = "jobs"


def seed_dir_name(seed: int) -> str:
    """A seed's folder in a run's ``jobs/`` and ``checkpoints/``."""
    return f"seed_{seed}"


def metrics_log_name(seed: int) -> str:
    """A seed's metrics log in a run's ``logs/``."""
    return f"seed_{seed}.jsonl"


def log_meta_name(seed: int) -> str:
    """A seed's MLELogger record in a run's ``logs/``."""
    return f"seed_{seed}.meta.json"


def scheduler_dir(internal_dir: Path, scheduler: str) -> Path:
    """A cluster backend's folder inside an experiment's ``.mle/``."""
    return internal_dir / scheduler


class JobLayout(_Frozen):
    """Paths of one job (one run dir, one seed)."""

    __slots__ = ("run_dir", "seed")
    run_dir: Path
    seed: int

    def __init__(self, run_dir: Path, seed: int) -> None:
        object.__setattr__(self, "run_dir", run_dir)
        object.__setattr__(self, "seed", seed)

    @property
    def logs_dir(self) -> Path:
        """Folder of the run's metrics logs (shared by its seeds)."""
        return self.run_dir / LOGS_DIR_NAME

    @property
    def metrics_log(self) -> Path:
        """Append-only JSON-lines metrics log of this seed."""
        return self.logs_dir / metrics_log_name(self.seed)

    @property
    def log_meta(self) -> Path:
        """MLELogger's record of the model, figure and extra-object paths of this seed."""
        return self.logs_dir / log_meta_name(self.seed)

    @property
    def job_dir(self) -> Path:
        """Folder with this job's own files."""
        return self.run_dir / JOBS_DIR_NAME / seed_dir_name(self.seed)

    @property
    def files(self) -> JobFiles:
        """The job's own files in its job dir."""
        return JobFiles(self.job_dir)

    @property
    def stdout(self) -> Path:
        """The job's standard output."""
        return self.files.stdout

    @property
    def stderr(self) -> Path:
        """The job's standard error."""
        return self.files.stderr

    @property
    def exit_code(self) -> Path:
        """Written by the job wrapper, atomically, once the command ended."""
        return self.files.exit_code

    @property
    def status(self) -> Path:
        """Written by MLExperiment: start, end, host, error."""
        return self.files.status

    @property
    def cancelled(self) -> Path:
        """Marker written by ``mle cancel`` before it stops this job."""
        return self.files.cancelled

    @property
    def argv_file(self) -> Path:
        """NUL-separated command of the job, for wrappers that read it from disk."""
        return self.files.argv

    @property
    def checkpoints_dir(self) -> Path:
        """Saved models and checkpoints of this seed, with their ``index.json``."""
        return self.run_dir / CHECKPOINTS_DIR_NAME / seed_dir_name(self.seed)

    @property
    def attempts_dir(self) -> Path:
        """Where the files of earlier attempts are kept."""
        return self.files.attempts_dir

    def attempt_files(self) -> tuple[Path, ...]:
        """Files that belong to one attempt and are archived before the next."""
        return (self.stdout, self.stderr, self.exit_code, self.status, self.metrics_log,
                self.cancelled)

    def archive_attempt(self) -> Path | None:
        """Move the files of the last attempt into ``attempts/<k>/``; never delete.

        Returns the archive folder, or None when there was nothing to archive.
        """
        present = [p for p in self.attempt_files() if p.exists()]
        if not present:
            return None
        target = self.attempts_dir / str(attempt_number(self.job_dir))
        target.mkdir(parents=True)
        for path in present:
            os.replace(path, target / path.name)
        return target


class ExperimentLayout(_Frozen):
    """Paths of one experiment directory."""

    __slots__ = ("root",)
    root: Path

    def __init__(self, root: Path) -> None:
        object.__setattr__(self, "root", root)

    @property
    def meta_copy(self) -> Path:
        """Copy of the meta YAML the experiment was launched from."""
        return self.root / "experiment_config.yaml"

    @property
    def plan(self) -> Path:
        """JSON description of every run and job."""
        return self.root / "plan.json"

    @property
    def report(self) -> Path:
        """Outcome of every job of the last launch."""
        return self.root / "report.json"

    @property
    def report_md(self) -> Path:
        """Markdown report written by ``mle report``."""
        return self.root / "report.md"

    @property
    def report_html(self) -> Path:
        """HTML version of the report, same content."""
        return self.root / "report.html"

    @property
    def report_pdf(self) -> Path:
        """PDF version of the report, same content (``mle report``, needs fpdf2)."""
        return self.root / "report.pdf"

    @property
    def figures_dir(self) -> Path:
        """PNG figures of the report."""
        return self.root / "figures"

    @property
    def launcher_log(self) -> Path:
        """Log of the launcher's own actions."""
        return self.root / "launcher.log"

    @property
    def lock(self) -> Path:
        """Held while a launcher works on this experiment."""
        return self.root / ".mle-lock"

    @property
    def internal_dir(self) -> Path:
        """Files the launcher keeps for itself (task lists, rendered scripts)."""
        return self.root / ".mle"

    @property
    def search_log(self) -> Path:
        """Every proposal and result of an adaptive search (JSON lines)."""
        return self.root / "search_log.jsonl"

    @property
    def best_config(self) -> Path:
        """The best evaluation of a search so far: params, objective, resolved config."""
        return self.root / "best_config.json"

    @property
    def pareto_front(self) -> Path:
        """The Pareto front of a search over several eval metrics (pareto.py)."""
        return self.root / "pareto_front.json"

    def checkpoint_dir(self, run_id: str) -> Path:
        """A run's checkpoint folder, parent of every ``JobLayout.checkpoints_dir`` of it.

        An adaptive search passes it as ``mle_search.checkpoint_dir``.
        """
        return self.root / run_id / CHECKPOINTS_DIR_NAME

    def resume_dir(self, run_id: str) -> Path:
        """Copy of the parent run's checkpoints a search run continues from."""
        return self.root / run_id / "resume_from"

    def scheduler_dir(self, scheduler: str) -> Path:
        """A cluster backend's folder: task lists, scripts and scheduler logs of its arrays."""
        return scheduler_dir(self.internal_dir, scheduler)

    @property
    def job_table(self) -> Path:
        """SQLite table of every submission (jobtable.py)."""
        return self.internal_dir / "jobs.sqlite"

    def run_dir(self, run_id: str) -> Path:
        """Folder of one run; passed to the job as ``-exp_dir``."""
        return self.root / run_id

    def run_config(self, run_id: str) -> Path:
        """Resolved config file of one run."""
        return self.root / run_id / f"{run_id}{CONFIG_SUFFIX}"

    def summary(self, run_id: str) -> Path:
        """Metrics of one run merged over its seeds."""
        return self.root / run_id / "summary.json"

    def job(self, run_id: str, seed: int) -> JobLayout:
        """Layout of one job."""
        return JobLayout(run_dir=self.root / run_id, seed=seed)

    def exit_code_path(self, run_id: str, seed: int) -> str:
        """``job(run_id, seed).exit_code`` as a string, built without a Path per job.

        Looking up the exit codes of 100,000 jobs spends most of its time making Paths.
        """
        return os.path.join(self.root, run_id, JOBS_DIR_NAME, seed_dir_name(seed), EXIT_CODE_NAME)

    @property
    def eval_report(self) -> Path:
        """Outcome and metrics of every evaluation of the last ``mle eval`` / post-process."""
        return self.root / "eval_report.json"

    def eval_dir(self, run_id: str) -> Path:
        """Run-dir-like folder of a run's evaluations (passed to eval scripts as -exp_dir)."""
        return self.root / run_id / EVAL_DIR_NAME

    def eval_summary(self, run_id: str) -> Path:
        """Metrics of a run's evaluations merged over its seeds."""
        return self.eval_dir(run_id) / "summary.json"

    def eval_job(self, run_id: str, seed: int) -> JobLayout:
        """Layout of the evaluation of one job: its metrics log, stdout, stderr, status."""
        return JobLayout(run_dir=self.eval_dir(run_id), seed=seed)
