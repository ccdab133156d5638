"""PNG figures of a report: learning curves per run and a heatmap of a 2-parameter grid.

matplotlib is the optional extra ``plot``; it is imported here only, never at
``import mle_toolbox``. Figures are drawn through ``matplotlib.figure.Figure``,
which renders with Agg: no display is needed, and pyplot's global state (its
backend, its open-figure registry) is left alone, in notebooks too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

INSTALL_HINT = "pip install 'mle_toolbox[plot]'"
MAX_CURVE_PANELS = 6
DPI = 100


def figure_class() -> Any | None:
    """``matplotlib.figure.Figure``, or None when matplotlib is not installed."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return Figure


def curve_x(agg: Any) -> tuple[str, Any]:
    """The x axis of a run's curves: its first numeric time column, else the row index."""
    import numpy as np

    length = min((len(s.mean) for s in agg.stats.values()), default=0)
    for name, column in agg.time.items():
        if column.dtype.kind in "biuf" and len(column) >= length:
            return name, column[:length]
    return "update", np.arange(length)


def learning_curves(figure: Any, *, agg: Any, run_id: str, path: Path) -> bool:
    """Mean over seeds with a ±1 std band, one panel per metric; False if nothing to plot."""
    metrics = [(name, s) for name, s in agg.stats.items() if s.mean.ndim == 1]
    if not metrics:
        return False
    metrics = metrics[:MAX_CURVE_PANELS]
    xname, x = curve_x(agg)
    cols = min(3, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    fig = figure(figsize=(4.2 * cols, 3.2 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
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
    # Fixed margins: tight_layout would cost a third of the figure's time, per run.
    fig.subplots_adjust(left=0.65 / (4.2 * cols), right=0.98, bottom=0.5 / (3.2 * rows),
                        top=1 - 0.75 / (3.2 * rows), wspace=0.3, hspace=0.5)
    _save(fig, path)
    return True


def _save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)


def heatmap(figure: Any, *, grid: Sequence[Sequence[float]], xs: Sequence[Any],
            ys: Sequence[Any], labels: tuple[str, str, str], path: Path) -> None:
    """Objective over a 2-parameter grid; ``grid[i][j]`` is at ``ys[i]``, ``xs[j]``.

    ``labels`` are (x parameter, y parameter, objective); missing cells are NaN.
    """
    import numpy as np

    values = np.asarray(grid, dtype=float)
    xname, yname, title = labels
    fig = figure(figsize=(1.2 * len(xs) + 3, 0.8 * len(ys) + 2.2))
    ax = fig.subplots()
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
    _save(fig, path)
