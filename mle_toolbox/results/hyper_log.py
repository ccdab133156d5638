"""HyperLog: one row per run (its parameters and final metrics), mle-toolbox's table.

Read from mle-toolbox's ``hyper_log.pkl`` or built from an experiment of ours
(``plan.json`` parameters, ``summary.json`` / metrics logs for the values). A plain
list of rows: pandas is not needed (``.hyper_log`` gives a DataFrame when it is
installed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..files.layout import ExperimentLayout


class HyperLog:
    """Rows of run parameters and results; ``log.<column>`` is that column as a list."""

    def __init__(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self.rows = [dict(r) for r in rows]
        self.search_vars: list[str] = []
        self.search_metrics: list[str] = []

    @property
    def columns(self) -> list[str]:
        """Column names, in first-seen order."""
        return list(dict.fromkeys(k for r in self.rows for k in r))

    @property
    def eval_ids(self) -> list[str]:
        """The ``run_id`` of every row."""
        return [str(r.get("run_id")) for r in self.rows]

    @property
    def hyper_log(self) -> Any:
        """The rows as a pandas DataFrame (needs pandas)."""
        from ..job.trackers import require

        pandas = require("pandas", extra="pandas", feature="HyperLog.hyper_log")
        return pandas.DataFrame(self.rows)

    def __getattr__(self, name: str) -> list[Any]:
        if name.startswith("_") or name in ("rows",):
            raise AttributeError(name)
        if not any(name in r for r in self.__dict__.get("rows", [])):
            raise AttributeError(f"no column {name!r}")
        return self[name]

    def __getitem__(self, column: str) -> list[Any]:
        return [r.get(column) for r in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"HyperLog({len(self.rows)} runs; columns: {', '.join(self.columns)})"

    def set_search_metrics(self, meta_vars: list[str], stats_vars: list[str],
                           time_vars: list[str]) -> None:
        """Which columns are searched parameters and which are metrics."""
        known = set(meta_vars + stats_vars + time_vars + ["run_id", "log_fname", "seeds"])
        self.search_vars = [c for c in self.columns if c not in known]
        self.search_metrics = list(stats_vars)

    def filter(self, param_dict: Mapping[str, Any] | None = None,
               metric_name: str | None = None, top_k: int = 5,
               maximize_metric: bool = False) -> HyperLog:
        """Rows whose parameters are closest to ``param_dict``; then the ``top_k`` rows by
        ``metric_name`` (smallest first, or largest with ``maximize_metric``)."""
        rows = self.rows
        for name, want in (param_dict or {}).items():
            rows = _closest(rows, name, want)
        if metric_name is not None:
            scored = [r for r in rows if isinstance(r.get(metric_name), int | float)]
            rows = sorted(scored, key=lambda r: float(r[metric_name]),
                          reverse=maximize_metric)[:top_k]
        out = HyperLog(rows)
        out.search_vars, out.search_metrics = self.search_vars, self.search_metrics
        return out

    def unique(self, var_name: str | list[str] | None = None) -> Any:
        """Distinct values of one column, or a dict of them for several / all columns."""
        if isinstance(var_name, str):
            return list(dict.fromkeys(self[var_name]))
        names = var_name if var_name is not None else self.columns
        return {n: list(dict.fromkeys(self[n])) for n in names}


def _closest(rows: list[dict[str, Any]], name: str, want: Any) -> list[dict[str, Any]]:
    if isinstance(want, int | float) and not isinstance(want, bool):
        numbers = [float(r[name]) for r in rows if isinstance(r.get(name), int | float)]
        if not numbers:
            return []
        best = min(numbers, key=lambda v: abs(v - float(want)))
        return [r for r in rows if isinstance(r.get(name), int | float)
                and float(r[name]) == best]
    return [r for r in rows if r.get(name) == want]


def load_hyper_log(hyper_log_fpath: str | Path) -> HyperLog:
    """mle-toolbox's ``hyper_log.pkl``, or the runs of an experiment folder of ours
    (``<experiment>/hyper_log.pkl`` of ours, which does not exist, reads the folder)."""
    path = Path(hyper_log_fpath)
    if path.is_file():
        import pickle

        with open(path, "rb") as handle:
            stored = pickle.load(handle)  # mle-toolbox wrote it; a file the user chose
        return HyperLog(_unravel(item) for item in stored.values())
    folder = path if path.is_dir() else path.parent
    if not ExperimentLayout(folder).plan.is_file():
        raise FileNotFoundError(f"{path}: no hyper_log.pkl and not an experiment folder "
                                "(no plan.json)")
    return HyperLog(_our_rows(folder))


def _unravel(item: Mapping[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in item.items() if k != "params"}
    return {**dict(item.get("params", {})), **row}


def _our_rows(folder: Path) -> list[dict[str, Any]]:
    layout = ExperimentLayout(folder)
    plan = json.loads(layout.plan.read_text(encoding="utf-8"))
    rows = []
    for run in plan["runs"]:
        run_id = run["run_id"]
        row: dict[str, Any] = {"run_id": run_id, **_flat(run.get("params") or {})}
        row["log_fname"] = str(layout.run_dir(run_id) / "logs")
        summary = layout.summary(run_id)
        if summary.is_file():
            metrics = json.loads(summary.read_text(encoding="utf-8")).get("metrics", {})
        else:
            from .merge import seed_logs, summarize_run

            run_dir = layout.run_dir(run_id)
            metrics = summarize_run(run_dir)["metrics"] if seed_logs(run_dir) else {}
        for name, kinds in metrics.items():
            row[name] = kinds.get("final", {}).get("mean")
        rows.append(row)
    return rows


def _flat(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flat(value, name + "."))
        else:
            out[name] = value
    return out
