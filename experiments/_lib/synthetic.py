"""Synthetic datasets of the gallery: deterministic for a seed, at most 1 GB.

    X, y, w = make_regression(n_samples=2000, n_features=20, n_informative=5,
                              noise=0.1, seed=0)
    X, y = make_classification(n_samples=1500, n_features=10, n_classes=4,
                               class_sep=1.0, seed=0)
"""

from __future__ import annotations

import numpy as np

MAX_BYTES = 10**9  # 1 GB: a typo in n_samples should fail fast, not swap the machine


def check_size(*, n_samples: int, n_features: int) -> int:
    """Bytes the float64 data will take; ValueError when over ``MAX_BYTES``."""
    for name, value in (("n_samples", n_samples), ("n_features", n_features)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    nbytes = (n_samples * n_features + n_samples) * 8
    if nbytes > MAX_BYTES:
        raise ValueError(
            f"dataset of {n_samples} x {n_features} float64 values needs "
            f"{nbytes / 1e9:.1f} GB, over the 1 GB limit; lower n_samples or n_features")
    return nbytes


def make_regression(*, n_samples: int, n_features: int, n_informative: int, noise: float,
                    seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``y = X w + noise``: only ``n_informative`` entries of ``w`` are non-zero.

    Returns (X, y, w).
    """
    check_size(n_samples=n_samples, n_features=n_features)
    if not 0 <= n_informative <= n_features:
        raise ValueError(f"n_informative must be between 0 and n_features ({n_features}), "
                         f"got {n_informative}")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_samples, n_features))
    w = np.zeros(n_features)
    chosen = rng.choice(n_features, size=n_informative, replace=False)
    w[chosen] = rng.uniform(1.0, 3.0, size=n_informative) * rng.choice([-1.0, 1.0],
                                                                        size=n_informative)
    y = x @ w + noise * rng.normal(size=n_samples)
    return x, y, w


def make_classification(*, n_samples: int, n_features: int, n_classes: int, class_sep: float,
                        seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters (unit variance) around ``class_sep``-scaled random centers.

    Returns (X, y) with integer labels ``0 .. n_classes - 1``.
    """
    check_size(n_samples=n_samples, n_features=n_features)
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}")
    rng = np.random.default_rng(seed)
    centers = class_sep * rng.normal(size=(n_classes, n_features))
    y = rng.integers(n_classes, size=n_samples)
    x = centers[y] + rng.normal(size=(n_samples, n_features))
    return x, y


def train_test_split(x: np.ndarray, y: np.ndarray, *, test_fraction: float,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """First rows for training, the rest for testing (the data is already random)."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    cut = round(len(x) * (1.0 - test_fraction))
    return x[:cut], y[:cut], x[cut:], y[cut:]
