"""MLExperiment: the per-job wrapper that training scripts use.

Drop-in for scripts written for mle-toolbox::

    mle = MLExperiment(config_fname="configs/base.json")
    for step in range(100):
        ...
        if mle.ready_to_log(step):
            mle.log.update({"step": step}, {"loss": loss}, save=True)

It parses ``-config``, ``-seed`` and ``-exp_dir`` (or takes ``argv=``), loads the
config, seeds ``random`` (and numpy / torch only if the script already imported
them), logs metrics to the run's JSON-lines log and writes the job's status file.
Nothing is detected or spawned at construction; nothing heavy is imported.
"""

from __future__ import annotations

import atexit
import json
import os
import random
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from ..files.atomic import write_json_atomic
from ..files.layout import JobLayout
from .checkpoints import CheckpointPolicy, CheckpointStore
from .metrics import MetricLogger
from .requeue import WARNING_SIGNALS, current_attempt, install_requeue_handler, last_checkpoint

_FLAGS = {"config": "config", "config_fname": "config", "seed": "seed", "seed_id": "seed",
          "exp_dir": "exp_dir", "experiment_dir": "exp_dir"}


class ConfigDict(dict[str, Any]):
    """A dict with attribute access (``cfg.lrate``) that keeps ``.get`` and ``**``."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        super().__init__()
        for key, value in (data or {}).items():
            self[key] = _attr_access(value)

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"config has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


def _attr_access(value: Any) -> Any:
    # Dicts inside lists too, as DotMap does: ``cfg.layers[0].width``.
    if isinstance(value, dict):
        return ConfigDict(value)
    if isinstance(value, list):
        return [_attr_access(item) for item in value]
    return value


def parse_job_args(argv: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Split ``-config C -seed S -exp_dir D`` (one or two dashes) from extra ``-key value``.

    Extra values stay strings: the script decides their types.
    """
    known: dict[str, str] = {}
    extra: dict[str, str] = {}
    items = list(argv)
    index = 0
    while index < len(items):
        flag = items[index]
        if not flag.startswith("-") or flag in ("-", "--"):
            raise SystemExit(f"MLExperiment: unexpected argument {flag!r}")
        name, _, inline = flag.lstrip("-").partition("=")
        if inline or "=" in flag:
            value, index = inline, index + 1
        elif index + 1 < len(items):
            value, index = items[index + 1], index + 2
        else:
            raise SystemExit(f"MLExperiment: {flag} needs a value")
        target = known if name in _FLAGS else extra
        target[_FLAGS.get(name, name)] = value
    return known, extra


def load_config(path: Path) -> dict[str, Any]:
    """Load a JSON (comments allowed) or YAML config file into a dict."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            import commentjson

            data = commentjson.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a config must be a mapping, got {type(data).__name__}")
    return data


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise SystemExit(f"MLExperiment: -seed must be an integer, got {text!r}") from None


class MLExperiment:
    """Config, seed, metrics log and status file of one training job."""

    def __init__(self, config_fname: str | None = None, *, argv: Sequence[str] | None = None,
                 seed_id: int | None = None, experiment_dir: str | None = None) -> None:
        known, self.extra_args = parse_job_args(sys.argv[1:] if argv is None else argv)
        path = known.get("config") or config_fname
        if path is None:
            raise SystemExit("MLExperiment: no config given (-config FILE or config_fname=)")
        self.config_filename = path
        self.config = ConfigDict(load_config(Path(path)))
        self.train_config = ConfigDict(self.config.get("train_config", {}))
        self.model_config = ConfigDict(self.config.get("model_config",
                                                       self.config.get("net_config", {})))
        self.net_config = self.model_config
        self.log_config = ConfigDict(self.config.get("log_config", {}))
        self.seed_id = _seed(known["seed"]) if "seed" in known else (seed_id or 0)
        self.experiment_dir = (known.get("exp_dir") or experiment_dir
                               or str(self.log_config.get("experiment_dir", "experiments")))
        self.files = JobLayout(run_dir=Path(self.experiment_dir), seed=self.seed_id)
        self.log = MetricLogger(
            self.files.metrics_log,
            print_every_k_updates=self.log_config.get("print_every_k_updates"),
            verbose=bool(self.log_config.get("verbose", False)),
        )
        self.log.checkpoints = CheckpointStore(
            self.files.checkpoints_dir, last_stats=lambda: self.log.last_stats,
            policy=CheckpointPolicy.from_log_config(self.log_config))
        # Retries and requeues (requeue.py): which run this is, where to resume from.
        self.attempt = current_attempt()
        self.checkpoint_dir = self.files.checkpoints_dir
        # Scripts write into it directly (mle.checkpoint_dir / 'x.ckpt'): make it exist.
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        self.last_checkpoint = last_checkpoint(self.checkpoint_dir)
        self.resume_from = self.last_checkpoint
        self._start = time.time()
        self._finished = False
        self._error: str | None = None
        seed_everything(self.seed_id)
        self._write_status("running")
        self._chain_excepthook()
        atexit.register(self.finish)

    def ready_to_log(self, update_counter: int) -> bool:
        """True every ``log_config.log_every_j_steps`` steps (default: every step)."""
        every = int(self.log_config.get("log_every_j_steps", 1) or 1)
        return update_counter % every == 0

    def finish(self, *, error: str | None = None, state: str | None = None) -> None:
        """Flush the metrics log and record the end in the status file (idempotent)."""
        if self._finished:
            return
        self._finished = True
        self.log.close()
        error = error or self._error
        self._write_status(state or ("failed" if error else "completed"), error=error)

    def on_preemption(self, save: Callable[[], Any] | None = None, *,
                      signals: Sequence[signal.Signals] = WARNING_SIGNALS) -> None:
        """On the scheduler's warning signal: ``save()`` a checkpoint, then get requeued.

        The job exits 99 after writing JOB_DIR/requeue; the next run sees
        ``attempt`` one higher and ``last_checkpoint`` set (save into ``checkpoint_dir``).
        """
        install_requeue_handler(job_dir=self.files.job_dir, save=save, signals=signals,
                                finish=lambda: self.finish(state="requeued"))

    def _write_status(self, state: str, *, error: str | None = None) -> None:
        status: dict[str, Any] = {
            "state": state, "start": self._start, "host": socket.gethostname(),
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
            self._error = "".join(traceback.format_exception_only(kind, value)).strip()
            previous(kind, value, tb)

        sys.excepthook = hook

    def __enter__(self) -> MLExperiment:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        text = None
        if kind is not None and value is not None and not _clean_exit(value):
            text = "".join(traceback.format_exception_only(kind, value)).strip()
        self.finish(error=text)


def _clean_exit(error: BaseException) -> bool:
    """``sys.exit()`` / ``sys.exit(0)`` end a script successfully."""
    return isinstance(error, SystemExit) and error.code in (None, 0)


def seed_everything(seed: int) -> None:
    """Seed ``random``; numpy and torch only if the script imported them already."""
    random.seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(seed % 2**32)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


F = TypeVar("F", bound=Callable[..., Any])


def experiment(config_fname: str | None = None) -> Callable[[Callable[[MLExperiment], Any]],
                                                            Callable[[], Any]]:
    """mle-toolbox's ``@experiment("default_config.json")`` decorator."""

    def decorate(main: Callable[[MLExperiment], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with MLExperiment(config_fname=config_fname) as mle:
                return main(mle)

        return run

    return decorate
