"""What a job needs to continue after a retry or a requeue (used by MLExperiment).

- ``MLE_ATTEMPT``: set by the job wrapper, 1 for the first run of a job and one more
  for every attempt archived in ``JOB_DIR/attempts/`` (retries and requeues alike).
- Checkpoints live in ``RUN_DIR/checkpoints/seed_<s>/`` (``mle.checkpoint_dir``, the
  folder ``mle.log.save_checkpoint`` writes to); they are never archived, so the next
  attempt finds the newest one.
- A job that gets the scheduler's warning signal (SGE ``-notify``: SIGUSR1 before
  a suspend, SIGUSR2 before a kill; Slurm ``--signal``) can save a checkpoint and
  write ``JOB_DIR/requeue``: the wrapper then exits 99, which Grid Engine answers by
  queueing the job again, and the launcher by resubmitting it. That run keeps its
  metrics log: the next one appends to it.
- A run the scheduler kills and starts again on its own (Slurm ``scontrol requeue`` or
  preemption, Grid Engine ``qmod -f -rj``) wrote no ``JOB_DIR/requeue``: the wrapper of
  the next run moves the killed run's files, its metrics log included, to
  ``attempts/<k>/`` and the next run starts a fresh metrics log (checkpoints stay).
"""

from __future__ import annotations

import os
import sys

from ..files.atomic import write_text_atomic
from ..files.jobdir import REQUEUE_EXIT, REQUEUE_NAME
from ..files.layout import CHECKPOINT_INDEX_NAME

TYPE_CHECKING = False  # typing's flag without importing typing on a job's import path (issue 18)
if TYPE_CHECKING:
    import signal as _signal
    from collections.abc import Callable, Mapping, Sequence
    from types import FrameType
    from typing import Any
else:
    import _signal  # signal's numbers and signal(), without its enums (see errors.py)

ATTEMPT_ENV = "MLE_ATTEMPT"
WARNING_SIGNALS = (_signal.SIGUSR1, _signal.SIGUSR2)


def current_attempt(env: Mapping[str, str] | None = None) -> int:
    """The attempt number the wrapper gave this run (1 when run by hand)."""
    text = (os.environ if env is None else env).get(ATTEMPT_ENV, "1")
    return int(text) if text.isdigit() and int(text) > 0 else 1


def last_checkpoint(folder: str | os.PathLike[str]) -> str | None:
    """The newest checkpoint file in ``folder`` (by modification time, then name), if any."""
    try:
        with os.scandir(folder) as entries:
            # index.json is the checkpoint store's catalogue, not a checkpoint.
            files = [(entry.stat().st_mtime_ns, entry.name, entry.path) for entry in entries
                     if entry.is_file() and not entry.name.startswith(".")
                     and entry.name != CHECKPOINT_INDEX_NAME]
    except FileNotFoundError:
        return None
    return max(files, default=(0, "", None))[2]


def request_requeue(job_dir: str | os.PathLike[str]) -> None:
    """Ask the wrapper to requeue this job when the script exits."""
    write_text_atomic(os.path.join(job_dir, REQUEUE_NAME), "requested\n")


def install_requeue_handler(*, job_dir: str | os.PathLike[str],
                            save: Callable[[], Any] | None, finish: Callable[[], None],
                            signals: Sequence[int] = WARNING_SIGNALS) -> None:
    """On any of ``signals``: ``save()``, request a requeue, ``finish()``, exit 99."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if save is not None:
            save()
        request_requeue(job_dir)
        finish()
        import signal  # only now that one came: its names are enums

        print(f"mle_toolbox: got {signal.Signals(signum).name}; checkpoint saved, "
              "asking to be requeued", file=sys.stderr, flush=True)
        sys.exit(REQUEUE_EXIT)

    for sig in signals:
        _signal.signal(sig, handler)
