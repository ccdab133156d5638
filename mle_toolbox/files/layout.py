"""The only module that knows file names on disk.

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
                               attempts/<k>/ (files of earlier attempts)
      .mle/jobs.sqlite         job table: every submission, native id, state
      .mle/<scheduler>/        a cluster backend's arrays: <name>.tasks (job dirs),
                               <name>.sh (the script), out/ (scheduler logs)

Nothing here touches the disk except ``archive_attempt`` and ``submitted_arrays``;
everything else is path arithmetic, so the per-job wrapper imports it for free. The
job's own side (``MLExperiment``) uses ``jobpaths.JobPaths``, the same paths as strings:
this module never imports pathlib itself, and a job's start does not pay for it (issue 18).
The readers of a job's files live beside it in ``jobfiles.py``; the job wrapper
(``templates/job_wrapper.sh``) writes the same names (tests/test_layout.py checks).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing's flag without importing typing on a job's import path (issue 18)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

CONFIG_SUFFIX = ".json"
# Experiment history: one SQLite file per project folder (the meta YAML's folder).
HISTORY_DB_ENV = "MLE_HISTORY_DB"


def history_db(project_dir: Path) -> Path:
    """Default experiment-history database of a project folder."""
    return project_dir / ".mle" / "history.sqlite"


# Names of a job's own files inside its job dir (JobTask uses them too).
STDOUT_NAME = "stdout.log"
STDERR_NAME = "stderr.log"
EXIT_CODE_NAME = "exit_code"
STATUS_NAME = "status.json"
ARGV_NAME = "argv"  # NUL-separated command, read by the wrapper of an array task
REQUEUE_NAME = "requeue"  # written by a job that asks to be requeued
ATTEMPTS_DIR_NAME = "attempts"
# Exit status of the wrapper of a job that asked to be requeued (JOB_DIR/requeue): Grid
# Engine puts such a job back into the queue; the runner resubmits it on other backends.
REQUEUE_EXIT = 99
# Written by `mle cancel` into a job dir before it stops the job: a launcher that then sees
# the job end records it cancelled, not failed. Archived with the attempt's other files.
CANCELLED_NAME = "cancelled"
# A cluster backend's folder in the experiment's .mle/: <name>.tasks, <name>.sh, out/.
TASK_LIST_SUFFIX = ".tasks"
SCHEDULER_LOG_DIR_NAME = "out"
# flock'd by the job wrapper for as long as a run of the job is alive (templates/job_wrapper.sh
# names it too): a second run of the same job folder exits 75 at once.
LIVE_LOCK_NAME = ".live"
DUPLICATE_RUN_EXIT = 75
# A packed array task (templates/pack_task.sh) runs several jobs one after another: it
# writes .started into a job dir as it starts that job (its siblings still waiting read
# as pending), and skips a job whose dir holds .stop (the launcher stopped that job only).
# Both are removed when the job is submitted again.
STARTED_NAME = ".started"
STOP_NAME = ".stop"
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


class _Frozen:
    """A frozen value with slots: equality, hash and repr from its fields, in order.

    Not a dataclass: ``dataclasses`` imports ``inspect``, about a third of what importing
    MLExperiment costs, and every job imports this module.
    """

    __slots__: tuple[str, ...] = ()

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of a frozen {type(self).__name__}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Frozen)
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({shown})"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return type(self), self._fields()


class JobFiles(_Frozen):
    """The files of one job inside its job dir (what the wrapper and the job write)."""

    __slots__ = ("job_dir",)
    job_dir: Path

    def __init__(self, job_dir: Path) -> None:
        object.__setattr__(self, "job_dir", job_dir)

    @property
    def stdout(self) -> Path:
        """The job's standard output."""
        return self.job_dir / STDOUT_NAME

    @property
    def stderr(self) -> Path:
        """The job's standard error."""
        return self.job_dir / STDERR_NAME

    @property
    def exit_code(self) -> Path:
        """Written by the job wrapper, atomically, once the command ended."""
        return self.job_dir / EXIT_CODE_NAME

    @property
    def status(self) -> Path:
        """Written by MLExperiment: start, end, host, error."""
        return self.job_dir / STATUS_NAME

    @property
    def argv(self) -> Path:
        """NUL-separated command of the job, for wrappers that read it from disk."""
        return self.job_dir / ARGV_NAME

    @property
    def requeue(self) -> Path:
        """Marker a job writes when it asks to be requeued (job/requeue.py)."""
        return self.job_dir / REQUEUE_NAME

    @property
    def cancelled(self) -> Path:
        """Marker written by ``mle cancel`` before it stops the job."""
        return self.job_dir / CANCELLED_NAME

    @property
    def live_lock(self) -> Path:
        """The wrapper holds an flock on it for as long as anything of a run is alive."""
        return self.job_dir / LIVE_LOCK_NAME

    @property
    def attempts_dir(self) -> Path:
        """Where the files of earlier attempts are kept."""
        return self.job_dir / ATTEMPTS_DIR_NAME

    @property
    def started(self) -> Path:
        """Written by a packed array task when it starts this job."""
        return self.job_dir / STARTED_NAME

    @property
    def stop(self) -> Path:
        """Written by the launcher to stop this job only, not its packed siblings."""
        return self.job_dir / STOP_NAME


class ArrayFiles(_Frozen):
    """The files of one array a cluster backend submits (in ``.mle/<scheduler>/``)."""

    __slots__ = ("folder", "name")
    folder: Path
    name: str

    def __init__(self, folder: Path, name: str) -> None:
        object.__setattr__(self, "folder", folder)
        object.__setattr__(self, "name", name)

    @property
    def task_list(self) -> Path:
        """NUL-separated job dirs: task ``k`` runs the ``k``-th."""
        return self.folder / f"{self.name}{TASK_LIST_SUFFIX}"

    @property
    def commands(self) -> Path:
        """Packed arrays: one file per task (``0``, ``1``, ...) of NUL-separated records,
        job dir, argument count and arguments of each of its jobs."""
        return packed_commands(self.task_list)

    @property
    def script(self) -> Path:
        """The rendered job script, as submitted."""
        return self.folder / f"{self.name}.sh"

    @property
    def log_dir(self) -> Path:
        """Where the scheduler writes its own logs of the array."""
        return scheduler_log_dir(self.folder)


def packed_commands(task_list: Path) -> Path:
    """The folder of a packed array's per-task command files, beside its task list."""
    return task_list.with_name(task_list.name.removesuffix(TASK_LIST_SUFFIX) + ".jobs")


def scheduler_dir(internal_dir: Path, scheduler: str) -> Path:
    """A cluster backend's folder inside an experiment's ``.mle/``."""
    return internal_dir / scheduler


def scheduler_log_dir(folder: Path) -> Path:
    """Scheduler logs of every array in a backend's folder (``scheduler_dir``)."""
    return folder / SCHEDULER_LOG_DIR_NAME


def submitted_arrays(internal_dir: Path, scheduler: str) -> set[str]:
    """Names of the arrays a backend submitted for an experiment (from its task lists)."""
    return {p.stem for p in scheduler_dir(internal_dir, scheduler).glob(f"*{TASK_LIST_SUFFIX}")}


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


def attempt_number(job_dir: Path) -> int:
    """The number of a job's current attempt: one more than the attempts archived.

    The job wrapper counts the same way (``MLE_ATTEMPT``), so the launcher, the job
    table and the script agree on it.
    """
    try:
        taken = [int(p.name) for p in JobFiles(job_dir).attempts_dir.iterdir()
                 if p.name.isdigit()]
    except FileNotFoundError:
        return 1
    return max(taken, default=0) + 1


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
