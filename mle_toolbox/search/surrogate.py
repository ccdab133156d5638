"""Surrogate models and acquisition functions of SMBO, on scikit-learn.

Why not scikit-optimize (what mle-hyperopt calls): its repository is archived and
its last release (0.10, 2024) trails numpy / scikit-learn releases. scikit-learn is
maintained and has every model SMBO names: ``GP`` (Matern 5/2 Gaussian process),
``RF`` / ``ET`` (random / extra trees; the spread of the trees is the uncertainty),
``GBRT`` (gradient boosting, quantile 16/50/84 %). The acquisitions are ours:
``EI``, ``PI``, ``LCB`` and ``gp_hedge`` (a softmax over the three by their gains,
as skopt does). Everything minimises; points live in the unit cube.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from ..config.search_space import SearchParam

KAPPA = 1.96  # LCB: mean - KAPPA * std
XI = 0.01  # EI / PI: the improvement that counts
ACQUISITIONS = ("EI", "LCB", "PI")
CANDIDATES = 1000


class Space:
    """Encodes points of the search space into the unit cube and back."""

    def __init__(self, params: tuple[SearchParam, ...]) -> None:
        self.params = params
        self.width = sum(len(p.values) if p.kind == "categorical" else 1 for p in params)

    def encode(self, point: dict[str, Any]) -> list[float]:
        """One row of the design matrix."""
        row: list[float] = []
        for p in self.params:
            value = point[p.name]
            if p.kind == "categorical":
                row += [1.0 if v == value else 0.0 for v in p.values]
                continue
            assert p.begin is not None and p.end is not None
            lo, hi, x = float(p.begin), float(p.end), float(value)
            if p.prior == "log-uniform":
                lo, hi, x = math.log(lo), math.log(hi), math.log(x)
            row.append(0.0 if hi == lo else (x - lo) / (hi - lo))
        return row

    def decode(self, row: Any) -> dict[str, Any]:
        """The point of a row (integers rounded, categoricals by the largest entry)."""
        out: dict[str, Any] = {}
        i = 0
        for p in self.params:
            if p.kind == "categorical":
                chunk = [float(v) for v in row[i:i + len(p.values)]]
                out[p.name] = p.values[chunk.index(max(chunk))]
                i += len(p.values)
                continue
            assert p.begin is not None and p.end is not None
            u = min(max(float(row[i]), 0.0), 1.0)
            i += 1
            lo, hi = float(p.begin), float(p.end)
            if p.prior == "log-uniform":
                value = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
            else:
                value = lo + u * (hi - lo)
            value = min(max(value, lo), hi)
            out[p.name] = round(value) if p.kind == "integer" else float(value)
        return out


def fit_model(kind: str, x: Any, y: Any, *, seed: int, like: Any = None) -> Any:
    """A fitted surrogate with ``predict(x) -> (mean, std)``.

    ``like``: a GP fitted before whose kernel is reused as is (no hyperparameter
    search): the constant-liar refits of one batch cost a matrix factorisation each.
    """
    import numpy as np
    if kind == "GP":
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
        kernel = (ConstantKernel(1.0, (1e-3, 1e3))
                  * Matern(length_scale=np.ones(x.shape[1]), length_scale_bounds=(1e-2, 1e2),
                           nu=2.5)
                  + WhiteKernel(1e-6, (1e-9, 1e-1)))
        if like is not None:
            kernel = like.gp.kernel_
        gp = GaussianProcessRegressor(kernel=kernel, normalize_y=True, random_state=seed,
                                      optimizer=None if like is not None else "fmin_l_bfgs_b")
        with warnings.catch_warnings():  # a length scale at its bound is fine here
            warnings.simplefilter("ignore")
            gp.fit(x, y)
        return _GpModel(gp)
    if kind in ("RF", "ET"):
        from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
        cls = RandomForestRegressor if kind == "RF" else ExtraTreesRegressor
        forest = cls(n_estimators=16, min_samples_leaf=2, random_state=seed)
        forest.fit(x, y)
        return _ForestModel(forest)
    from sklearn.ensemble import GradientBoostingRegressor
    models = [GradientBoostingRegressor(loss="quantile", alpha=a, n_estimators=20,
                                        random_state=seed).fit(x, y)
              for a in (0.16, 0.5, 0.84)]
    return _QuantileModel(models)


class _GpModel:
    def __init__(self, gp: Any) -> None:
        self.gp = gp

    def predict(self, x: Any) -> tuple[Any, Any]:
        mean, std = self.gp.predict(x, return_std=True)
        return mean, std


class _ForestModel:
    def __init__(self, forest: Any) -> None:
        self.forest = forest

    def predict(self, x: Any) -> tuple[Any, Any]:
        import numpy as np
        per_tree = np.stack([t.predict(x) for t in self.forest.estimators_])
        return per_tree.mean(axis=0), per_tree.std(axis=0)


class _QuantileModel:
    def __init__(self, models: list[Any]) -> None:
        self.models = models

    def predict(self, x: Any) -> tuple[Any, Any]:
        low, mid, high = (m.predict(x) for m in self.models)
        return mid, abs(high - low) / 2.0


def acquisition(name: str, mean: Any, std: Any, *, best: float) -> Any:
    """Scores to maximise: minus LCB, expected improvement or probability of improvement."""
    import numpy as np
    from scipy.stats import norm
    if name == "LCB":
        return -(mean - KAPPA * std)
    safe = np.maximum(std, 1e-12)
    z = (best - XI - mean) / safe
    if name == "PI":
        return norm.cdf(z)
    return (best - XI - mean) * norm.cdf(z) + safe * norm.pdf(z)
