"""At most one live run per job folder, enforced where the job starts (issue 17, item 2):
a second wrapper on the same job folder exits 75 and touches nothing."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from mle_toolbox.files.layout import DUPLICATE_RUN_EXIT, LIVE_LOCK_NAME
from mle_toolbox.templates import template_path

pytestmark = pytest.mark.timeout(60)


def _wrapper(job_dir: Path, *command: str) -> subprocess.Popen[str]:
    return subprocess.Popen(["bash", str(template_path("job_wrapper.sh")), str(job_dir),
                             *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_a_second_run_of_a_live_job_exits_75_and_leaves_the_folder_alone(
        tmp_path: Path) -> None:
    job = tmp_path / "jobs" / "seed_0"
    job.mkdir(parents=True)
    gate, started = tmp_path / "gate", tmp_path / "started"
    first = _wrapper(job, sys.executable, "-c",
                     "import pathlib, time\n"
                     f"pathlib.Path({str(started)!r}).write_text('1')\n"
                     f"while not pathlib.Path({str(gate)!r}).exists(): time.sleep(0.02)\n")
    deadline = time.monotonic() + 30
    while not started.exists():
        assert time.monotonic() < deadline, "the first run did not start"
        time.sleep(0.02)
    twice = tmp_path / "ran-twice"
    second = _wrapper(job, sys.executable, "-c", f"open({str(twice)!r}, 'w')")
    _, err = second.communicate(timeout=30)
    assert second.returncode == DUPLICATE_RUN_EXIT
    assert f"another run of this job is live (lock {job / LIVE_LOCK_NAME})" in err
    assert not (job / "exit_code").exists()  # the live run's record is not touched
    assert not twice.exists()
    gate.write_text("open")
    first.communicate(timeout=30)
    assert first.returncode == 0
    assert (job / "exit_code").read_text() == "0\n"
    # Once the first run is over, the job can run again (a retry, a rerun).
    third = _wrapper(job, "true")
    third.communicate(timeout=30)
    assert third.returncode == 0
