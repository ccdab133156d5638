"""MLELogger: mle-logging's logger (constructor, methods, attributes) over our MetricLogger.

Rows go to the run's append-only JSON-lines log (``logs/seed_<s>.jsonl``), not to
HDF5: an update with ``save=True`` appends one line, O(1), where rewriting an HDF5
file grows with the log. Models go through the CheckpointStore, figures to
``figures/``, extra objects to ``extra/``; their paths are kept in
``logs/seed_<s>.meta.json`` (``load_log(...).meta``). TensorBoard and W&B are
optional trackers (``use_tboard`` / ``use_wandb``).
"""

from __future__ import annotations

import os
import time

from ..files.atomic import write_json_atomic
from ..files.jobpaths import JobPaths, path_text
from ..files.layout import CHECKPOINT_INDEX_NAME
from .metrics import MetricLogger

TYPE_CHECKING = False  # typing's flag without importing typing on a job's import path (issue 18)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path
    from typing import Any

    from .checkpoints import CheckpointStore

# mle-logging's model_type -> our checkpoint format (None: follow the object).
MODEL_FORMATS = {"torch": "torch", "jax": "pickle", "sklearn": "pickle"}  # numpy: by object


class StatsLog:
    """What is tracked, and every tracked value so far (mle-logging's ``log.stats_log``).

    ``stats_tracked[name]`` / ``clock_tracked[name]`` are lists, one entry per update:
    the names of ``what_to_track`` / ``time_to_track`` first, then any other name an
    update brings.
    """

    def __init__(self, time_to_track: Sequence[str] | None,
                 what_to_track: Sequence[str] | None) -> None:
        self.time_to_track: list[str] = list(time_to_track or [])
        self.what_to_track: list[str] = list(what_to_track or [])
        self.clock_tracked: dict[str, list[Any]] = {k: [] for k in self.time_to_track}
        self.stats_tracked: dict[str, list[Any]] = {k: [] for k in self.what_to_track}
        self.stats_update_counter = 0
        self.start_time = time.time()

    @property
    def stats_to_track(self) -> Any:
        """The stats so far as a pandas DataFrame, one column per name: what older
        mle-logging releases kept (``StatsLog.stats_to_track``), and what scripts written
        for them read, mle-toolbox's own examples among them (``...stats_to_track.loss``).
        Built on each read; pandas is imported only here."""
        return _frame(self.stats_tracked, attribute="stats_to_track", lists="stats_tracked")

    @property
    def clock_to_track(self) -> Any:
        """The time columns so far as a pandas DataFrame (``stats_to_track``'s twin)."""
        return _frame(self.clock_tracked, attribute="clock_to_track", lists="clock_tracked")

    def extend_tracking(self, add_track_vars: Sequence[str]) -> None:
        """Track more stats names from now on (earlier updates count as missing)."""
        for name in add_track_vars:
            if name not in self.what_to_track:
                self.what_to_track.append(name)
                self.stats_tracked[name] = [None] * self.stats_update_counter

    def record(self, clock_tick: Mapping[str, Any],
               stats_tick: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Keep one update; returns the (time, stats) row that is written.

        Every name given is kept, tracked or not (mle-logging drops the others: a
        training script's eval stats would be lost); a tracked name missing from an
        update is stored as missing (mle-logging asserts).
        """
        time_row, stats_row = dict(clock_tick), dict(stats_tick)
        _append(self.clock_tracked, self.time_to_track, time_row, self.stats_update_counter)
        _append(self.stats_tracked, self.what_to_track, stats_row, self.stats_update_counter)
        self.stats_update_counter += 1
        return time_row, stats_row


def _frame(columns: dict[str, list[Any]], *, attribute: str, lists: str) -> Any:
    """``columns`` (equal lengths: ``_append`` pads) as a pandas DataFrame; without
    pandas, MissingExtra names the pip line and the attribute with the same values."""
    from .trackers import require

    pandas = require("pandas", extra="pandas", feature=(
        f"mle.log.stats_log.{attribute} (a DataFrame; stats_log.{lists}[name] holds the "
        "same values as lists)"))
    return pandas.DataFrame({name: list(values) for name, values in columns.items()})


def _append(tracked: dict[str, list[Any]], names: list[str], row: Mapping[str, Any],
            counter: int) -> None:
    """One value per tracked column (None where the row lacks it); O(columns)."""
    for name, value in row.items():
        column = tracked.get(name)
        if column is None:
            column = tracked[name] = [None] * counter
            names.append(name)
        column.append(value)
    if len(tracked) != len(row):  # a tracked name missing from this row
        for column in tracked.values():
            if len(column) == counter:
                column.append(None)


def _seed_number(seed_id: str | int) -> tuple[str, int]:
    """mle-logging's seed label (``seed_3``) and the number our file names use."""
    if isinstance(seed_id, int) and not isinstance(seed_id, bool):
        return f"seed_{seed_id}", seed_id
    text = str(seed_id)
    tail = text.removeprefix("seed_")
    try:
        return text, int(tail)
    except ValueError:
        return text, 0


class MLELogger(MetricLogger):
    """mle-logging's ``MLELogger``: same constructor and methods, our on-disk format.

    Standalone (a notebook, a script without ``mle run``), ``experiment_dir`` with a
    ``config_fname`` gets a ``<yy-mm-dd>_<config name>/`` folder and a copy of the
    config, as mle-logging does. ``MLExperiment`` passes ``run_dir=`` instead: the
    launcher's run folder, used as it is.
    """

    def __init__(  # noqa: PLR0917 - mle-logging's positional order
        self, time_to_track: Sequence[str] | None = None,
        what_to_track: Sequence[str] | None = None,
        time_to_print: Sequence[str] | None = None,
        what_to_print: Sequence[str] | None = None,
        config_fname: str | None = None, config_dict: Mapping[str, Any] | None = None,
        experiment_dir: str = "/", seed_id: str | int = "no_seed_provided",
        overwrite: bool = False, use_tboard: bool = False, use_wandb: bool = False,
        wandb_config: Mapping[str, Any] | None = None, log_every_j_steps: int | None = None,
        print_every_k_updates: int | None = 1, model_type: str = "no-model-type",
        ckpt_time_to_track: str | None = None, save_every_k_ckpt: int | None = None,
        save_top_k_ckpt: int | None = None, top_k_metric_name: str | None = None,
        top_k_minimize_metric: bool | None = None, reload: bool = False,
        verbose: bool = False, *, run_dir: str | Path | None = None,
        overwrite_experiment_dir: bool | None = None, **_ignored: Any,
    ) -> None:
        # **_ignored: log_config also holds keys for others (tboard_fname, ...).
        self.seed_id, seed = _seed_number(seed_id)
        self.config_fname = config_fname
        self.timestr = time.strftime("%y-%m-%d")
        self.experiment_dir = str(run_dir) if run_dir is not None else self._folder(
            experiment_dir, config_fname, reload=reload)
        # Paths as strings (JobPaths): pathlib is imported only by what returns a Path.
        self.files = JobPaths(run_dir=self.experiment_dir, seed=seed)
        if overwrite_experiment_dir is not None:
            overwrite = overwrite_experiment_dir
        if overwrite and not reload:
            import contextlib
            import shutil

            with contextlib.suppress(FileNotFoundError):
                os.remove(self.files.metrics_log)
            shutil.rmtree(os.path.join(self.experiment_dir, "tboards", self.seed_id),
                          ignore_errors=True)
        super().__init__(self.files.metrics_log)
        self.log_save_fname = self.files.metrics_log
        self.use_tboard, self.use_wandb = bool(use_tboard), bool(use_wandb)
        self.log_every_j_steps = log_every_j_steps
        self.print_every_k_updates = print_every_k_updates
        self.log_verbose = bool(verbose)
        self.model_type = model_type
        self.ckpt_time_to_track = ckpt_time_to_track
        self.stats_log = StatsLog(time_to_track, what_to_track)
        self.time_to_print = list(time_to_print) if time_to_print is not None else None
        self.what_to_print = list(what_to_print) if what_to_print is not None else None
        policy_args = {
            "save_every_k_ckpt": save_every_k_ckpt, "save_top_k_ckpt": save_top_k_ckpt,
            "top_k_metric_name": top_k_metric_name,
            "top_k_minimize_metric": True if top_k_minimize_metric is None
            else top_k_minimize_metric}
        self._make_checkpoints = lambda: self._new_store(policy_args)
        given = (save_every_k_ckpt, save_top_k_ckpt, top_k_metric_name, top_k_minimize_metric)
        if any(value is not None for value in given):
            self._checkpoints = self._make_checkpoints()  # bad values raise here, at once
        # mle-logging saves every-k / top-k checkpoints inside save_model(); only when
        # its own keys ask for it (ours: the script calls save_checkpoint itself).
        self.ckpt_in_save_model = save_every_k_ckpt is not None or save_top_k_ckpt is not None
        self.fig_storage_paths: list[str] = []
        self.extra_storage_paths: list[str] = []
        self.model_save_counter = 0
        self._print_counter = 0
        self._meta_written = False
        self.trackers: list[Any] = []
        if self.use_tboard or self.use_wandb:
            self._start_trackers(config_dict, wandb_config)

    def _start_trackers(self, config_dict: Mapping[str, Any] | None,
                        wandb_config: Mapping[str, Any] | None) -> None:
        from pathlib import Path

        if self.use_tboard:
            from .trackers import TboardTracker

            self.trackers.append(TboardTracker(Path(self.experiment_dir), self.seed_id))
        if self.use_wandb:
            from .trackers import WandbTracker

            self.trackers.append(WandbTracker(run_dir=Path(self.experiment_dir),
                                              seed_id=self.seed_id,
                                              config=config_dict or {},
                                              wandb_config=wandb_config))

    @property
    def store(self) -> CheckpointStore:
        """The checkpoint store of this seed (made on first use)."""
        store = self.checkpoints
        assert store is not None
        return store

    def _new_store(self, policy_args: Mapping[str, Any]) -> CheckpointStore:
        from pathlib import Path

        from .checkpoints import CheckpointPolicy, CheckpointStore

        return CheckpointStore(Path(self.files.checkpoints_dir),
                               policy=CheckpointPolicy.from_log_config(policy_args),
                               last_stats=lambda: self.last_stats)

    def _folder(self, base: str, config_fname: str | None, *, reload: bool) -> str:
        if config_fname is None:
            return base
        stem = "_" + os.path.splitext(os.path.basename(config_fname))[0]
        if reload:
            found = sorted(p for p in os.listdir(base) if p.endswith(stem))
            if not found:
                raise FileNotFoundError(f"reload=True: no folder *{stem} in {base}")
            return os.path.join(base, found[-1])
        folder = os.path.join(base, self.timestr + stem)
        os.makedirs(folder, exist_ok=True)
        copy = os.path.join(folder, self.timestr + stem + ".json")
        if not os.path.exists(copy):
            import shutil

            shutil.copy(config_fname, copy)
        return folder

    def update(  # noqa: PLR0917 - positional order of mle-logging's update()
        self, clock_tick: Mapping[str, Any], stats_tick: Mapping[str, Any],
               model: Any = None, plot_fig: Any = None, extra_obj: Any = None,
               save: bool = False) -> None:
        """Log one update; save the model / figure / extra object when given; ``save=True``
        appends the row to the log now (otherwise it is appended at the next save)."""
        time_row, stats_row = self.stats_log.record(clock_tick, stats_tick)
        super().update(time_row, stats_row)
        if self.trackers:
            self._track(time_row, stats_row)
        if model is not None:
            self.save_model(model)
        if plot_fig is not None:
            self.save_plot(plot_fig)
        if extra_obj is not None:
            self.save_extra(extra_obj)
        if save:
            self.save()
        self._print(time_row, stats_row)

    def _track(self, time_row: Mapping[str, Any], stats_row: Mapping[str, Any]) -> None:
        step_key = self.stats_log.time_to_track[0] if self.stats_log.time_to_track else None
        for tracker in self.trackers:
            if hasattr(tracker, "log_dir"):
                tracker.update(time_row, stats_row, step_key=step_key)
            else:
                tracker.update(time_row, stats_row)

    def _print(self, time_row: Mapping[str, Any], stats_row: Mapping[str, Any]) -> None:
        if not self.log_verbose:
            return
        every = self.print_every_k_updates
        if not every or self.stats_log.stats_update_counter % every:
            return
        shown_time = {k: time_row.get(k) for k in (self.time_to_print or time_row)}
        shown_stats = {k: stats_row.get(k) for k in (self.what_to_print or stats_row)}
        print(" | ".join(f"{k}: {v}" for k, v in {**shown_time, **shown_stats}.items()),
              flush=True)
        self._print_counter += 1

    def save(self) -> None:
        """Append the buffered rows (and, the first time, the meta file)."""
        super().save()
        if not self._meta_written:
            self._write_meta()

    def save_model(self, model: Any, *, objective: float | None = None,
                   fmt: str | None = None) -> Path:
        """The final model, plus every-k / top-k checkpoints when ``save_every_k_ckpt`` /
        ``save_top_k_ckpt`` are set (counted in calls of save_model, as mle-logging)."""
        fmt = fmt or MODEL_FORMATS.get(self.model_type)
        path = self.store.save_model(model, objective=objective, fmt=fmt)
        self.model_save_counter += 1
        if self.ckpt_in_save_model:
            self.store.save_checkpoint(model, self.model_save_counter,
                                             objective=objective, fmt=fmt)
        self._write_meta()
        return path

    def save_init_model(self, model: Any) -> Path:
        """The model before training, as checkpoint ``init``."""
        return self.store.save_named("init", model,
                                           fmt=MODEL_FORMATS.get(self.model_type))

    def save_plot(self, fig: Any, fig_fname: str | None = None, *,
                  fname: str | None = None) -> Path:
        """Save a matplotlib figure to ``figures/`` (default name ``fig_<n>_<seed>.png``);
        ``fname=`` is another spelling of ``fig_fname``."""
        name = (fig_fname or fname
                or f"fig_{len(self.fig_storage_paths) + 1}_{self.seed_id}.png")
        path = _inside(self.experiment_dir, "figures", name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
        self.fig_storage_paths.append(str(path))
        self._write_meta()
        return path

    def save_extra(self, obj: Any, obj_fname: str | None = None, *,
                   fname: str | None = None) -> Path:
        """Pickle ``obj`` to ``extra/`` (default name ``extra_<n>_<seed>.pkl``); ``fname=``
        is another spelling of ``obj_fname``."""
        import pickle

        name = (obj_fname or fname
                or f"extra_{len(self.extra_storage_paths) + 1}_{self.seed_id}.pkl")
        path = _inside(self.experiment_dir, "extra", name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
        self.extra_storage_paths.append(str(path))
        self._write_meta()
        return path

    def extend_tracking(self, add_track_vars: Sequence[str]) -> None:
        """Track more stats names (mle-logging's ``extend_tracking``)."""
        self.stats_log.extend_tracking(add_track_vars)

    def ready_to_log(self, update_counter: int) -> bool:
        """True every ``log_every_j_steps`` steps and at step 0 (every step when unset)."""
        every = self.log_every_j_steps or 1
        return update_counter % every == 0

    def close(self) -> None:
        """Save, close the log and the trackers."""
        super().close()
        trackers, self.trackers = self.trackers, []
        for tracker in trackers:
            tracker.close()

    def _write_meta(self) -> None:
        folder = self.files.checkpoints_dir
        entry = None
        # No store made and no index on disk: no model saved, and no checkpoint module
        # to import for a job that saves none.
        if (self._checkpoints is not None
                or os.path.exists(os.path.join(folder, CHECKPOINT_INDEX_NAME))):
            entry = next((e for e in self.store.entries if e.name == "final"), None)
        write_json_atomic(self.files.log_meta, {
            "experiment_dir": self.experiment_dir, "config_fname": self.config_fname,
            "eval_id": _name(self.experiment_dir), "model_type": self.model_type,
            "log_paths": [self.log_save_fname], "seed_id": self.seed_id,
            "model_ckpt": os.path.join(folder, entry.file if entry else "final"),
            "fig_storage_paths": self.fig_storage_paths,
            "extra_storage_paths": self.extra_storage_paths,
        })
        self._meta_written = True


def _inside(run_dir: str, subfolder: str, name: str) -> Path:
    from pathlib import Path  # figures and extra objects only: not every job's start

    folder = Path(run_dir) / subfolder
    if ".." in Path(name).parts or Path(name).is_absolute():
        raise ValueError(f"{name!r}: a file name inside {folder}, without '..'")
    return folder / name


def _name(path: str) -> str:
    """``Path(path).name``."""
    name = os.path.basename(path_text(path))
    return "" if name == "." else name
