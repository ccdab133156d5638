"""Frozen value types shared by the planner, the runner and every backend."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .files.layout import (
    CANCELLED_NAME,
    EXIT_CODE_NAME,
    STATUS_NAME,
    STDERR_NAME,
    STDOUT_NAME,
)


class JobState(enum.Enum):
    """Life cycle of one job (one config x one seed)."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        """True once the job can no longer change state."""
        return self in _FINAL


_FINAL = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED})


class ExperimentType(enum.Enum):
    """The three experiment types of mle-toolbox meta YAMLs."""

    SINGLE_CONFIG = "single-config"
    MULTIPLE_CONFIGS = "multiple-configs"
    HYPERPARAMETER_SEARCH = "hyperparameter-search"


@dataclass(frozen=True, slots=True)
class Resources:
    """What one job asks for, in scheduler-neutral terms; backends map them."""

    cores: int = 1
    gpus: int = 0
    memory_mb: int | None = None
    memory_per_cpu_mb: int | None = None
    time_limit: str | None = None  # "HH:MM:SS"
    queue: str | None = None
    project: str | None = None
    extra_directives: tuple[str, ...] = ()
    # mle-scheduler's single_job_args, used by the SGE and Slurm scripts:
    gpu_type: str | None = None  # --gres=gpu:TYPE:N / -l gputype=TYPE
    exclude_nodes: tuple[str, ...] = ()  # --exclude / -l hostname=!a&!b
    include_nodes: tuple[str, ...] = ()  # --nodelist / -l hostname=a|b
    modules: tuple[str, ...] = ()  # modules_to_load: `module load` before the job
    log_file: str | None = None  # name of the scheduler's stdout log of each task
    err_file: str | None = None  # name of the scheduler's stderr log of each task

    @property
    def time_limit_seconds(self) -> int | None:
        """The time limit in seconds, or None when there is none."""
        if self.time_limit is None:
            return None
        seconds = 0
        for part in self.time_limit.split(":"):
            seconds = seconds * 60 + int(part)
        return seconds


@dataclass(frozen=True, slots=True)
class Environment:
    """How to get the right Python on the node that runs the job."""

    conda_env: str | None = None
    venv: Path | None = None


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One run: a resolved config that is trained with several seeds."""

    run_id: str
    source: Path
    config: dict[str, Any] = field(compare=False, hash=False)
    config_hash: str
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One job: a run and a seed. Paths come from the layout, not from here."""

    run_id: str
    seed: int
    config_hash: str

    @property
    def job_id(self) -> str:
        """Stable, unique, filesystem-safe id of the job within its experiment."""
        return f"{self.run_id}-seed{self.seed}"


@dataclass(frozen=True, slots=True)
class JobTask:
    """A job made concrete for submission: the command and every path it uses."""

    job: JobSpec
    name: str
    argv: tuple[str, ...]
    cwd: Path
    job_dir: Path
    resources: Resources
    environment: Environment
    env: tuple[tuple[str, str], ...] = ()
    internal_dir: Path | None = None  # the experiment's .mle/: scripts and task lists
    sweep_name: str = "mle"  # single_job_args.job_name: schedulers show it for the array

    @property
    def job_id(self) -> str:
        """The id of the job this task runs."""
        return self.job.job_id

    # Derived on use, not stored: planning 100,000 tasks stays cheap.
    @property
    def stdout(self) -> Path:
        """The job's standard output file."""
        return self.job_dir / STDOUT_NAME

    @property
    def stderr(self) -> Path:
        """The job's standard error file."""
        return self.job_dir / STDERR_NAME

    @property
    def exit_code_file(self) -> Path:
        """Written by the job wrapper when the command ended."""
        return self.job_dir / EXIT_CODE_NAME

    @property
    def status_file(self) -> Path:
        """Written by MLExperiment in the job: state, start, end, host."""
        return self.job_dir / STATUS_NAME

    @property
    def cancelled_file(self) -> Path:
        """Written by ``mle cancel`` before it stops the job."""
        return self.job_dir / CANCELLED_NAME


@dataclass(frozen=True, slots=True)
class JobHandle:
    """A submitted job: which backend holds it under which native id."""

    backend: str
    job_id: str
    native_id: str


@dataclass(frozen=True, slots=True)
class JobStatus:
    """What a backend knows about a job at one poll."""

    state: JobState
    exit_code: int | None = None
    reason: str = ""
    # The job asked to be requeued (JOB_DIR/requeue: its wrapper exited 99 and wrote no
    # exit_code). Never inferred from an exit code alone: 99 is an ordinary exit code too.
    requeue: bool = False


@dataclass(frozen=True, slots=True)
class JobResult:
    """Final outcome of one job, as the runner records it."""

    job_id: str
    state: JobState
    exit_code: int | None
    reason: str
    duration_s: float | None
    stderr_tail: str = ""
