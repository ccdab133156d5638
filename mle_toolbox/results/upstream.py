"""mle-logging / mle-toolbox helpers a notebook calls by name: load_config,
merge_seed_logs, merge_config_logs, load_result_logs, combine_experiments,
load_experiment_config.

Our own folders need no merging (every seed's JSON-lines log is read where it
lies): the merge helpers then return without writing. For mle-logging's ``.hdf5``
logs they merge as mle-logging does, with the ``h5py`` extra.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .hyper_log import HyperLog, load_hyper_log
from .merge import load_meta_log
from .meta_log import AttrDict, MetaLog


def load_config(config_fname: str | Path, return_dotmap: bool = False) -> Any:
    """A JSON (comments allowed) or YAML config as a dict, or with attribute access."""
    from ..job.job_config import ConfigDict
    from ..job.job_config import load_config as read

    data = read(Path(config_fname))
    return ConfigDict(data) if return_dotmap else data


def load_experiment_config(config_fname: str, experiment_dir: str, seed_id: int | None,
                           model_ckpt: str | None = None) -> tuple[Any, Any, Any]:
    """(train_config, model_config, log_config) of a job config, as MLExperiment sees them:
    ``seed_id`` in train_config, ``seed_<s>`` / ``experiment_dir`` / ``config_fname`` in
    log_config, ``model_ckpt`` in train_config when given."""
    from ..job.job_config import ConfigDict

    config = load_config(config_fname, return_dotmap=True)
    train = ConfigDict(config.get("train_config", {}))
    model = config.get("model_config", config.get("net_config"))
    log = ConfigDict(config.get("log_config", {}))
    log["config_fname"], log["experiment_dir"] = config_fname, experiment_dir
    if seed_id is not None:
        train["seed_id"] = int(seed_id)
    log["seed_id"] = f"seed_{train['seed_id']}" if "seed_id" in train else "seed_default"
    if model_ckpt is not None:
        train["model_ckpt"] = model_ckpt
    return train, ConfigDict(model) if model is not None else None, log


def merge_seed_logs(merged_path: str | Path, experiment_dir: str | Path,
                    num_logs: int | None = None, delete_files: bool = True) -> Path | None:
    """Merge the seeds' ``.hdf5`` logs of a run folder into ``merged_path``.

    A run folder of ours (``logs/seed_*.jsonl``) needs no merge: returns None and
    writes nothing. ``num_logs``: how many seed logs must be there (no waiting: an
    error names the count found).
    """
    from .merge import hdf5_logs, seed_logs

    folder = Path(experiment_dir)
    if seed_logs(folder):
        return None
    merged = Path(merged_path)
    paths = [p for p in hdf5_logs(folder) if p.resolve() != merged.resolve()]
    if num_logs is not None and len(paths) != num_logs:
        raise FileNotFoundError(f"{folder / 'logs'}: {len(paths)} .hdf5 logs, expected "
                                f"{num_logs}")
    if not paths:
        raise FileNotFoundError(f"{folder / 'logs'}: no .hdf5 logs to merge")
    from .hdf5 import read_tree, write_tree

    tree: dict[str, Any] = {}
    for path in paths:
        tree.update(read_tree(path))
    write_tree(merged, tree)
    if delete_files:
        for path in paths:
            path.unlink()
    return merged


def merge_config_logs(experiment_dir: str | Path, all_run_ids: Sequence[str]) -> Path | None:
    """Merge each run's (seed-merged) ``.hdf5`` log into ``<experiment_dir>/meta_log.hdf5``,
    one group per run id. An experiment of ours needs none: returns None."""
    from .merge import hdf5_logs

    root = Path(experiment_dir)
    if (root / "plan.json").is_file():
        return None
    from .hdf5 import read_tree, write_tree

    tree: dict[str, Any] = {}
    for run_id in all_run_ids:
        # mle-logging names a run folder <run_id>, or <yy-mm-dd>_<run_id> (MLELogger's).
        folders = [Path(d) for d, _, _ in os.walk(root)
                   if Path(d).name == run_id or Path(d).name.endswith(f"_{run_id}")]
        logs = [p for f in folders for p in hdf5_logs(f) if p.stem in (run_id, "log")]
        if len(logs) != 1:
            raise FileNotFoundError(f"run {run_id}: expected one logs/{run_id}.hdf5 or "
                                    f"logs/log.hdf5 under {root}, found {len(logs)}")
        tree[run_id] = read_tree(logs[0])
    path = root / "meta_log.hdf5"
    write_tree(path, tree)
    return path


def load_result_logs(experiment_dir: str = "experiments",
                     meta_log_fname: str = "meta_log.hdf5",
                     hyper_log_fname: str = "hyper_log.pkl",
                     aggregate_seeds: bool = True) -> tuple[MetaLog, HyperLog]:
    """(meta_log, hyper_log) of an experiment: mle-toolbox's files, or a folder of ours."""
    meta_log = load_meta_log(os.path.join(experiment_dir, meta_log_fname), aggregate_seeds)
    hyper_log = load_hyper_log(os.path.join(experiment_dir, hyper_log_fname))
    hyper_log.set_search_metrics(meta_log.meta_vars, meta_log.stats_vars, meta_log.time_vars)
    return meta_log, hyper_log


def combine_experiments(experiment_dirs: Sequence[str] = ("experiments",),
                        experiment_ids: Sequence[str] | None = None,
                        aggregate_seeds: bool = True) -> tuple[AttrDict, AttrDict]:
    """Result logs of several experiments by id (default: the folder name)."""
    if experiment_ids is not None and len(experiment_ids) != len(experiment_dirs):
        raise ValueError(f"experiment_ids: {len(experiment_ids)} ids for "
                         f"{len(experiment_dirs)} experiment_dirs")
    metas, hypers = AttrDict(), AttrDict()
    for index, folder in enumerate(experiment_dirs):
        name = experiment_ids[index] if experiment_ids else Path(folder).resolve().name
        metas[name], hypers[name] = load_result_logs(folder, aggregate_seeds=aggregate_seeds)
    return metas, hypers
