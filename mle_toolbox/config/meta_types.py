"""What a meta YAML says, as frozen values: MetaConfig and its sections.

``MetaConfig`` (the whole validated YAML), ``SearchConfig`` (``param_search_args``)
and ``PostProcess`` (``post_process_args``). Apart from meta.py, which reads and
validates the YAML into them: the planner, the launcher, the search loop and the
results code use these types without the reader and its key lists.
"""

from __future__ import annotations

from pathlib import Path

from ..records import field, record
from ..search.options import SearchOptions
from ..spec import Environment, ExperimentType, Packing, Resources
from .paths import Overrides
from .processing import ProcessingJob
from .search_space import SearchParam

DEFAULT_EVAL_TIME_S = 600


@record
class SearchConfig:
    """``param_search_args`` of a hyperparameter search.

    ``search_type`` is the registry name (``Halving`` for ``successive-halving``);
    ``spelling`` is the name as the YAML wrote it, for messages.
    """

    search_type: str
    params: tuple[SearchParam, ...]
    num_evals: int | None
    seeds: tuple[int, ...]
    eval_metrics: tuple[str, ...]
    max_objective: bool
    aggregate_seeds: str
    problem_type: str
    num_evals_per_batch: int | None = None
    sampler_seed: int = 0
    options: SearchOptions = field(default_factory=SearchOptions)
    spelling: str = ""


@record
class PostProcess:
    """``post_process_args``: an evaluation script run on every finished job."""

    script: Path
    extra_args: tuple[str, ...] = ()
    checkpoint: str = "final"
    timeout_s: int = DEFAULT_EVAL_TIME_S


@record
class MetaConfig:
    """A validated meta YAML."""

    path: Path
    project_name: str
    experiment_type: ExperimentType
    train_script: Path
    config_files: tuple[Path, ...]
    seeds: tuple[int, ...]
    experiment_dir: Path
    job_name: str
    resources: Resources
    environment: Environment
    extra_args: tuple[str, ...]
    search: SearchConfig | None
    backend: str | None
    max_running: int | None
    warnings: tuple[str, ...]
    post_process: PostProcess | None = None
    max_retries: int = 0  # reruns of a failed job (meta_job_args.max_retries)
    project_dir: Path | None = None  # where base_train_fname was found (config/paths.py)
    work_dir: Path | None = None  # the working directory the YAML was read from
    overrides: Overrides = field(default_factory=Overrides)  # -train_fname etc.
    processing: tuple[ProcessingJob, ...] = ()  # pre_/post_processing_args
    job_keys: tuple[str, ...] = ()  # the single_job_args keys given (launcher/job_options)
    # jobs_per_task / job_duration_hint; a fixed number is in resources.jobs_per_task too.
    packing: Packing = field(default_factory=Packing)

    @property
    def base_dir(self) -> Path:
        """The project folder: jobs run here, experiment_dir is relative to it."""
        return self.project_dir or self.path.parent
