"""MLExperiment: the per-job wrapper that training scripts use.

Drop-in for scripts written for mle-toolbox::

    mle = MLExperiment(config_fname="configs/base.json")
    for step in range(100):
        ...
        if mle.ready_to_log(step):
            mle.log.update({"step": step}, {"loss": loss}, save=True)

It parses ``-config``, ``-seed``, ``-exp_dir`` and ``-model_ckpt`` (or takes
``argv=``), loads the config (both in job_config.py; ``seed_id`` goes into
``train_config``, as mle-toolbox does), seeds ``random``, numpy and torch as mle-toolbox
does without importing them (seeds.py), logs through an ``MLELogger`` (mle-logging's API)
to the run's JSON-lines log and writes the job's status file. Nothing is detected or
spawned at construction; nothing heavy is imported.
"""

from __future__ import annotations

import atexit
import os
import sys
import time

# collections.abc's Mapping, from the module os already loaded at start: collections.abc
# would import the whole collections package.
from _collections_abc import Mapping

from ..files.atomic import write_json_atomic
from ..files.jobpaths import JobPaths
from .job_config import ConfigDict, load_config, parse_job_args
from .mle_logger import MLELogger
from .requeue import WARNING_SIGNALS, current_attempt, install_requeue_handler, last_checkpoint

# What a job imports at every start is kept to what it uses at every start (issue 18):
# no json (jsontext reads and writes through json's C code without re), no signal enums,
# no pathlib (JobPaths are strings; the Path attributes below are made when read), no
# functools or collections.abc (annotations only), no typing.
TYPE_CHECKING = False  # typing's flag without importing typing on a job's import path
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path
    from types import TracebackType
    from typing import Any

# log_config keys read by CheckpointPolicy.from_log_config (checkpoints.py).
CHECKPOINT_POLICY_KEYS = ("model_ckpt_every_k_steps", "save_every_k_ckpt", "top_k",
                          "save_top_k_ckpt", "top_k_metric_name", "top_k_minimize_metric")


def _warn(message: str) -> None:
    import warnings

    warnings.warn(message, UserWarning, stacklevel=3)
    print(f"WARNING: {message}", file=sys.stderr, flush=True)


def _number(text: str) -> Any:
    """mle-toolbox reads extra command-line values as floats where they parse."""
    try:
        return float(text)
    except ValueError:
        return text


def _handed_checkpoint(config: Mapping[str, Any], train: Mapping[str, Any]) -> str | None:
    """The checkpoint a search hands the job, where mle-toolbox looks for it: train_config
    ``ckpt`` / ``model_ckpt``, then ``extra.sh_ckpt`` / ``extra.pbt_ckpt`` (mle-hyperopt);
    also ``model_ckpt`` at the top of the config."""
    found = config.get("model_ckpt")
    for name in ("ckpt", "model_ckpt"):
        found = train.get(name) or found
    extra = train.get("extra")
    if isinstance(extra, Mapping):
        for name in ("sh_ckpt", "pbt_ckpt"):
            found = extra.get(name) or found
    return str(found) if found else None


def _extra_from_config(config: Mapping[str, Any], train: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` values a search wrote into the job config (top level or train_config)."""
    out: dict[str, Any] = {}
    for source in (config.get("extra"), train.get("extra")):
        if isinstance(source, Mapping):
            out.update(source)
    return out


def jax_key(seed: int) -> Any:
    """``jax.random.PRNGKey(seed)``; a clear error when jax is not installed."""
    try:
        import jax  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        from .trackers import MissingExtra

        raise MissingExtra("create_jax_prng=True needs jax: pip install jax") from None
    return jax.random.PRNGKey(seed)


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise SystemExit(f"MLExperiment: -seed must be an integer, got {text!r}") from None


DEFAULT_CONFIG = "configs/base_config.json"  # mle-toolbox's default_config_fname


class MLExperiment:
    """Config, seed, metrics log and status file of one training job.

    mle-toolbox's constructor: ``MLExperiment(default_config_fname, default_experiment_dir,
    default_seed, auto_setup, create_jax_prng)``; command-line flags win over them.
    With ``auto_setup=False`` the configs can be edited before ``setup()`` creates the
    logger and seeds the generators.
    """

    def __init__(  # noqa: PLR0917 - mle-toolbox's positional order
        self, config_fname: str | None = None, default_experiment_dir: str | None = None,
        default_seed: int | None = None, auto_setup: bool = True,
        create_jax_prng: bool = False, train_config: Mapping[str, Any] | None = None,
        log_config: Mapping[str, Any] | None = None,
        model_config: Mapping[str, Any] | None = None,
        device_config: Mapping[str, Any] | None = None, *,
        default_config_fname: str | None = None, argv: Sequence[str] | None = None,
        seed_id: int | None = None, experiment_dir: str | None = None,
    ) -> None:
        known, self.extra_args = parse_job_args(sys.argv[1:] if argv is None else argv)
        path = known.get("config") or config_fname or default_config_fname
        if path is None and os.path.isfile(DEFAULT_CONFIG):
            path = DEFAULT_CONFIG
        self.config_fname = self.config_filename = path
        if path is None:
            _warn("MLExperiment: no config given (-config FILE or config_fname=) and no "
                  f"{DEFAULT_CONFIG}: running with an empty config")
        self.config = ConfigDict(load_config(path) if path else {})
        # Sections given as arguments replace those of the file (mle-toolbox 0.3.x).
        for section, given in (("train_config", train_config), ("log_config", log_config),
                               ("model_config", model_config),
                               ("device_config", device_config)):
            if given is not None:
                self.config[section] = ConfigDict(dict(given))
        self.create_jax_prng = create_jax_prng
        seed_given = "seed" in known or seed_id is not None
        self.default_seed = 0 if default_seed is None else default_seed
        self.seed_id = _seed(known["seed"]) if "seed" in known else (
            seed_id if seed_id is not None else self.default_seed)
        self._split_config(seed_given=seed_given)
        self.experiment_dir = (known.get("exp_dir") or experiment_dir
                               or str(self.log_config.get("experiment_dir")
                                      or default_experiment_dir or "experiments"))
        self.log_config.setdefault("experiment_dir", self.experiment_dir)
        self.log_config.setdefault("config_fname", path)
        self.log_config["seed_id"] = f"seed_{self.seed_id}"
        if self.log_config.get("use_wandb"):
            # -wb_project / -wb_group / -wb_name fill what wandb_config leaves open.
            wandb = dict(self.log_config.get("wandb_config") or {})
            for flag, key in (("wb_project", "project"), ("wb_group", "group"),
                              ("wb_name", "name")):
                if flag in known:
                    wandb.setdefault(key, known[flag])
            self.log_config["wandb_config"] = wandb
        self.files = JobPaths(run_dir=self.experiment_dir, seed=self.seed_id)
        # What a search hands the job: a checkpoint to start from, extra values.
        self.model_ckpt_path = known.get("model_ckpt") or _handed_checkpoint(
            self.config, self.train_config)
        self.model_ckpt: Any = self.model_ckpt_path
        if known.get("model_ckpt"):
            self.train_config["model_ckpt"] = known["model_ckpt"]
        self.extra_config = ConfigDict({**_extra_from_config(self.config, self.train_config),
                                        **{k: _number(v) for k, v in self.extra_args.items()}})
        self._started = self._finished = False
        if auto_setup:
            self.setup()

    def _split_config(self, *, seed_given: bool) -> None:
        self.train_config = ConfigDict(self.config.get("train_config", {}))
        self.model_config = ConfigDict(self.config.get("model_config",
                                                       self.config.get("net_config", {})))
        self.net_config = self.model_config
        self.log_config = ConfigDict(self.config.get("log_config", {}))
        self.device_config = ConfigDict(self.config.get("device_config", {}))
        if seed_given or "seed_id" not in self.train_config:
            if not seed_given:
                _warn(f"MLExperiment: no seed given (-seed N): using {self.seed_id}")
            self.train_config["seed_id"] = self.seed_id
        else:
            self.seed_id = int(self.train_config["seed_id"])
        if "device_name" in self.train_config:
            # mle-toolbox fills in where to train: cuda when torch sees a GPU.
            torch = sys.modules.get("torch")
            cuda = torch is not None and bool(torch.cuda.is_available())
            self.train_config["device_name"] = "cuda" if cuda else "cpu"

    def setup(self) -> None:
        """Seed the generators, start the logger, load ``model_ckpt``, record "running"."""
        if self._started:
            return
        self._started = True
        if self.create_jax_prng:
            self.rng = jax_key(self.seed_id)
        self.log = MLELogger(**{**self.log_config, "run_dir": self.files.run_dir,
                                "seed_id": self.seed_id, "config_dict": self.config})
        # Our own log_config names (model_ckpt_every_k_steps, top_k) as well. Without any
        # of them the default policy stands and the checkpoint module loads on first save.
        if any(key in self.log_config for key in CHECKPOINT_POLICY_KEYS):
            from .checkpoints import CheckpointPolicy

            self.log.store.policy = CheckpointPolicy.from_log_config(self.log_config)
        if self.log_config.get("print_every_k_updates") is not None:
            self.log.print_every = self.log_config["print_every_k_updates"]
        if self.model_ckpt_path:
            from .checkpoints import load_model

            self.model_ckpt = load_model(self.model_ckpt_path,
                                         self.log_config.get("model_type"))
        # Retries and requeues (requeue.py): which run this is, where to resume from.
        self.attempt = current_attempt()
        # Scripts write into it directly (mle.checkpoint_dir / 'x.ckpt'): make it exist.
        os.makedirs(self.files.checkpoints_dir, exist_ok=True)
        self._last_checkpoint = last_checkpoint(self.files.checkpoints_dir)
        self._start = time.time()
        self._finished = False
        self._error: str | None = None
        from .seeds import seed_everything  # numpy / torch seeded now, or once imported

        seed_everything(self.seed_id)
        self._write_status("running")
        self._chain_excepthook()
        atexit.register(self.finish)

    @property
    def checkpoint_dir(self) -> Path:
        """This seed's checkpoint folder (``<run_dir>/checkpoints/seed_<s>/``)."""
        from pathlib import Path  # made when read: most jobs never ask (issue 18)

        return Path(self.files.checkpoints_dir)

    @property
    def last_checkpoint(self) -> Path | None:
        """The newest file in ``checkpoint_dir`` when ``setup()`` ran, or None."""
        from pathlib import Path

        found = self.__dict__.get("_last_checkpoint")
        return None if found is None else Path(found)

    @property
    def resume_from(self) -> Path | None:
        """What to continue from: ``last_checkpoint``."""
        return self.last_checkpoint

    def update_log(  # noqa: PLR0917 - mle-toolbox's positional order
        self, clock_tick: Mapping[str, Any], stats_tick: Mapping[str, Any],
                   model: Any = None, plot_fig: Any = None, extra_obj: Any = None,
                   save: bool = False) -> None:
        """``self.log.update(...)`` under mle-toolbox's name."""
        self.log.update(clock_tick, stats_tick, model, plot_fig, extra_obj, save)

    def ready_to_log(self, update_counter: int) -> bool:
        """True every ``log_config.log_every_j_steps`` steps (default: every step)."""
        every = int(self.log_config.get("log_every_j_steps", 1) or 1)
        return update_counter % every == 0

    def finish(self, *, error: str | None = None, state: str | None = None) -> None:
        """Flush the metrics log and record the end in the status file (idempotent)."""
        if self._finished or not self._started:
            return
        self._finished = True
        self.log.close()
        error = error or self._error
        self._write_status(state or ("failed" if error else "completed"), error=error)

    def on_preemption(self, save: Callable[[], Any] | None = None, *,
                      signals: Sequence[int] = WARNING_SIGNALS) -> None:
        """On the scheduler's warning signal: ``save()`` a checkpoint, then get requeued.

        The job exits 99 after writing JOB_DIR/requeue; the next run sees
        ``attempt`` one higher and ``last_checkpoint`` set (save into ``checkpoint_dir``).
        """
        install_requeue_handler(job_dir=self.files.job_dir, save=save, signals=signals,
                                finish=lambda: self.finish(state="requeued"))

    def _write_status(self, state: str, *, error: str | None = None) -> None:
        status: dict[str, Any] = {
            "state": state, "start": self._start, "host": os.uname().nodename,
            "pid": os.getpid(), "seed": self.seed_id, "config": self.config_filename,
            "attempt": self.attempt,
        }
        if state != "running":
            status["end"] = time.time()
        if error:
            status["error"] = error
        write_json_atomic(self.files.status, status)

    def _chain_excepthook(self) -> None:
        previous = sys.excepthook

        def hook(kind: type[BaseException], value: BaseException,
                 tb: TracebackType | None) -> None:
            self._error = _one_line_error(kind, value)
            previous(kind, value, tb)

        sys.excepthook = hook

    def __enter__(self) -> MLExperiment:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        text = None
        if kind is not None and value is not None and not _clean_exit(value):
            text = _one_line_error(kind, value)
        self.finish(error=text)


def _one_line_error(kind: type[BaseException], value: BaseException) -> str:
    # traceback is imported only when a script fails: most jobs never need it.
    import traceback

    return "".join(traceback.format_exception_only(kind, value)).strip()


def _clean_exit(error: BaseException) -> bool:
    """``sys.exit()`` / ``sys.exit(0)`` end a script successfully."""
    return isinstance(error, SystemExit) and error.code in (None, 0)


def experiment(config_fname: str | None = None, experiment_dir: str | None = None,  # noqa: PLR0917
               seed_id: int | None = None, auto_setup: bool = True,
               create_jax_prng: bool = False, train_config: Mapping[str, Any] | None = None,
               log_config: Mapping[str, Any] | None = None,
               model_config: Mapping[str, Any] | None = None,
               ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """mle-toolbox's ``@experiment("configs/base_config.json")`` decorator.

    The decorated function gets the ``MLExperiment`` first, then its own arguments.
    The experiment is made when the function is called (mle-toolbox makes it at
    decoration), so that importing a module does not parse ``sys.argv``.
    """

    def decorate(main: Callable[..., Any]) -> Callable[..., Any]:
        import functools  # at decoration, not at every job's import

        @functools.wraps(main)
        def run(*args: Any, **kwargs: Any) -> Any:
            with MLExperiment(config_fname, experiment_dir, seed_id, auto_setup,
                              create_jax_prng, train_config, log_config,
                              model_config) as mle:
                return main(mle, *args, **kwargs)

        return run

    return decorate
