"""2-D heatmaps of a target over two hyperparameters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .table import every_nth, pyplot, select, table_rows, tick_labels


def _sorted_unique(values: list[Any]) -> list[Any]:
    unique = list(dict.fromkeys(values))
    try:
        return sorted(unique, key=float)
    except (TypeError, ValueError):
        return sorted(unique, key=str)


def get_heatmap_array(range_x: Sequence[Any], range_y: Sequence[Any],
                      rows: Sequence[Sequence[Any]], norm_cols: bool = False,
                      norm_rows: bool = False) -> Any:
    """(len(range_y), len(range_x)) array of the target (third column of ``rows``), the
    smallest y in the bottom row, NaN where a cell has no run."""
    import numpy as np

    heat = np.full((len(range_y), len(range_x)), np.nan)
    for x_value, y_value, target in rows:
        i = list(range_x).index(x_value)
        j = list(range_y).index(y_value)
        heat[len(range_y) - 1 - j, i] = float(target)
    if norm_cols:
        heat /= np.nanmax(heat, axis=0)
    if norm_rows:
        heat /= np.nanmax(heat, axis=1)[:, None]
    return heat


def visualize_2D_grid(hyper_df: Any, fixed_params: Mapping[str, Any] | None = None,
                      params_to_plot: Sequence[str] = (), target_to_plot: str = "target",
                      plot_title: str = "Temp Title", plot_subtitle: str | None = None,
                      xy_labels: Sequence[str] = (), variable_name: str | None = "Var Label",
                      every_nth_tick: int = 1, plot_colorbar: bool = True,
                      text_in_cell: bool = True, max_heat: float | None = None,
                      min_heat: float | None = None, norm_cols: bool = False,
                      norm_rows: bool = False, return_array: bool = False,
                      round_ticks: int = 1, fig: Any = None, ax: Any = None,
                      figsize: tuple[float, float] = (10, 8), cmap: Any = "magma") -> Any:
    """Heatmap of ``target_to_plot`` over the two ``params_to_plot`` (others fixed);
    ``return_array=True`` gives the array instead of ``(fig, ax)``."""
    if len(params_to_plot) != 2:
        raise ValueError(f"params_to_plot: give exactly 2 names, got {list(params_to_plot)}")
    x_name, y_name = params_to_plot
    rows = select(table_rows(hyper_df), fixed_params)
    for name in (x_name, y_name, target_to_plot):
        if rows and name not in rows[0]:
            raise KeyError(f"no column {name!r}; have: {', '.join(rows[0])}")
    range_x = _sorted_unique([r[x_name] for r in rows])
    range_y = _sorted_unique([r[y_name] for r in rows])
    heat = get_heatmap_array(range_x, range_y,
                             [(r[x_name], r[y_name], r[target_to_plot]) for r in rows],
                             norm_cols, norm_rows)
    if return_array:
        return heat
    return plot_2D_heatmap(range_x, range_y, heat, plot_title, plot_subtitle,
                           list(xy_labels) or [x_name, y_name], variable_name,
                           every_nth_tick, plot_colorbar, text_in_cell, max_heat, min_heat,
                           round_ticks, fig=fig, ax=ax, figsize=figsize, cmap=cmap)


def plot_2D_heatmap(range_x: Sequence[Any], range_y: Sequence[Any],
                    heat_array: Any, title: str = "Placeholder Title",
                    subtitle: Any = None, xy_labels: Sequence[str] = ("x-label", "y-label"),
                    variable_name: str | None = None, every_nth_tick: int = 1,
                    plot_colorbar: bool = True, text_in_cell: bool = False,
                    max_heat: float | None = None, min_heat: float | None = None,
                    round_ticks: int = 1, fig: Any = None, ax: Any = None,
                    figsize: tuple[float, float] = (10, 8),
                    cmap: Any = "magma") -> tuple[Any, Any]:
    """Draw a heatmap with labelled cells and a colour bar."""
    if fig is None or ax is None:
        fig, ax = pyplot().subplots(figsize=figsize)
    image = ax.imshow(heat_array, cmap=cmap, vmin=min_heat, vmax=max_heat)
    ax.set_yticks(range(len(range_y)))
    ax.set_yticklabels(tick_labels(list(range_y)[::-1], round_ticks))
    ax.set_xticks(range(len(range_x)))
    ax.set_xticklabels(tick_labels(range_x, round_ticks), rotation=45, ha="right")
    every_nth(ax.yaxis.get_ticklabels(), every_nth_tick)
    every_nth(ax.xaxis.get_ticklabels(), every_nth_tick)
    ax.set_title(title if subtitle is None else f"{title}\n{subtitle}")
    ax.set_xlabel(xy_labels[0])
    ax.set_ylabel(xy_labels[1])
    if plot_colorbar:
        bar = fig.colorbar(image, ax=ax)
        if variable_name is not None:
            bar.set_label(variable_name, rotation=270, labelpad=30)
    if text_in_cell:
        for y in range(heat_array.shape[0]):
            for x in range(heat_array.shape[1]):
                ax.text(x, y, f"{heat_array[y, x]:.2f}", ha="center", va="center")
    return fig, ax
