"""mle-toolbox's plotting helpers at their import path (``mle_toolbox.visualize``).

matplotlib is the optional extra ``plot``; it is imported when a function is
called, never at import. Tables (``hyper_df``) may be a HyperLog, a pandas
DataFrame, a list of row dicts or a dict of columns: pandas is not needed.
"""

from __future__ import annotations

from .animate import animate_1D_lines, animate_2D_grid, animate_2D_scatter
from .grid import get_heatmap_array, plot_2D_heatmap, visualize_2D_grid
from .lines import (
    moving_smooth_ts,
    plot_1D_bar,
    plot_1D_line,
    visualize_1D_bar,
    visualize_1D_lcurves,
    visualize_1D_line,
)

__all__ = ["animate_1D_lines", "animate_2D_grid", "animate_2D_scatter", "get_heatmap_array",
           "moving_smooth_ts", "plot_1D_bar", "plot_1D_line", "plot_2D_heatmap",
           "visualize_1D_bar", "visualize_1D_lcurves", "visualize_1D_line",
           "visualize_2D_grid"]
