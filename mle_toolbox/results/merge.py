"""Merged results: per-run summaries over seeds, and the loading API.

``summarize_run`` is pure Python (runs in the launcher after a sweep).
``load_log`` / ``load_meta_log`` return numpy arrays with attribute access, like
mle-toolbox's; numpy (and pandas for ``to_dataframe``) are imported only here.
"""

from __future__ import annotations

import json
import math
import re
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path

from ..files.layout import ExperimentLayout, JobLayout
from ..job.metrics import read_rows
from ..lazy_pattern import compile_on_first_use
from .meta_log import AttrDict, Log, MetaLog

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["AttrDict", "Log", "MetaLog", "load_log", "load_meta_log", "summarize_run"]

_SEED_FILE = re.compile(r"^seed_(-?\d+)\.jsonl$")
# mle-logging's log_<seed_id>.hdf5; compiled on first use: this module is on mle run's path
_UPSTREAM_SEED_FILE = compile_on_first_use(r"^log_seed_(-?\d+)$")
PERCENTILES = (10, 25, 50, 75, 90)


def seed_logs(run_dir: Path) -> dict[int, Path]:
    """Metrics logs of a run by seed, sorted by seed."""
    found = {}
    logs = run_dir / "logs"
    if logs.is_dir():
        for path in logs.iterdir():
            match = _SEED_FILE.match(path.name)
            if match:
                found[int(match.group(1))] = path
    return dict(sorted(found.items()))


def read_series(path: Path) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """Columns of one metrics log: (time columns, stats columns).

    Every column has one entry per row: None where a row lacks the key, so that
    ``stats.acc[i]`` belongs to ``time.step[i]`` even when keys come and go.
    """
    times: dict[str, list[Any]] = {}
    stats: dict[str, list[Any]] = {}
    for index, row in enumerate(read_rows(path)):
        for target, part in ((times, row.get("time") or {}), (stats, row.get("stats") or {})):
            for key, value in part.items():
                target.setdefault(key, [None] * index).append(value)
        for column in (*times.values(), *stats.values()):
            if len(column) == index:
                column.append(None)
    return times, stats


def _numbers(values: Iterable[Any]) -> list[float]:
    return [float(v) for v in values
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)]


def _mean_std(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "std": None}
    if sys.version_info >= (3, 11):
        # statistics.fmean / pstdev to the last bit (moments.py says why), without
        # importing statistics (fractions, decimal, random: ~5 ms after the last job).
        from .moments import fmean, pstdev
    else:  # 3.10's pstdev rounded differently: keep its values
        from statistics import fmean, pstdev
    std = pstdev(values) if len(values) > 1 else 0.0
    return {"mean": fmean(values), "std": std}


def summarize_run(run_dir: Path, *, maximize: Iterable[str] = ()) -> dict[str, Any]:
    """Final and best value of each metric per seed, with mean/std over seeds.

    "best" is the minimum, or the maximum for metrics named in ``maximize``.
    """
    per_seed: dict[str, dict[str, dict[int, float]]] = {}
    maximize = set(maximize)
    seeds = seed_logs(run_dir)
    for seed, path in seeds.items():
        _, stats = read_series(path)
        for name, column in stats.items():
            values = _numbers(column)
            if not values:
                continue
            entry = per_seed.setdefault(name, {"final": {}, "best": {}})
            entry["final"][seed] = values[-1]
            entry["best"][seed] = max(values) if name in maximize else min(values)
    metrics = {
        name: {kind: {**_mean_std(list(by_seed.values())),
                      "per_seed": {str(s): v for s, v in by_seed.items()}}
               for kind, by_seed in entry.items()}
        for name, entry in per_seed.items()
    }
    return {"run_id": run_dir.name, "seeds": list(seeds), "metrics": metrics}


def load_log(run_dir: str | Path, aggregate_seeds: bool = False) -> Any:
    """Metrics of one run: ``log.seed_0.stats.loss`` (numpy arrays), or aggregated.

    With ``aggregate_seeds=True``: ``log.stats.loss.mean`` / ``.std`` / ``.p50`` ...
    over seeds (series cut to the shortest seed). A run with one seed also answers
    ``log.stats.loss`` directly, as mle-logging does. mle-logging's ``.hdf5`` logs (a
    file, or a folder with ``logs/*.hdf5``) are read too, with the ``h5py`` extra.
    mle-toolbox's paths into a run of ours, where no such file is, read the run:
    ``<run>/logs/log.hdf5`` (its seeds merged) all seeds, ``<run>/logs/log_seed_<s>.hdf5``
    seed ``s``.
    """
    asked = Path(run_dir)
    run_dir, only_seed = _run_of_upstream_path(asked)
    if only_seed is not None and only_seed not in seed_logs(run_dir):
        raise FileNotFoundError(f"{asked}: the run {run_dir} has no seed {only_seed} "
                                f"(seeds: {', '.join(map(str, seed_logs(run_dir)))})")
    if run_dir.suffix == ".hdf5" or (run_dir.is_dir() and not seed_logs(run_dir)
                                     and hdf5_logs(run_dir)):
        return _hdf5_log(run_dir, aggregate_seeds=aggregate_seeds)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: no such run directory")
    seeds = {f"seed_{seed}": _seed_log(path, run_dir, seed)
             for seed, path in seed_logs(run_dir).items()
             if only_seed is None or seed == only_seed}
    if not seeds:
        raise FileNotFoundError(f"{run_dir}: no metrics logs (logs/seed_*.jsonl)")
    if aggregate_seeds:
        return _aggregate(seeds)
    return MetaLog(seeds, ids_key="seed_ids")


def _run_of_upstream_path(path: Path) -> tuple[Path, int | None]:
    """``(run folder, seed or None)`` for mle-toolbox's log path into a run of ours that
    has no such file (mle-logging names a seed's file ``log_seed_<s>.hdf5``, the merged
    one ``log.hdf5``); ``(path, None)`` for any other path."""
    if path.suffix != ".hdf5" or path.parent.name != "logs" or path.exists():
        return path, None
    run, stem = path.parent.parent, path.stem
    seed = _UPSTREAM_SEED_FILE.match(stem)
    if not seed_logs(run) or (stem != "log" and seed is None):
        return path, None
    return run, None if seed is None else int(seed.group(1))


def _hdf5_log(path: Path, *, aggregate_seeds: bool) -> Any:
    from .hdf5 import from_tree, read_tree

    files = [path] if path.suffix == ".hdf5" else hdf5_logs(path)
    tree: dict[str, Any] = {}
    for file in files:
        tree.update(read_tree(file))
    return from_tree(tree, aggregate_seeds=aggregate_seeds)


def hdf5_logs(folder: Path) -> list[Path]:
    """The ``.hdf5`` logs of an mle-toolbox run folder (``logs/*.hdf5``), sorted."""
    logs = folder / "logs"
    return sorted(logs.glob("*.hdf5")) if logs.is_dir() else []


def _seed_log(path: Path, run_dir: Path, seed: int) -> Log:
    import numpy as np

    times, stats = read_series(path)
    return Log(time=AttrDict({k: _array(np, v) for k, v in times.items()}),
               stats=AttrDict({k: _array(np, v) for k, v in stats.items()}),
               meta=_seed_meta(run_dir, seed))


def _seed_meta(run_dir: Path, seed: int) -> AttrDict:
    """mle-logging's meta entries: from MLELogger's meta file, else from the layout."""
    files = JobLayout(run_dir=run_dir, seed=seed)
    config = run_dir / f"{run_dir.name}.json"
    meta = AttrDict(experiment_dir=str(run_dir), eval_id=run_dir.name,
                    config_fname=str(config) if config.is_file() else None,
                    log_paths=[str(files.metrics_log)],
                    model_ckpt=str(files.checkpoints_dir))
    if files.log_meta.is_file():
        written = json.loads(files.log_meta.read_text(encoding="utf-8"))
        meta.update({k: v for k, v in written.items()
                     if k not in ("experiment_dir", "eval_id") and v is not None})
    return meta


def _array(np: Any, column: list[Any]) -> Any:
    """Numbers (None as NaN) as a float/int array; anything else as it comes."""
    if all(v is None or isinstance(v, int | float) for v in column):
        return np.asarray([np.nan if v is None else v for v in column])
    if any(v is None for v in column):
        out = np.empty(len(column), dtype=object)
        out[:] = column
        return out
    return np.asarray(column)


def _aggregate(seeds: dict[str, Log]) -> Log:
    import numpy as np

    first = next(iter(seeds.values()))
    meta = AttrDict(first.meta, seeds=[int(s.removeprefix("seed_")) for s in seeds])
    out = Log(time=AttrDict(), stats=AttrDict(), meta=meta, seed_ids=list(seeds))
    for part in ("time", "stats"):
        names = set.intersection(*(set(log[part]) for log in seeds.values()))
        for name in sorted(names):
            columns = [log[part][name] for log in seeds.values()]
            length = min(len(c) for c in columns)
            if part == "time":
                out.time[name] = columns[0][:length]
                continue
            if (any(c.dtype.kind not in "biuf" for c in columns)
                    or len({c.shape[1:] for c in columns}) > 1):
                continue  # text, or shapes that differ between seeds: nothing to average
            # axis 0 is the seed; a step with no finite value gives NaN, quietly.
            stack = np.stack([c[:length].astype(float) for c in columns])
            out.stats[name] = seed_statistics(np, stack)
    return out


def seed_statistics(np: Any, stack: Any) -> AttrDict:
    """Mean, std and percentiles over axis 0 (the seed), ignoring NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        agg = AttrDict(mean=np.nanmean(stack, axis=0), std=np.nanstd(stack, axis=0))
        # nanpercentile loops in Python per column: 100x slower, only needed with NaN.
        percentile = np.nanpercentile if np.isnan(stack).any() else np.percentile
        for q, values in zip(PERCENTILES, percentile(stack, PERCENTILES, axis=0), strict=True):
            agg[f"p{q}"] = values
    return agg


def load_meta_log(experiment_dir: str | Path, aggregate_seeds: bool | None = None) -> MetaLog:
    """Metrics of every run of an experiment: ``meta_log[run_id]`` / ``meta_log.<run_id>``.

    ``meta_log.eval_ids`` lists the run ids; ``to_dataframe()`` needs pandas.
    ``aggregate_seeds`` defaults to False for our experiment folders and to True for
    mle-logging's ``meta_log.hdf5`` (its default). ``<experiment>/meta_log.hdf5`` of
    an experiment of ours (no such file) reads the folder, aggregated.
    """
    root = Path(experiment_dir)
    if root.suffix == ".hdf5" and not root.exists() and (root.parent / "plan.json").is_file():
        root = root.parent  # an mle-toolbox notebook's path into our folder
        aggregate_seeds = True if aggregate_seeds is None else aggregate_seeds
    elif root.suffix == ".hdf5" or ((root / "meta_log.hdf5").is_file() and not (
            root / "plan.json").is_file()):
        path = root if root.suffix == ".hdf5" else root / "meta_log.hdf5"
        result = _hdf5_log(path, aggregate_seeds=aggregate_seeds is not False)
        return result if isinstance(result, MetaLog) else MetaLog({"eval": result})
    layout = ExperimentLayout(root)
    if not layout.plan.is_file():
        raise FileNotFoundError(f"{root}: not an mle_toolbox experiment directory (no plan.json)")
    plan = json.loads(layout.plan.read_text(encoding="utf-8"))
    runs: dict[str, Any] = {}
    for run in plan["runs"]:
        run_dir = layout.run_dir(run["run_id"])
        if seed_logs(run_dir):
            runs[run["run_id"]] = load_log(run_dir, aggregate_seeds=bool(aggregate_seeds))
    return MetaLog(runs)
