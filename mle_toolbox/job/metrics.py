"""Append-only JSON-lines metrics log: one line per ``update``.

Each line is ``{"time": {...}, "stats": {...}}``. ``save`` appends what is
buffered and flushes: O(1) per call, the file is never rewritten. NaN and Inf
are stored as null. Readers skip a torn last line left by a crash.
"""

from __future__ import annotations

import os

from ..files.atomic import dumps_json
from ..files.jsontext import loads

TYPE_CHECKING = False  # typing's flag without importing typing on a job's import path (issue 18)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from pathlib import Path
    from typing import IO, Any

    from .checkpoints import CheckpointStore


class MetricLogger:
    """Buffered appender of metric rows for one seed of one run."""

    def __init__(self, path: str | os.PathLike[str], *,
                 print_every_k_updates: int | None = None, verbose: bool = False) -> None:
        self.path = os.fspath(path)  # a string: a job's start does not import pathlib
        self.print_every = print_every_k_updates
        self.verbose = verbose
        self.updates = 0
        self.last_stats: dict[str, Any] = {}
        # Set by MLExperiment: where save_model / save_checkpoint write. A subclass may
        # set ``_make_checkpoints`` instead: the store (and its module) is then made on
        # first use, so a job that saves no model never imports the checkpoint machinery.
        self._checkpoints: CheckpointStore | None = None
        self._make_checkpoints: Callable[[], CheckpointStore] | None = None
        self._buffer: list[str] = []
        self._file: IO[str] | None = None

    @property
    def checkpoints(self) -> CheckpointStore | None:
        """Where save_model / save_checkpoint write (None: this logger saves no models)."""
        if self._checkpoints is None and self._make_checkpoints is not None:
            self._checkpoints = self._make_checkpoints()
        return self._checkpoints

    @checkpoints.setter
    def checkpoints(self, store: CheckpointStore | None) -> None:
        self._checkpoints = store

    def update(  # noqa: PLR0917 - positional order of mle-toolbox's update()
        self, clock_tick: Mapping[str, Any], stats_tick: Mapping[str, Any],
               model: Any = None, plot_fig: Any = None, extra_obj: Any = None,
               save: bool = False) -> None:
        """Record one row of time and stats values; ``save=True`` writes it out now.

        ``model`` is saved as the final checkpoint when checkpoints are set up (as in
        mle-toolbox); ``plot_fig`` and ``extra_obj`` are accepted and not stored here
        (``MLELogger``, the logger of ``MLExperiment``, saves them).
        """
        self._buffer.append(dumps_json({"time": dict(clock_tick), "stats": dict(stats_tick)}))
        self.updates += 1
        self.last_stats = dict(stats_tick)
        if model is not None and self.checkpoints is not None:
            self.checkpoints.save_model(model)
        if self.verbose and self.print_every and self.updates % self.print_every == 0:
            print(f"update {self.updates}: {dict(clock_tick)} {dict(stats_tick)}", flush=True)
        if save:
            self.save()

    def save_model(self, model: Any, *, objective: float | None = None,
                   fmt: str | None = None) -> Path:
        """Save the final model (see ``CheckpointStore.save_model``)."""
        return self._store().save_model(model, objective=objective, fmt=fmt)

    def save_checkpoint(self, state: Any, step: int, *, objective: float | None = None,
                        fmt: str | None = None) -> Path | None:
        """Save a checkpoint if ``step`` is due (see ``CheckpointStore.save_checkpoint``)."""
        return self._store().save_checkpoint(state, step, objective=objective, fmt=fmt)

    def _store(self) -> CheckpointStore:
        if self.checkpoints is None:
            raise RuntimeError("this MetricLogger has no checkpoint folder; use "
                               "MLExperiment().log, or set logger.checkpoints")
        return self.checkpoints

    def save(self) -> None:
        """Append the buffered rows to the file and flush."""
        if not self._buffer:
            return
        handle = self._file or self._open()
        handle.write("\n".join(self._buffer) + "\n")
        handle.flush()
        self._buffer.clear()

    def _open(self) -> IO[str]:
        folder = os.path.dirname(self.path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        # A crash may have left a torn last line: start ours on a fresh line. The
        # last byte is read in binary: a torn line may end inside a UTF-8 character.
        if handle.tell() > 0:
            with open(self.path, "rb") as raw:
                raw.seek(-1, os.SEEK_END)
                if raw.read(1) != b"\n":
                    handle.write("\n")
        self._file = handle
        return handle

    def close(self) -> None:
        """Save and close the file."""
        self.save()
        if self._file is not None:
            self._file.close()
            self._file = None


def read_rows(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Rows of a metrics log; lines that are not complete JSON objects are skipped."""
    # errors="replace": bytes torn inside a UTF-8 character only spoil their own line.
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.endswith("\n"):
                return  # torn last line of a crashed writer
            try:
                row = loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                yield row
