"""Result objects with mle-logging's attribute paths: ``Log`` (one seed, or one run
aggregated over seeds) and ``MetaLog`` (several of them by id).

``log.stats.<metric>``, ``log.time.<var>``, ``log.meta.<key>``; aggregated logs hold
``mean`` / ``std`` / ``p10`` ... ``p90`` per metric. ``meta_vars`` / ``stats_vars`` /
``time_vars``, ``eval_ids``, ``filter(run_ids)`` and ``plot(target)`` as in
mle-logging's ``MetaLog``; a ``MetaLog`` of a single log answers that log's
attributes too (``load_log(run).stats`` when the run has one seed).
"""

from __future__ import annotations

from collections.abc import Iterable

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import Any
else:
    Any = object  # only subscripted at run time (dict[str, Any]): any object will do


class AttrDict(dict[str, Any]):
    """dict with attribute access, for results."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no entry {name!r}; have: {', '.join(self)}") from None


class Log(AttrDict):
    """One seed's log or one run aggregated over seeds: ``stats``, ``time``, ``meta``."""

    @property
    def meta_vars(self) -> list[str]:
        """Names under ``meta``."""
        return list(self.get("meta", {}))

    @property
    def stats_vars(self) -> list[str]:
        """Names under ``stats``."""
        return list(self.get("stats", {}))

    @property
    def time_vars(self) -> list[str]:
        """Names under ``time``."""
        return list(self.get("time", {}))

    def plot(self, target_to_plot: str, iter_to_plot: str | None = None, fig: Any = None,
             ax: Any = None) -> tuple[Any, Any]:
        """Learning curve of ``target_to_plot`` over ``iter_to_plot`` (needs matplotlib)."""
        return MetaLog({"log": self}).plot(target_to_plot, iter_to_plot, fig=fig, ax=ax)


class MetaLog(AttrDict):
    """Logs by id (runs of an experiment, or seeds of a run).

    ``ids_key`` names the entry that lists the ids (``eval_ids`` / ``seed_ids``), kept
    as a key as earlier versions of this package did.
    """

    def __init__(self, logs: dict[str, Any], *, ids_key: str = "eval_ids") -> None:
        super().__init__(logs)
        self._ids = list(logs)
        self._ids_key = ids_key
        self[ids_key] = list(logs)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            # mle-logging makes a log of a single run "shallow": log.stats.loss.
            if len(self._ids) == 1 and not name.startswith("_"):
                return getattr(self[self._ids[0]], name)
            raise

    @property
    def eval_ids(self) -> list[str]:
        """Ids of the logs held (runs, or seeds)."""
        return list(self._ids)

    @property
    def num_configs(self) -> int:
        """How many logs are held."""
        return len(self._ids)

    def _first_leaf(self) -> Log:
        node: Any = self
        while not isinstance(node, Log):
            ids = node.eval_ids if isinstance(node, MetaLog) else []
            if not ids:
                return Log()
            node = node[ids[0]]
        return node

    @property
    def meta_vars(self) -> list[str]:
        """Names under ``meta`` (of the first log)."""
        return self._first_leaf().meta_vars

    @property
    def stats_vars(self) -> list[str]:
        """Names under ``stats`` (of the first log)."""
        return self._first_leaf().stats_vars

    @property
    def time_vars(self) -> list[str]:
        """Names under ``time`` (of the first log)."""
        return self._first_leaf().time_vars

    def filter(self, run_ids: Iterable[str]) -> MetaLog:
        """The logs of ``run_ids`` only; an unknown id raises KeyError naming the known ones."""
        chosen = list(run_ids)
        unknown = [r for r in chosen if r not in self._ids]
        if unknown:
            raise KeyError(f"no run {', '.join(map(repr, unknown))}; have: "
                           f"{', '.join(self._ids)}")
        return MetaLog({r: self[r] for r in chosen}, ids_key=self._ids_key)

    def plot(self, target_to_plot: str, iter_to_plot: str | None = None, fig: Any = None,
             ax: Any = None) -> tuple[Any, Any]:
        """Curves of ``target_to_plot`` for every log held (needs matplotlib)."""
        from ..visualize.lines import visualize_1D_lcurves

        iter_to_plot = iter_to_plot or (self.time_vars[0] if self.time_vars else None)
        drawn = visualize_1D_lcurves(self, iter_to_plot=iter_to_plot,
                                     target_to_plot=target_to_plot, run_ids=self._ids,
                                     smooth_window=1, plot_title=target_to_plot, fig=fig, ax=ax)
        return (drawn[0], drawn[1])

    def to_dataframe(self) -> Any:
        """Long table; needs pandas.

        Per seed (default): one row per run, seed and logged step with every time and
        stats column. Aggregated (``aggregate_seeds=True``): one row per run and step
        with ``<metric>_mean``, ``<metric>_std`` and ``<metric>_p<q>`` columns.
        """
        try:
            import pandas as pd  # type: ignore[import-untyped, unused-ignore]
        except ImportError as err:
            raise ImportError("to_dataframe() needs pandas: pip install pandas") from err
        rows: list[dict[str, Any]] = []
        for run_id in self._ids:
            run = self[run_id]
            if "stats" in run:
                rows += _aggregated_rows(run_id, run)
                continue
            for seed_id in run.eval_ids:
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
        row.update({name: values[step] for name, values in agg["time"].items()
                    if not isinstance(values, dict)})
        for name, series in agg["stats"].items():
            row.update({f"{name}_{stat}": values[step] for stat, values in series.items()})
        rows.append(row)
    return rows
