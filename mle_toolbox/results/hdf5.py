"""Read mle-logging's ``.hdf5`` logs (optional ``h5py`` extra).

mle-logging writes one group per seed (``seed_<s>/{meta,stats,time}/<name>``) to
``logs/log_seed_<s>.hdf5``; ``merge_seed_logs`` puts the seeds of a run into one
file, ``merge_config_logs`` the runs of an experiment into ``meta_log.hdf5``
(``<run_id>/seed_<s>/...``, or flat ``<run_id>_seed_<s>/...``). ``read_tree`` gives
``{log name: {"meta"|"stats"|"time": {name: array}}}`` for each such leaf log,
nested one level deeper when the file groups seeds under runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .meta_log import AttrDict, Log, MetaLog

SOURCES = frozenset({"meta", "stats", "time"})
SEED_SEPARATOR = "_seed_"
# Meta entries that are the same for every seed of a run: one string when aggregated.
SHARED_META = ("experiment_dir", "eval_id", "config_fname", "model_type")


def h5py_module() -> Any:
    """Import h5py, or say which extra installs it."""
    from ..job.trackers import require

    return require("h5py", extra="hdf5", feature="reading mle-logging's .hdf5 logs")


def read_tree(path: str | Path) -> dict[str, Any]:
    """Every dataset of an mle-logging file as nested dicts of numpy arrays."""
    h5py = h5py_module()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such .hdf5 log")
    with h5py.File(path, mode="r") as handle:
        tree = _group(h5py, handle)
    if not tree:
        raise ValueError(f"{path}: an empty .hdf5 file (no logged seed)")
    return tree


def _group(h5py: Any, group: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, item in group.items():
        out[name] = _group(h5py, item) if isinstance(item, h5py.Group) else item[()]
    return out


def is_leaf(node: Any) -> bool:
    """A seed's log: a group whose children are meta / stats / time."""
    return isinstance(node, dict) and bool(node) and set(node) <= SOURCES


def write_tree(path: str | Path, tree: dict[str, Any]) -> None:
    """Write nested dicts of arrays as groups and datasets (merge_* helpers)."""
    h5py = h5py_module()
    with h5py.File(path, mode="w") as handle:
        _write(handle, tree)


def _write(group: Any, tree: dict[str, Any]) -> None:
    for name, value in tree.items():
        if isinstance(value, dict):
            _write(group.require_group(name), value)
        else:
            group.create_dataset(name, data=value)


def from_tree(tree: dict[str, Any], *, aggregate_seeds: bool) -> Any:
    """mle-logging's result object for a file's tree.

    Not aggregated: a MetaLog by group name (``seed_0``, ``<run>_seed_0``), or by run
    and then seed for files that nest seeds under runs. Aggregated: one Log per run
    (seeds grouped by the ``_seed_`` suffix; bare ``seed_<s>`` groups form the run
    ``eval``), returned directly when there is one run, as mle-logging does.
    """
    flat = all(is_leaf(node) for node in tree.values())
    if flat:
        if not aggregate_seeds:
            return MetaLog({name: _leaf(node) for name, node in tree.items()})
        groups: dict[str, dict[str, Log]] = {}
        for name, node in tree.items():
            run, sep, seed = name.rpartition(SEED_SEPARATOR)
            key, seed_name = (run, f"seed_{seed}") if sep else ("eval", name)
            groups.setdefault(key, {})[seed_name] = _leaf(node)
    else:
        nested = {run: {seed: _leaf(node) for seed, node in seeds.items() if is_leaf(node)}
                  for run, seeds in tree.items() if isinstance(seeds, dict)}
        if not aggregate_seeds:
            return MetaLog({run: MetaLog(seeds, ids_key="seed_ids")
                            for run, seeds in nested.items()})
        groups = nested
    runs = {run: aggregate(seeds) for run, seeds in groups.items() if seeds}
    if len(runs) == 1:
        return next(iter(runs.values()))
    return MetaLog(runs)


def _leaf(node: dict[str, Any]) -> Log:
    return Log({part: AttrDict(node.get(part, {})) for part in ("meta", "stats", "time")})


def aggregate(seeds: dict[str, Log]) -> Log:
    """mean / std / p10..p90 over seeds per time and stats variable (series of
    different lengths: each step over the seeds that reached it); meta merged."""
    import numpy as np

    out = Log(meta=_merge_meta(np, seeds), stats=AttrDict(), time=AttrDict(),
              seed_ids=list(seeds))
    for part in ("time", "stats"):
        names = [n for n in next(iter(seeds.values()))[part]
                 if all(n in log[part] for log in seeds.values())]
        for name in names:
            columns = [np.asarray(log[part][name]) for log in seeds.values()]
            if any(c.dtype.kind not in "biuf" for c in columns) or len(
                    {c.shape[1:] for c in columns}) > 1:
                out[part][name] = columns  # text: nothing to average, as mle-logging
                continue
            out[part][name] = _over_seeds(np, columns)
    return out


def _over_seeds(np: Any, columns: list[Any]) -> AttrDict:
    from .merge import seed_statistics

    length = max(len(c) for c in columns)
    stack = np.full((len(columns), length, *columns[0].shape[1:]), np.nan)
    for index, column in enumerate(columns):
        stack[index, : len(column)] = column
    return seed_statistics(np, stack)


def _merge_meta(np: Any, seeds: dict[str, Log]) -> AttrDict:
    meta = AttrDict()
    first = next(iter(seeds.values()))["meta"]
    for name in first:
        values = [_text(np, log["meta"].get(name)) for log in seeds.values()]
        if name in SHARED_META:
            meta[name] = values[0][0] if len(values[0]) else ""
        else:
            meta[name] = [v for vs in values for v in vs]
    meta["seeds"] = [int(name.rpartition("seed_")[2]) for name in seeds
                     if name.rpartition("seed_")[2].lstrip("-").isdigit()]
    return meta


def _text(np: Any, value: Any) -> list[str]:
    items = np.atleast_1d(np.asarray(value)).ravel().tolist() if value is not None else []
    return [v.decode() if isinstance(v, bytes) else str(v) for v in items]
