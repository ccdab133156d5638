"""1-D figures: bars and lines over one hyperparameter, learning curves of runs."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .table import every_nth, pyplot, select, table_rows, tick_labels


def moving_smooth_ts(ts: Any, window_size: int = 20) -> tuple[Any, Any]:
    """Moving mean and std (sample std, NaN for a window of one) over ``window_size``."""
    import numpy as np

    values = np.asarray(ts, dtype=float)
    mean = np.empty_like(values)
    std = np.empty_like(values)
    for index in range(len(values)):
        window = values[max(0, index - window_size + 1): index + 1]
        mean[index] = window.mean()
        std[index] = window.std(ddof=1) if len(window) > 1 else np.nan
    return mean, std


def _axes(fig: Any, ax: Any, figsize: tuple[float, float]) -> tuple[Any, Any]:
    if fig is None or ax is None:
        fig, ax = pyplot().subplots(1, 1, figsize=figsize)
    return fig, ax


def _columns(hyper_df: Any, fixed_params: Mapping[str, Any] | None, param: str,
             target: str) -> tuple[list[Any], list[Any]]:
    rows = select(table_rows(hyper_df), fixed_params)
    missing = [c for c in (param, target) if rows and c not in rows[0]]
    if missing:
        raise KeyError(f"no column {', '.join(missing)}; have: {', '.join(rows[0])}")
    return [r[param] for r in rows], [r[target] for r in rows]


def _finish(fig: Any, ax: Any, fname: str | None) -> tuple[Any, Any] | None:
    if fname is not None:
        fig.savefig(fname, dpi=300)
        return None
    return fig, ax


def visualize_1D_bar(hyper_df: Any, fixed_params: Mapping[str, Any] | None = None,
                     param_to_plot: str = "param", target_to_plot: str = "target",
                     plot_title: str = "Temp Title", xy_labels: Sequence[str] = ("x", "y"),
                     every_nth_tick: int = 1, ymin: float | None = None,
                     ymax: float | None = None, round_ticks: int = 1, fig: Any = None,
                     ax: Any = None, figsize: tuple[float, float] = (9, 6),
                     hline: float | None = None, fname: str | None = None) -> Any:
    """Bars of ``target_to_plot`` per value of ``param_to_plot`` (others fixed)."""
    params, targets = _columns(hyper_df, fixed_params, param_to_plot, target_to_plot)
    fig, ax = plot_1D_bar(params, targets, fig, ax, plot_title, xy_labels, every_nth_tick,
                          ymin, ymax, round_ticks, hline, figsize)
    return _finish(fig, ax, fname)


def plot_1D_bar(param_array: Any, target_array: Any, fig: Any = None,
                ax: Any = None, plot_title: str = "Temp Title",
                xy_labels: Sequence[str] = ("x", "y"), every_nth_tick: int = 1,
                ymin: float | None = None, ymax: float | None = None, round_ticks: int = 1,
                hline: float | None = None,
                figsize: tuple[float, float] = (9, 6)) -> tuple[Any, Any]:
    """Draw the bars of ``visualize_1D_bar``."""
    fig, ax = _axes(fig, ax, figsize)
    positions = list(range(len(param_array)))
    ax.bar(positions, [float(t) for t in target_array])
    ax.set_xticks(positions)
    ax.set_xticklabels(tick_labels(param_array, round_ticks), rotation=45, ha="right")
    every_nth(ax.xaxis.get_ticklabels(), every_nth_tick)
    _labels(ax, plot_title, xy_labels, hline)
    ax.set_ylim([ymin, ymax])
    return fig, ax


def _labels(ax: Any, title: str, xy_labels: Sequence[str], hline: float | None) -> None:
    ax.set_title(title)
    ax.set_xlabel(xy_labels[0])
    ax.set_ylabel(xy_labels[1])
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    if hline is not None:
        ax.axhline(hline, ls="--", c="r", alpha=0.5)


def visualize_1D_line(hyper_df: Any, fixed_params: Mapping[str, Any] | None = None,
                      param_to_plot: str = "param", target_to_plot: str = "target",
                      plot_title: str = "Temp Title", xy_labels: Sequence[str] = ("x", "y"),
                      every_nth_tick: int = 1, ylims: tuple[float, float] | None = None,
                      round_ticks: int = 1, figsize: tuple[float, float] = (8, 5),
                      hline: float | None = None, fig: Any = None, ax: Any = None,
                      fname: str | None = None) -> Any:
    """A line with dots: ``target_to_plot`` over ``param_to_plot`` (others fixed)."""
    params, targets = _columns(hyper_df, fixed_params, param_to_plot, target_to_plot)
    order = sorted(range(len(params)), key=lambda i: float(params[i]))
    fig, ax = plot_1D_line([params[i] for i in order], [targets[i] for i in order], fig, ax,
                           plot_title, xy_labels, every_nth_tick, ylims, round_ticks, hline,
                           figsize=figsize)
    return _finish(fig, ax, fname)


def plot_1D_line(param_array: Any, target_array: Any, fig: Any = None,
                 ax: Any = None, plot_title: str = "Temp Title",
                 xy_labels: Sequence[str] = ("x", "y"), every_nth_tick: int = 1,
                 ylims: tuple[float, float] | None = None, round_ticks: int = 1,
                 hline: float | None = None, labels: Sequence[str] | None = None,
                 figsize: tuple[float, float] = (9, 6)) -> tuple[Any, Any]:
    """Draw one line, or one per row of a 2-D ``target_array``."""
    import numpy as np

    fig, ax = _axes(fig, ax, figsize)
    targets = np.asarray(target_array, dtype=float)
    for index, row in enumerate(targets if targets.ndim > 1 else [targets]):
        label = labels[index] if labels is not None else None
        ax.plot(param_array, row, label=label)
        ax.scatter(param_array, row, zorder=5)
    shown = [p for i, p in enumerate(param_array) if i % max(every_nth_tick, 1) == 0]
    ax.set_xticks([float(p) for p in shown])
    ax.set_xticklabels(tick_labels(shown, round_ticks))
    _labels(ax, plot_title, xy_labels, hline)
    if labels is not None:
        ax.legend()
    if ylims is not None:
        ax.set_ylim(ylims)
    return fig, ax


def _natural(text: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def visualize_1D_lcurves(main_log: Any, iter_to_plot: str | None = "num_episodes",
                         target_to_plot: str = "ep_reward", smooth_window: int = 20,
                         plot_title: str = "Temp Title",
                         xy_labels: Sequence[str] = ("# Train Iter", "Temp Y-Label"),
                         base_label: str = "{}", curve_labels: Sequence[str] = (),
                         every_nth_tick: int | None = None, plot_std_bar: bool = False,
                         run_ids: Sequence[str] | None = None,
                         rgb_tuples: Sequence[Any] | None = None,
                         num_legend_cols: int | None = 1, fig: Any = None, ax: Any = None,
                         figsize: tuple[float, float] = (9, 6),
                         fname: str | None = None) -> Any:
    """Learning curves (mean over seeds, optional std band) of the runs of a meta log.

    Runs logged per seed (not aggregated) are drawn from their first seed.
    """
    import numpy as np

    fig, ax = _axes(fig, ax, figsize)
    ids = list(run_ids) if run_ids is not None else sorted(main_log.eval_ids, key=_natural)
    names = list(curve_labels) or ids
    colors = rgb_tuples or [pyplot().get_cmap("coolwarm")(i / max(len(ids) - 1, 1))
                            for i in range(len(ids))]
    for index, run_id in enumerate(ids):
        log = _curve_log(main_log[run_id])
        series = log["stats"][target_to_plot]
        mean = np.asarray(series["mean"] if isinstance(series, Mapping) else series, float)
        std = np.asarray(series["std"], float) if isinstance(series, Mapping) else None
        x = _x_values(np, log, iter_to_plot, len(mean))
        smooth, _ = moving_smooth_ts(mean, smooth_window)
        ax.plot(x, smooth, color=colors[index], label=base_label.format(names[index]),
                alpha=0.8)
        if plot_std_bar and std is not None:
            band, _ = moving_smooth_ts(std, smooth_window)
            ax.fill_between(x, smooth - band, smooth + band, color=colors[index], alpha=0.25)
    if every_nth_tick is not None:
        every_nth(ax.xaxis.get_ticklabels(), every_nth_tick)
    if len(ids) < 20:
        ax.legend(ncol=num_legend_cols or 1)
    _labels(ax, plot_title, xy_labels, None)
    fig.tight_layout()
    return _finish(fig, ax, fname)


def _curve_log(run: Any) -> Any:
    if "stats" in run:
        return run
    ids = getattr(run, "eval_ids", None) or [k for k in run if k.startswith("seed_")]
    return run[ids[0]]


def _x_values(np: Any, log: Any, name: str | None, length: int) -> Any:
    column = log["time"].get(name) if name else None
    if isinstance(column, Mapping):
        column = column.get("mean")
    if column is None:
        return np.arange(length)
    return np.asarray(column, dtype=float)[:length]
