"""Run ``mle`` with the disk filled for real right before one step of a launch.

    python tests/disk_full_hooks.py STEP FILLER MLE_ARGS...

STEP names the launcher step (see STEPS); just before it runs, FILLER (a file on the
small test filesystem) grows until the filesystem has no block left, so that step and
everything after it meet a real ENOSPC. Injection at a named step, never timing luck.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
from collections.abc import Callable
from typing import Any

CHUNK = 64 * 1024


def fill(filler: str) -> None:
    """Grow ``filler`` until its filesystem is full (ENOSPC on a one-byte write)."""
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for size in (CHUNK, 4096, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as err:
                    if err.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)


def _fill_first(owner: Any, name: str, filler: str) -> None:
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        fill(filler)
        return original(*args, **kwargs)

    if isinstance(owner, type) and isinstance(owner.__dict__.get(name), classmethod):
        setattr(owner, name, classmethod(lambda cls, *a, **k: wrapped(*a, **k)))
    else:
        setattr(owner, name, wrapped)


def install(step: str, filler: str) -> None:
    """Fill the disk right before ``step``."""
    from mle_toolbox.launcher import launch, lock, pipeline, recorded_run
    from mle_toolbox.launcher.jobtable import JobTable

    steps: dict[str, tuple[Any, str]] = {
        "lock": (lock.ExperimentLock, "_record_owner"),  # the lock file's pid/host/start
        "plan": (launch, "prepare"),  # plan.json, meta copy, run configs
        "table": (recorded_run.JobTable, "open"),  # creating .mle/jobs.sqlite
        "submitting": (JobTable, "submitting"),  # rows written before the backend is asked
        "submitted": (JobTable, "submitted"),  # jobs started, native ids not yet recorded
        "finished": (JobTable, "finished"),  # a job ended, its row not yet final
        "results": (pipeline, "write_results"),  # summary.json, report.json
    }
    owner, name = steps[step]
    _fill_first(owner, name, filler)


STEPS = ("lock", "plan", "table", "submitting", "submitted", "finished", "results")

if __name__ == "__main__":
    install(sys.argv[1], sys.argv[2])
    from mle_toolbox.cli import main

    sys.exit(main(sys.argv[3:]))
