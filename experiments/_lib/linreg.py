"""Linear regression in numpy: closed form with L2 (pseudoinverse fallback) and GD."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

COND_LIMIT = 1e10  # beyond this, solving the normal equations loses most digits


@dataclass
class LinearModel:
    """``y = X @ weights + bias``."""

    weights: np.ndarray
    bias: float = 0.0

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions for the rows of ``x``."""
        return x @ self.weights + self.bias

    def params(self) -> dict[str, np.ndarray]:
        """Arrays to checkpoint (``mle.log.save_model(model.params())``)."""
        return {"weights": self.weights, "bias": np.asarray(self.bias)}

    @classmethod
    def from_params(cls, params: dict[str, np.ndarray]) -> LinearModel:
        """Rebuild from ``params()`` (e.g. a loaded .npz checkpoint)."""
        return cls(weights=np.asarray(params["weights"]), bias=float(params["bias"]))


def fit_closed_form(x: np.ndarray, y: np.ndarray, *, l2: float = 0.0) -> LinearModel:
    """Ridge solution of the normal equations (the bias is not penalised).

    When the system is near-singular (condition number above ``COND_LIMIT``) it
    warns with the condition number and uses the pseudoinverse instead.
    """
    xb = np.hstack([x, np.ones((len(x), 1))])
    penalty = l2 * np.eye(xb.shape[1])
    penalty[-1, -1] = 0.0
    gram = xb.T @ xb + penalty
    cond = float(np.linalg.cond(gram))
    if not np.isfinite(cond) or cond > COND_LIMIT:
        warnings.warn(f"near-singular normal equations (condition number {cond:.3g}); "
                      "using the pseudoinverse", RuntimeWarning, stacklevel=2)
        solution = np.linalg.pinv(gram) @ (xb.T @ y)
    else:
        solution = np.linalg.solve(gram, xb.T @ y)
    return LinearModel(weights=solution[:-1], bias=float(solution[-1]))


def gradient_step(model: LinearModel, x: np.ndarray, y: np.ndarray, *, lrate: float,
                  l2: float = 0.0) -> float:
    """One full-batch gradient step on MSE + l2 * |w|^2; returns the MSE before it."""
    error = model.predict(x) - y
    grad_w = 2.0 * x.T @ error / len(y) + 2.0 * l2 * model.weights
    model.weights = model.weights - lrate * grad_w
    model.bias -= lrate * 2.0 * float(np.mean(error))
    return float(np.mean(error**2))


def mse(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean squared error."""
    return float(np.mean((y - pred) ** 2))


def r2_score(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination (1 is perfect, 0 is predicting the mean)."""
    total = float(np.sum((y - np.mean(y)) ** 2))
    return 1.0 - float(np.sum((y - pred) ** 2)) / total if total > 0 else 0.0
