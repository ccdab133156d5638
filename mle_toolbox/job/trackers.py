"""Optional trackers of mle-logging's ``use_tboard`` / ``use_wandb``: TensorBoard and W&B.

Both are extras, imported only when a logger is built with them on. A missing extra
raises :class:`MissingExtra` naming the ``pip install`` line, once, at logger start.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import MleError


class MissingExtra(MleError, ImportError):  # noqa: N818 - reads as the condition it reports
    """An optional dependency is not installed; the message names the pip line."""

    exit_code = 2


def require(module: str, *, extra: str, feature: str, package: str | None = None) -> ModuleType:
    """Import ``module`` or raise MissingExtra naming ``pip install mle_toolbox[extra]``."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(
            f"{feature} needs the {package or module} package: "
            f"pip install 'mle_toolbox[{extra}]' (or pip install {package or module})"
        ) from None


def _scalars(prefix: str, tick: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in tick.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[f"{prefix}/{key}"] = float(value)
    return out


class TboardTracker:
    """Scalars of every update as TensorBoard events in ``<run_dir>/tboards/<seed_id>``."""

    def __init__(self, run_dir: Path, seed_id: str) -> None:
        writer_module = require("tensorboardX", extra="tboard", feature="use_tboard",
                                package="tensorboardX")
        self.log_dir = Path(run_dir) / "tboards" / seed_id
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.writer = writer_module.SummaryWriter(logdir=str(self.log_dir))
        self._step = 0

    def update(self, clock_tick: Mapping[str, Any], stats_tick: Mapping[str, Any],
               *, step_key: str | None = None, plot_fig: Any = None) -> None:
        """Write the numeric stats (tag ``stats/<name>``) and time values at one step.

        The step is ``clock_tick[step_key]`` (the first tracked time variable, as
        mle-logging does) or the update count.
        """
        step = clock_tick.get(step_key) if step_key else None
        if not isinstance(step, int | float) or isinstance(step, bool):
            step = self._step
        for tag, value in {**_scalars("stats", stats_tick),
                           **_scalars("time", clock_tick)}.items():
            self.writer.add_scalar(tag, value, int(step))
        if plot_fig is not None:
            self.writer.add_figure("figure", plot_fig, int(step))
        self.writer.flush()
        self._step += 1

    def close(self) -> None:
        """Flush and close the event file."""
        self.writer.close()


class WandbTracker:
    """Every update to Weights & Biases (``time/<k>``, ``stats/<k>``) as mle-logging does.

    ``wandb_config`` keys (``key``, ``entity``, ``project``, ``group``, ``name``,
    ``job_type``, ``mode``) go to ``wandb.init``; ``mode: offline`` (or the
    ``WANDB_MODE`` environment variable) keeps everything on disk.
    """

    def __init__(self, *, run_dir: Path, seed_id: str, config: Mapping[str, Any],
                 wandb_config: Mapping[str, Any] | None) -> None:
        self.wandb = require("wandb", extra="wandb", feature="use_wandb")
        settings = dict(wandb_config or {})
        if "key" in settings:
            os.environ.setdefault("WANDB_API_KEY", str(settings["key"]))
        name = settings.get("name")
        self.run = self.wandb.init(
            project=settings.get("project", "prototyping"), entity=settings.get("entity"),
            group=settings.get("group"), job_type=settings.get("job_type", seed_id),
            name=seed_id if name in (None, "seed0") else name,
            mode=settings.get("mode") or os.environ.get("WANDB_MODE"),
            dir=str(run_dir), config=dict(config), reinit=True)
        self._step = 0

    def update(self, clock_tick: Mapping[str, Any], stats_tick: Mapping[str, Any]) -> None:
        """Log one update at the next step."""
        self.run.log({**_scalars("time", clock_tick), **_scalars("stats", stats_tick)},
                     step=self._step)
        self._step += 1

    def close(self) -> None:
        """Finish the W&B run."""
        self.run.finish()
