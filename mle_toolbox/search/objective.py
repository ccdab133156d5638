"""The objective of one evaluation: a metric's final or best value, aggregated over seeds."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config.meta_types import SearchConfig
    from ..files.documents import SummaryDocument


def aggregate(values: list[float], how: str) -> float:
    """mean, median, min, max or a percentile ``pNN`` (linear interpolation)."""
    if how == "mean":
        return statistics.fmean(values)
    if how == "median":
        return float(statistics.median(values))
    if how in ("min", "max"):
        return min(values) if how == "min" else max(values)
    return percentile(values, float(how[1:]))


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile, interpolated as numpy's default does."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def objective(summary: SummaryDocument, *, search: SearchConfig,
              seeds: tuple[int, ...]) -> tuple[float | None, str]:
    """(objective, reason): the modelled metric (``metric_to_model``, else the first).

    None with a reason when a seed logged no value of the metric.
    """
    metric = search.options.metric_to_model or search.eval_metrics[0]
    return _value(summary, metric, search=search, seeds=seeds)


def objectives(summary: SummaryDocument, *, search: SearchConfig,
               seeds: tuple[int, ...]) -> tuple[dict[str, float] | None, str]:
    """Every eval metric's value; None with a reason when one is missing."""
    out = {}
    for metric in search.eval_metrics:
        value, reason = _value(summary, metric, search=search, seeds=seeds)
        if value is None:
            return None, reason
        out[metric] = value
    return out, ""


def _value(summary: SummaryDocument, metric: str, *, search: SearchConfig,
           seeds: tuple[int, ...]) -> tuple[float | None, str]:
    entry = summary.metrics.get(metric, {}).get(search.problem_type, {})
    per_seed = entry.get("per_seed", {})
    missing = [s for s in seeds if per_seed.get(str(s)) is None]
    if missing:
        return None, f"no value of {metric!r} logged by seed(s) {missing}"
    return aggregate([float(per_seed[str(s)]) for s in seeds], search.aggregate_seeds), ""
