"""The paths of what a job itself writes, as strings (``layout.JobLayout``'s, as text).

The job's own side (``MLExperiment``, ``MLELogger``) builds them at every start:
strings need no pathlib, which imports ``re``, ``fnmatch`` and ``urllib.parse`` (issue
18). The names come from ``layout`` and ``jobdir``; tests/test_layout.py checks that
``JobPaths`` and ``JobLayout`` name the same files for every kind of ``-exp_dir``.
"""

from __future__ import annotations

import os

from .jobdir import STATUS_NAME, _Frozen
from .layout import (
    CHECKPOINTS_DIR_NAME,
    JOBS_DIR_NAME,
    LOGS_DIR_NAME,
    log_meta_name,
    metrics_log_name,
    seed_dir_name,
)


def path_text(text: str) -> str:
    """``str(Path(text))`` without pathlib: no ``.`` parts and no repeated or trailing
    slashes (``..`` stays), so that ``JobPaths`` and ``JobLayout`` give the same text."""
    root = "/" if text.startswith("/") else ""
    if text.startswith("//") and not text.startswith("///"):
        root = "//"  # POSIX leaves a leading double slash to the system; pathlib keeps it
    parts = [part for part in text.split("/") if part not in ("", ".")]
    return root + "/".join(parts) or "."


class JobPaths(_Frozen):
    """``JobLayout``'s paths of what the job itself writes, as strings."""

    __slots__ = ("run_dir", "seed")
    run_dir: str
    seed: int

    def __init__(self, run_dir: str, seed: int) -> None:
        object.__setattr__(self, "run_dir", path_text(run_dir))
        object.__setattr__(self, "seed", seed)

    def _join(self, *parts: str) -> str:
        # As Path does: Path(".") / "logs" is "logs", not "./logs".
        return os.path.join(*parts) if self.run_dir == "." else os.path.join(self.run_dir, *parts)

    @property
    def metrics_log(self) -> str:
        """Append-only JSON-lines metrics log of this seed."""
        return self._join(LOGS_DIR_NAME, metrics_log_name(self.seed))

    @property
    def log_meta(self) -> str:
        """MLELogger's record of the model, figure and extra-object paths of this seed."""
        return self._join(LOGS_DIR_NAME, log_meta_name(self.seed))

    @property
    def job_dir(self) -> str:
        """Folder with this job's own files."""
        return self._join(JOBS_DIR_NAME, seed_dir_name(self.seed))

    @property
    def status(self) -> str:
        """Written by MLExperiment: start, end, host, error."""
        return os.path.join(self.job_dir, STATUS_NAME)

    @property
    def checkpoints_dir(self) -> str:
        """Saved models and checkpoints of this seed, with their ``index.json``."""
        return self._join(CHECKPOINTS_DIR_NAME, seed_dir_name(self.seed))
