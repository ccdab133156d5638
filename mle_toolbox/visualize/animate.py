"""Animations (GIF through Pillow) of lines, grids and scatters over time.

Each returns the animator (``.ani`` is the matplotlib FuncAnimation, ``.fig`` the
figure) and saves to ``fname`` when ``direct_save`` is true, as mle-toolbox does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .table import pyplot


@dataclass
class Animator:
    """What an ``animate_*`` call built."""

    fig: Any
    ax: Any
    ani: Any


def _save(animator: Animator, fname: str, fps: int, direct_save: bool) -> Animator:
    if direct_save:
        from matplotlib.animation import PillowWriter

        animator.ani.save(fname, writer=PillowWriter(fps=fps))
    return animator


def animate_1D_lines(data: Any, line_labels: Sequence[str] | None = None,
                     title: str = "Animated Lines", ylabel: str = "y-Axis",
                     xlabel: str = "Time", xticks: Sequence[Any] | None = None,
                     ylims: tuple[float, float] | None = None, interval: int = 100,
                     fps: int = 60, fname: str = "test_anim.gif",
                     direct_save: bool = True) -> Animator:
    """``data[t]`` is the curve (or one curve per row) drawn in frame ``t``."""
    import numpy as np
    from matplotlib.animation import FuncAnimation

    frames = np.asarray(data, dtype=float)
    frames = frames[:, None, :] if frames.ndim == 2 else frames
    fig, ax = pyplot().subplots(figsize=(7, 5))
    x = np.asarray(xticks) if xticks is not None else np.arange(frames.shape[-1])
    lines = [ax.plot(x, frames[0, i], label=line_labels[i] if line_labels else None)[0]
             for i in range(frames.shape[1])]
    ax.set_ylim(ylims or (float(np.nanmin(frames)), float(np.nanmax(frames))))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if line_labels:
        ax.legend()

    def update(t: int) -> Any:
        for i, line in enumerate(lines):
            line.set_ydata(frames[t, i])
        ax.set_title(f"{title} t={t}")
        return lines

    ani = FuncAnimation(fig, update, frames=frames.shape[0], interval=interval, blit=False)
    return _save(Animator(fig, ax, ani), fname, fps, direct_save)


def animate_2D_grid(data: Any, var_name: str = "A Variable", dt: float = 1,
                    ylabel: str = "y-Axis Label", xlabel: str = "x-Axis Label",
                    range_y: Sequence[Any] | None = None, range_x: Sequence[Any] | None = None,
                    every_nth: int = 1, round_ticks: int = 1, vmin: float | None = None,
                    vmax: float | None = None, title: str = "Animated Grid",
                    time_pre_str: str = "t=", interval: int = 100, fps: int = 60,
                    fname: str = "test_anim.gif", direct_save: bool = True,
                    no_axis_ticks: bool = False, cmap: Any = "magma") -> Animator:
    """``data[t]`` is the 2-D grid shown in frame ``t``."""
    import numpy as np
    from matplotlib.animation import FuncAnimation

    from .table import every_nth as hide
    from .table import tick_labels

    frames = np.asarray(data, dtype=float)
    fig, ax = pyplot().subplots(figsize=(7, 7))
    image = ax.imshow(frames[0], cmap=cmap, vmin=vmin, vmax=vmax)
    if no_axis_ticks:
        ax.axis("off")
    else:
        xs = list(range_x) if range_x is not None else list(range(frames.shape[2]))
        ys = list(range_y) if range_y is not None else list(range(frames.shape[1]))
        ax.set_xticks(range(len(xs)))
        ax.set_xticklabels(tick_labels(xs, round_ticks), rotation=45, ha="right")
        ax.set_yticks(range(len(ys)))
        ax.set_yticklabels(tick_labels(ys[::-1], round_ticks))
        hide(ax.xaxis.get_ticklabels(), every_nth)
        hide(ax.yaxis.get_ticklabels(), every_nth)
        fig.colorbar(image, ax=ax).set_label(var_name, rotation=270, labelpad=30)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)

    def update(t: int) -> Any:
        image.set_data(frames[t])
        ax.set_title(f"{title} {time_pre_str}{t * dt:g}")
        return (image,)

    ani = FuncAnimation(fig, update, frames=frames.shape[0], interval=interval, blit=False)
    return _save(Animator(fig, ax, ani), fname, fps, direct_save)


def animate_2D_scatter(data: Any, title: str = "Animated Scatter",
                       ylabel: str = "y-Axis", xlabel: str = "x-Axis",
                       xlims: tuple[float, float] | None = None,
                       ylims: tuple[float, float] | None = None, interval: int = 100,
                       fps: int = 60, fname: str = "test_anim.gif",
                       direct_save: bool = True) -> Animator:
    """``data[t]`` is an (n, 2) array of points shown in frame ``t``."""
    import numpy as np
    from matplotlib.animation import FuncAnimation

    frames = np.asarray(data, dtype=float)
    fig, ax = pyplot().subplots(figsize=(7, 7))
    points = ax.scatter(frames[0, :, 0], frames[0, :, 1])
    ax.set_xlim(xlims or (float(frames[..., 0].min()), float(frames[..., 0].max())))
    ax.set_ylim(ylims or (float(frames[..., 1].min()), float(frames[..., 1].max())))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)

    def update(t: int) -> Any:
        points.set_offsets(frames[t])
        ax.set_title(f"{title} t={t}")
        return (points,)

    ani = FuncAnimation(fig, update, frames=frames.shape[0], interval=interval, blit=False)
    return _save(Animator(fig, ax, ani), fname, fps, direct_save)
