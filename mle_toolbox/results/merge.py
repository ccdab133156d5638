"""Merged results: per-run summaries over seeds, and the loading API.

``summarize_run`` is pure Python (runs in the launcher after a sweep).
``load_log`` / ``load_meta_log`` return numpy arrays with attribute access, like
mle-toolbox's; numpy (and pandas for ``to_dataframe``) are imported only here.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..files.layout import ExperimentLayout
from ..job.metrics import read_rows

_SEED_FILE = re.compile(r"^seed_(-?\d+)\.jsonl$")
PERCENTILES = (10, 25, 50, 75, 90)


class AttrDict(dict[str, Any]):
    """dict with attribute access, for results."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no entry {name!r}; have: {', '.join(self)}") from None


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
    std = statistics.pstdev(values) if len(values) > 1 else 0.0
    return {"mean": statistics.fmean(values), "std": std}


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


def load_log(run_dir: str | Path, *, aggregate_seeds: bool = False) -> AttrDict:
    """Metrics of one run: ``log.seed_0.stats.loss`` (numpy arrays), or aggregated.

    With ``aggregate_seeds=True``: ``log.stats.loss.mean`` / ``.std`` / ``.p50`` ...
    over seeds (series cut to the shortest seed).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: no such run directory")
    seeds = {f"seed_{seed}": _seed_log(path) for seed, path in seed_logs(run_dir).items()}
    if not seeds:
        raise FileNotFoundError(f"{run_dir}: no metrics logs (logs/seed_*.jsonl)")
    if aggregate_seeds:
        return _aggregate(seeds)
    log = AttrDict(seeds)
    log["seed_ids"] = list(seeds)
    return log


def _seed_log(path: Path) -> AttrDict:
    import numpy as np

    times, stats = read_series(path)
    return AttrDict(time=AttrDict({k: _array(np, v) for k, v in times.items()}),
                    stats=AttrDict({k: _array(np, v) for k, v in stats.items()}))


def _array(np: Any, column: list[Any]) -> Any:
    """Numbers (None as NaN) as a float/int array; anything else as it comes."""
    if all(v is None or isinstance(v, int | float) for v in column):
        return np.asarray([np.nan if v is None else v for v in column])
    if any(v is None for v in column):
        out = np.empty(len(column), dtype=object)
        out[:] = column
        return out
    return np.asarray(column)


def _aggregate(seeds: dict[str, AttrDict]) -> AttrDict:
    import numpy as np

    out = AttrDict(time=AttrDict(), stats=AttrDict(), seed_ids=list(seeds))
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
            out.stats[name] = _seed_statistics(np, stack)
    return out


def _seed_statistics(np: Any, stack: Any) -> AttrDict:
    """Mean, std and percentiles over axis 0 (the seed), ignoring NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        agg = AttrDict(mean=np.nanmean(stack, axis=0), std=np.nanstd(stack, axis=0))
        # nanpercentile loops in Python per column: 100x slower, only needed with NaN.
        percentile = np.nanpercentile if np.isnan(stack).any() else np.percentile
        for q, values in zip(PERCENTILES, percentile(stack, PERCENTILES, axis=0), strict=True):
            agg[f"p{q}"] = values
    return agg


def load_meta_log(experiment_dir: str | Path, *, aggregate_seeds: bool = False) -> AttrDict:
    """Metrics of every run of an experiment: ``meta_log[run_id]`` / ``meta_log.<run_id>``.

    ``meta_log.eval_ids`` lists the run ids; ``to_dataframe()`` needs pandas.
    """
    root = Path(experiment_dir)
    layout = ExperimentLayout(root)
    if not layout.plan.is_file():
        raise FileNotFoundError(f"{root}: not an mle_toolbox experiment directory (no plan.json)")
    plan = json.loads(layout.plan.read_text(encoding="utf-8"))
    runs = AttrDict()
    for run in plan["runs"]:
        run_dir = layout.run_dir(run["run_id"])
        if seed_logs(run_dir):
            runs[run["run_id"]] = load_log(run_dir, aggregate_seeds=aggregate_seeds)
    meta = MetaLog(runs)
    meta["eval_ids"] = list(runs)
    return meta


class MetaLog(AttrDict):
    """Results of an experiment by run id."""

    def to_dataframe(self) -> Any:
        """Long table; needs pandas.

        Per seed (default): one row per run, seed and logged step with every time and
        stats column. Aggregated (``aggregate_seeds=True``): one row per run and step
        with ``<metric>_mean``, ``<metric>_std`` and ``<metric>_p<q>`` columns.
        """
        try:
            import pandas as pd  # type: ignore[import-untyped]
        except ImportError as err:
            raise ImportError("to_dataframe() needs pandas: pip install pandas") from err
        rows: list[dict[str, Any]] = []
        for run_id in self["eval_ids"]:
            run = self[run_id]
            if "stats" in run:
                rows += _aggregated_rows(run_id, run)
                continue
            for seed_id in run.get("seed_ids", []):
                rows += _seed_rows(run_id, seed_id, run[seed_id])
        return pd.DataFrame(rows)


def _seed_rows(run_id: str, seed_id: str, log: AttrDict) -> list[dict[str, Any]]:
    length = max((len(v) for v in log["stats"].values()), default=0)
    rows = []
    for step in range(length):
        row = {"run_id": run_id, "seed": seed_id, "step": step}
        for part in ("time", "stats"):
            for name, values in log[part].items():
                row[name] = values[step] if step < len(values) else None
        rows.append(row)
    return rows


def _aggregated_rows(run_id: str, agg: AttrDict) -> list[dict[str, Any]]:
    length = min((len(s["mean"]) for s in agg["stats"].values()), default=0)
    rows = []
    for step in range(length):
        row: dict[str, Any] = {"run_id": run_id, "step": step}
        row.update({name: values[step] for name, values in agg["time"].items()})
        for name, series in agg["stats"].items():
            row.update({f"{name}_{stat}": values[step] for stat, values in series.items()})
        rows.append(row)
    return rows
