"""PNG figures of a report: learning curves per run and a heatmap of a 2-parameter grid.

matplotlib is the optional extra ``plot``; it is imported here only, with the Agg
backend (no display needed), and never at ``import mle_toolbox``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

INSTALL_HINT = "pip install 'mle_toolbox[plot]'"
MAX_CURVE_PANELS = 6
DPI = 100


def pyplot() -> Any | None:
    """matplotlib.pyplot on the Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")  # never a GUI backend: runs on cluster nodes and in CI
    import matplotlib.pyplot as plt

    return plt


def curve_x(agg: Any) -> tuple[str, Any]:
    """The x axis of a run's curves: its first numeric time column, else the row index."""
    import numpy as np

    length = min((len(s.mean) for s in agg.stats.values()), default=0)
    for name, column in agg.time.items():
        if column.dtype.kind in "biuf" and len(column) >= length:
            return name, column[:length]
    return "update", np.arange(length)


def learning_curves(plt: Any, *, agg: Any, run_id: str, path: Path) -> bool:
    """Mean over seeds with a ±1 std band, one panel per metric; False if nothing to plot."""
    metrics = [(name, s) for name, s in agg.stats.items() if s.mean.ndim == 1]
    if not metrics:
        return False
    metrics = metrics[:MAX_CURVE_PANELS]
    xname, x = curve_x(agg)
    cols = min(3, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    try:
        for ax, (name, series) in zip(axes.flat, metrics, strict=False):
            n = len(x)
            ax.plot(x, series.mean[:n], label="mean")
            ax.fill_between(x, series.mean[:n] - series.std[:n],
                            series.mean[:n] + series.std[:n], alpha=0.3, label="± std")
            ax.set_title(name)
            ax.set_xlabel(xname)
            ax.grid(alpha=0.3)
        for ax in list(axes.flat)[len(metrics):]:
            ax.set_visible(False)
        axes.flat[0].legend(fontsize="small")
        fig.suptitle(f"{run_id} ({len(agg.seed_ids)} seeds)")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI)
    finally:
        plt.close(fig)
    return True


def heatmap(plt: Any, *, grid: Sequence[Sequence[float]], xs: Sequence[Any],
            ys: Sequence[Any], labels: tuple[str, str, str], path: Path) -> None:
    """Objective over a 2-parameter grid; ``grid[i][j]`` is at ``ys[i]``, ``xs[j]``.

    ``labels`` are (x parameter, y parameter, objective); missing cells are NaN.
    """
    import numpy as np

    values = np.asarray(grid, dtype=float)
    xname, yname, title = labels
    fig, ax = plt.subplots(figsize=(1.2 * len(xs) + 3, 0.8 * len(ys) + 2.2))
    try:
        image = ax.imshow(values, cmap="viridis", aspect="auto", origin="lower")
        ax.set_xticks(range(len(xs)), [str(v) for v in xs])
        ax.set_yticks(range(len(ys)), [str(v) for v in ys])
        ax.set_xlabel(xname)
        ax.set_ylabel(yname)
        ax.set_title(title)
        for (i, j), value in np.ndenumerate(values):
            if math.isfinite(value):
                ax.text(j, i, f"{value:.3g}", ha="center", va="center", color="w",
                        fontsize="small")
        fig.colorbar(image, ax=ax)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI)
    finally:
        plt.close(fig)
