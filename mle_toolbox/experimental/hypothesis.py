"""HypothesisTester: is run A better than run B? Pairwise tests with a multiple-testing
correction, at mle-toolbox's import path (``mle_toolbox.experimental.hypothesis``).

Tests (``run_pairwise(metric_name, test=...)``):

- ``ztest`` (mle-toolbox's): one-sided z-test that the seed-mean curve of A minus
  that of B is below zero over the logged steps. Pure Python.
- ``welch``: Welch's t-test over seeds of each run's final value (unequal variances).
- ``paired``: paired t-test over the seeds both runs share (same seed, same data).
  Both need per-seed logs (``load_meta_log(..., aggregate_seeds=False)``) and scipy
  (``pip install scipy``).

``p_vals[n - 1 - i, j]`` is the p-value of "run i < run j" (rows flipped, as
mle-toolbox lays them out for its heatmap); the diagonal is 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

CORRECTIONS = ("bonferroni", "sidak", "holm", "holm-sidak", "simes-hochberg", "fdr_bh")
TESTS = ("ztest", "welch", "paired")


class HypothesisTester:
    """Pairwise tests between the runs of a meta log, and their corrections."""

    def __init__(self, meta_log: Any) -> None:
        self.meta_log = meta_log
        self.eval_ids: list[str] = list(meta_log.eval_ids)
        self.num_evals = len(self.eval_ids)
        self.correct_methods = list(CORRECTIONS)
        self.p_vals: Any = None
        self.corrected_p_vals: dict[str, Any] = {}

    def run_pairwise(self, metric_name: str, test: str = "ztest",
                     alternative: str = "smaller") -> Any:
        """Fill ``p_vals`` (n x n) for every ordered pair; returns it.

        ``alternative="smaller"``: H1 is "A's metric is smaller than B's" (a loss);
        ``"larger"`` for a metric to maximize.
        """
        import numpy as np

        if test not in TESTS:
            raise ValueError(f"test {test!r}: use one of {', '.join(TESTS)}")
        if alternative not in ("smaller", "larger"):
            raise ValueError(f"alternative {alternative!r}: use 'smaller' or 'larger'")
        pair_test = {"ztest": self._ztest, "welch": self._welch, "paired": self._paired}[test]
        n = self.num_evals
        self.p_vals = np.ones((n, n))
        for i in range(n):
            for j in range(n):
                if i != j:
                    self.p_vals[n - 1 - i, j] = pair_test(
                        self.eval_ids[i], self.eval_ids[j], metric_name, alternative)
        return self.p_vals

    def _ztest(self, a: str, b: str, metric: str, alternative: str) -> float:
        import numpy as np

        diff = _mean_curve(self.meta_log[a], metric) - _mean_curve(self.meta_log[b], metric)
        diff = diff[np.isfinite(diff)]
        if len(diff) < 2:
            raise ValueError(f"ztest on {metric!r}: runs {a} and {b} share fewer than 2 "
                             "logged steps")
        spread = float(np.std(diff, ddof=1))
        if spread == 0.0:
            mean = float(np.mean(diff))
            smaller = 0.0 if mean < 0 else 1.0 if mean > 0 else 0.5
            return smaller if alternative == "smaller" else 1.0 - smaller
        z = float(np.mean(diff)) / (spread / math.sqrt(len(diff)))
        below = 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
        return below if alternative == "smaller" else 1.0 - below

    def _welch(self, a: str, b: str, metric: str, alternative: str) -> float:
        stats = _scipy_stats()
        first, second = _final_by_seed(self.meta_log[a], a, metric), _final_by_seed(
            self.meta_log[b], b, metric)
        less = "less" if alternative == "smaller" else "greater"
        result = stats.ttest_ind(list(first.values()), list(second.values()),
                                 equal_var=False, alternative=less)
        return float(result.pvalue)

    def _paired(self, a: str, b: str, metric: str, alternative: str) -> float:
        stats = _scipy_stats()
        first, second = _final_by_seed(self.meta_log[a], a, metric), _final_by_seed(
            self.meta_log[b], b, metric)
        shared = sorted(set(first) & set(second))
        if len(shared) < 2:
            raise ValueError(f"paired test: runs {a} and {b} share {len(shared)} seed(s); "
                             "need 2 or more")
        less = "less" if alternative == "smaller" else "greater"
        result = stats.ttest_rel([first[s] for s in shared], [second[s] for s in shared],
                                 alternative=less)
        return float(result.pvalue)

    def run_corrections(self) -> dict[str, Any]:
        """Every correction of ``correct_methods``, row by row (each run against the others)."""
        self.corrected_p_vals = {name: self.single_correction(name)
                                 for name in self.correct_methods}
        return self.corrected_p_vals

    def single_correction(self, correction_name: str) -> Any:
        """``p_vals`` corrected with one method over each row's n-1 tests (diagonal 1)."""
        import numpy as np

        if self.p_vals is None:
            raise RuntimeError("call run_pairwise(metric_name) first")
        if correction_name not in CORRECTIONS:
            raise ValueError(f"correction {correction_name!r}: use one of "
                             f"{', '.join(CORRECTIONS)}")
        correct = _METHODS[correction_name]
        out = np.ones_like(self.p_vals)
        n = self.num_evals
        for row in range(n):
            others = [j for j in range(n) if j != n - 1 - row]
            adjusted = correct([float(self.p_vals[row, j]) for j in others])
            for j, value in zip(others, adjusted, strict=True):
                out[row, j] = value
        return out

    def plot(self, corrected: bool = False, method: str = "bonferroni",
             fname: str | None = None) -> Any:
        """Heatmap of the (corrected) p-values, run A (rows) against run B (columns)."""
        from ..visualize.grid import plot_2D_heatmap

        values = self.corrected_p_vals[method] if corrected else self.p_vals
        fig, ax = plot_2D_heatmap(self.eval_ids, self.eval_ids, values, min_heat=0.0,
                                  max_heat=0.15, title="H0: A = B vs. H1: A < B",
                                  xy_labels=["Run A", "Run B"], variable_name="p-value",
                                  figsize=(12, 10))
        if fname is not None:
            fig.savefig(fname, dpi=300)
            return None
        return fig, ax


def _scipy_stats() -> Any:
    from ..job.trackers import require

    return require("scipy.stats", extra="stats", feature="welch / paired tests",
                   package="scipy")


def _mean_curve(run: Any, metric: str) -> Any:
    import numpy as np

    if "stats" in run:
        series = run["stats"][metric]
        return np.asarray(series["mean"] if isinstance(series, dict) else series, float)
    seeds = [np.asarray(run[s]["stats"][metric], float) for s in run.eval_ids]
    length = min(len(s) for s in seeds)
    return np.mean([s[:length] for s in seeds], axis=0)


def _final_by_seed(run: Any, run_id: str, metric: str) -> dict[str, float]:
    """Last finite value of ``metric`` per seed of a per-seed run log."""
    import numpy as np

    if "stats" in run:
        raise ValueError(f"run {run_id}: welch / paired tests need per-seed logs; load with "
                         "load_meta_log(..., aggregate_seeds=False)")
    out = {}
    for seed in run.eval_ids:
        values = np.asarray(run[seed]["stats"][metric], float)
        finite = values[np.isfinite(values)]
        if len(finite):
            out[seed] = float(finite[-1])
    return out


def _bonferroni(p: list[float]) -> list[float]:
    return [min(1.0, v * len(p)) for v in p]


def _sidak(p: list[float]) -> list[float]:
    return [1.0 - (1.0 - v) ** len(p) for v in p]


def _step_down(p: list[float], adjust: Callable[[float, int], float]) -> list[float]:
    """Holm-style: sorted ascending, adjust by the number of hypotheses left, running max."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    out = [0.0] * len(p)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, adjust(p[index], len(p) - rank)))
        out[index] = running
    return out


def _step_up(p: list[float], factor: Callable[[int, int], float]) -> list[float]:
    """Hochberg / Benjamini-Hochberg: sorted descending, running min of p * factor."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i], reverse=True)
    out = [0.0] * m
    running = 1.0
    for position, index in enumerate(order):
        rank = m - position  # 1-based rank in ascending order
        running = min(running, p[index] * factor(rank, m))
        out[index] = min(1.0, running)
    return out


_METHODS: dict[str, Callable[[list[float]], list[float]]] = {
    "bonferroni": _bonferroni,
    "sidak": _sidak,
    "holm": lambda p: _step_down(p, lambda v, k: v * k),
    "holm-sidak": lambda p: _step_down(p, lambda v, k: 1.0 - (1.0 - v) ** k),
    "simes-hochberg": lambda p: _step_up(p, lambda rank, m: m - rank + 1),
    "fdr_bh": lambda p: _step_up(p, lambda rank, m: m / rank),
}
