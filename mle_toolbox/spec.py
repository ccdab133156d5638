"""Frozen value types shared by the planner, the runner and every backend."""

from __future__ import annotations

import enum
from pathlib import Path

from .files.jobdir import JobFiles
from .records import field, record

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import Any, Protocol
else:
    Protocol = object  # structural types are for the type checker; no class derives from them


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


@record
class Resources:
    """What one job asks for, in scheduler-neutral terms; backends map them."""

    cores: int = 1
    gpus: int = 0
    memory_mb: int | None = None
    memory_per_cpu_mb: int | None = None
    time_limit_s: int | None = None  # seconds; formatted (hms) only where a script is rendered
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
    # Jobs one array task runs one after another (single_job_args.jobs_per_task; "auto"
    # is resolved by the launcher, launcher/packing.py). time_limit_s stays per job.
    jobs_per_task: int = 1


def hms(seconds: int) -> str:
    """A time limit as schedulers and messages write it: ``HH:MM:SS`` (hours may exceed 24)."""
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@record
class Packing:
    """``single_job_args.jobs_per_task`` as written: a number, or ``auto`` (``size`` None)
    with ``single_job_args.job_duration_hint`` (seconds) for when no job has finished."""

    size: int | None = 1
    duration_hint_s: float | None = None

    @property
    def auto(self) -> bool:
        """The launcher picks the number (launcher/packing.py)."""
        return self.size is None


@record
class Environment:
    """How to get the right Python on the node that runs the job."""

    conda_env: str | None = None
    venv: Path | None = None


@record
class RunSpec:
    """One run: a resolved config that is trained with several seeds."""

    run_id: str
    source: Path
    config: dict[str, Any] = field(compare=False, hash=False)
    config_hash: str
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@record
class JobSpec:
    """One job: a run and a seed. Paths come from the layout, not from here."""

    run_id: str
    seed: int
    config_hash: str

    @property
    def job_id(self) -> str:
        """Stable, unique, filesystem-safe id of the job within its experiment."""
        return f"{self.run_id}-seed{self.seed}"


@record
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

    @property
    def files(self) -> JobFiles:
        """The job's own files (stdout, stderr, exit_code, status.json ...); derived on
        use, not stored, so planning 100,000 tasks stays cheap."""
        return JobFiles(self.job_dir)


class FollowedJob(Protocol):
    """What following a job needs: its id and its files (a JobTask, or a JobRef)."""

    @property
    def job_id(self) -> str:
        """The id of the job."""
        ...

    @property
    def files(self) -> JobFiles:
        """The job's own files."""
        ...


@record
class JobRef:
    """A planned job known by id and job dir only: enough to read its files and to
    follow or cancel it (``mle status``, ``mle cancel``), without a command to run."""

    job_id: str
    job_dir: Path

    @property
    def files(self) -> JobFiles:
        """The job's own files."""
        return JobFiles(self.job_dir)


@record
class JobHandle:
    """A submitted job: which backend holds it under which native id."""

    backend: str
    job_id: str
    native_id: str


@record
class JobStatus:
    """What a backend knows about a job at one poll."""

    state: JobState
    exit_code: int | None = None
    reason: str = ""
    # The job asked to be requeued (JOB_DIR/requeue: its wrapper exited 99 and wrote no
    # exit_code). Never inferred from an exit code alone: 99 is an ordinary exit code too.
    requeue: bool = False


@record
class JobResult:
    """Final outcome of one job, as the runner records it."""

    job_id: str
    state: JobState
    exit_code: int | None
    reason: str
    duration_s: float | None
    stderr_tail: str = ""
