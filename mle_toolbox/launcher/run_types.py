"""What a caller hands to the runner and what it gets back.

The policies (polling back-off, retries, what Ctrl+C does), the hooks and the
Journal protocol a run records into, and the RunReport it ends with. Kept apart
from runner.py, which holds only the loop that drives jobs: the pipeline, the
search loop and the history read these names without needing the loop itself.
"""

from __future__ import annotations

import enum
import signal
from collections.abc import Callable, Sequence

from ..records import field, record
from ..spec import JobHandle, JobResult, JobState, JobTask

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import Protocol
else:
    Protocol = object  # structural types are for the type checker; no class derives from them


@record
class PollPolicy:
    """Back-off between polls: ``initial`` seconds, times ``factor``, at most ``maximum``."""

    initial: float = 0.2
    factor: float = 1.5
    maximum: float = 1.0
    cancel_grace: float = 5.0


# A local job that asks to be requeued runs again at most this often (SGE requeues
# by itself; this bounds a script that asks forever).
MAX_REQUEUES = 20


class OnInterrupt(enum.Enum):
    """What the first Ctrl+C does to jobs that are still live."""

    CANCEL = "cancel"
    DETACH = "detach"  # cluster jobs keep running; a second Ctrl+C cancels


class Journal(Protocol):
    """Where the runner records submissions and outcomes (the job table)."""

    def submitting(self, tasks: Sequence[JobTask], *, token: str | None = None) -> None:
        """Called before the backend is asked to submit ``tasks`` under ``token``."""
        ...

    def submitted(self, handles: Sequence[JobHandle]) -> None:
        """Called once the backend returned the handles."""
        ...

    def finished(self, result: JobResult) -> None:
        """Called when an attempt reached a final state."""
        ...


@record
class Policy:
    """Retries and interrupt handling of one run."""

    max_retries: int = 0
    on_interrupt: OnInterrupt = OnInterrupt.CANCEL
    submit_only: bool = False  # detach once every job is submitted (cluster backends)
    detach_grace_s: float = 2.0  # how long a second Ctrl+C may still cancel


@record(frozen=False, slots=False)
class RunReport:
    """Results of every job that ended, in the order the jobs were given."""

    results: list[JobResult]
    interrupted: bool
    elapsed_s: float
    detached: list[str] = field(default_factory=list)  # job ids left running
    stopped_by: int = signal.SIGINT  # the signal behind ``interrupted`` (Ctrl+C, SIGTERM, ...)

    @property
    def exit_code(self) -> int:
        """What the launcher exits with when interrupted: 128 + the signal's number."""
        return 128 + self.stopped_by

    def count(self, state: JobState) -> int:
        """Number of jobs that ended in ``state``."""
        return sum(r.state is state for r in self.results)

    @property
    def failed(self) -> list[JobResult]:
        """Jobs that did not complete (failed or cancelled)."""
        return [r for r in self.results if r.state is not JobState.COMPLETED]


@record
class Hooks:
    """Callbacks of one run; every one optional."""

    on_result: Callable[[JobResult], None] | None = None
    on_start: Callable[[str], None] | None = None  # a job is first seen running
    on_retry: Callable[[JobResult, JobTask], None] | None = None  # before the rerun
    notify: Callable[[str], None] | None = None
    journal: Journal | None = None
