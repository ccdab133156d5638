"""Named points of the submission path where a fault-injection test kills the launcher.

``MLE_FAULT_AT=<step>`` in the launcher's environment makes it SIGKILL itself the first
time it reaches ``<step>``: no cleanup, no handler runs, exactly as ``kill -9`` at that
moment would. The test (tests/test_submit_faults.py) runs every step, then resumes, and
checks that every job ran exactly once. Unset, a point costs one string comparison.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "MLE_FAULT_AT"

# The steps of one submission, in order (runner._submit and the backends' submit):
ROWS_WRITTEN = "rows_written"  # job table rows are `submitting`; the backend not asked yet
FILES_WRITTEN = "files_written"  # task files / script written (local: logs opened)
ACCEPTED = "accepted"  # the scheduler accepted an array (local: a wrapper process started)
SUBMITTED = "submitted"  # the backend returned every handle; native ids not recorded
IDS_RECORDED = "ids_recorded"  # native ids are in the job table; not polled yet
FIRST_POLL = "first_poll"  # the first status poll after a submission answered
STEPS = (ROWS_WRITTEN, FILES_WRITTEN, ACCEPTED, SUBMITTED, IDS_RECORDED, FIRST_POLL)


# Read once: a launcher is started with it (tests), never given it later.
_AT = os.environ.get(FAULT_ENV)


def fault_point(step: str) -> None:
    """SIGKILL this process here when ``MLE_FAULT_AT`` names ``step`` (tests only)."""
    if step == _AT:
        os.kill(os.getpid(), signal.SIGKILL)
