"""At most one live run per job folder, enforced where the job starts (issue 17, item 2):
a second wrapper on the same job folder exits 75 and touches nothing."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from mle_toolbox.files.jobdir import DUPLICATE_RUN_EXIT, LIVE_LOCK_NAME
from mle_toolbox.templates import template_path
from tests.backend_contract import FAST, task

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


# A job that reports whether its .live lock is held while it runs, by someone else than
# itself: a probe on a new open file conflicts with any other open file's lock.
_PROBE = ("import fcntl, os, sys\n"
          "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
          "try:\n    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)\nexcept BlockingIOError:\n"
          "    print('held')\nelse:\n    print('free')\n")


def _flock_counter(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose ``flock`` logs each call, then runs the real one."""
    import os
    import shutil

    bin_dir, calls = tmp_path / "bin", tmp_path / "flock-calls"
    bin_dir.mkdir()
    real = shutil.which("flock")
    assert real is not None, "util-linux flock is needed by the job wrapper"
    shim = bin_dir / "flock"
    shim.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec {real} "$@"\n')
    shim.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}, calls


def test_the_local_backend_hands_the_wrapper_its_lock_and_no_flock_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from mle_toolbox.backends.local import LocalBackend
    from mle_toolbox.launcher.runner import run_jobs
    from mle_toolbox.spec import JobState

    env, calls = _flock_counter(tmp_path)
    monkeypatch.setenv("PATH", env["PATH"])
    monkeypatch.setenv("MLE_LIVE_FD", "0")  # a stale value from outside is never trusted
    job = task(tmp_path, 0, _PROBE)
    job = dataclasses.replace(job, argv=(*job.argv, str(job.files.live_lock)))
    report = run_jobs([job], backend=LocalBackend(), max_running=1, poll=FAST)
    assert [r.state for r in report.results] == [JobState.COMPLETED]
    assert job.files.stdout.read_text() == "held\n"  # held by the handed-over open file
    assert not calls.exists()  # the wrapper ran no flock
    assert job.files.exit_code.read_text() == "0\n"


def test_a_wrapper_started_without_a_handed_lock_takes_it_itself(tmp_path: Path) -> None:
    env, calls = _flock_counter(tmp_path)
    job = tmp_path / "jobs" / "seed_0"
    job.mkdir(parents=True)
    other = tmp_path / "other-file"
    with open(other, "a") as handle:  # an fd that is open, but not this job's .live file
        done = subprocess.run(
            ["bash", str(template_path("job_wrapper.sh")), str(job), sys.executable, "-c",
             _PROBE, str(job / LIVE_LOCK_NAME)],
            env={**env, "MLE_LIVE_FD": str(handle.fileno())}, pass_fds=(handle.fileno(),),
            capture_output=True, text=True, timeout=30, check=False)
    assert (done.returncode, done.stdout) == (0, "held\n")
    assert calls.read_text() == "-n 9\n"  # the wrapper took the lock with flock
