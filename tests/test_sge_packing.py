"""Packed array tasks (single_job_args.jobs_per_task) on a real Grid Engine, through qsub
and through DRMAA (tests/packing_cases.py). Skipped where no SGE runs, unless
MLE_REQUIRE_SGE=1 (CI sets it): then a missing cluster fails instead of skipping."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.packing_cases import (
    check_dry_run,
    check_failing_job,
    check_killed_task_recovers,
    check_waiting_siblings_are_pending,
)

HAVE_SGE = shutil.which("qstat") is not None and bool(os.environ.get("SGE_ROOT"))
if not HAVE_SGE and os.environ.get("MLE_REQUIRE_SGE") == "1":
    raise RuntimeError("MLE_REQUIRE_SGE=1 but no SGE here: run scripts/sge-local.sh and "
                       "export SGE_ROOT=/var/lib/gridengine SGE_CELL=default")
pytestmark = [pytest.mark.sge, pytest.mark.timeout(300),
              pytest.mark.skipif(not HAVE_SGE, reason="no Grid Engine (qstat, SGE_ROOT)")]

GRACE = {"MLE_SGE_GRACE": "1"}  # a task that left the queue: its jobs' files are local
DRMAA_ENV = {"DRMAA_LIBRARY_PATH": "/usr/lib/gridengine-drmaa/lib/libdrmaa.so.1.0",
             "LD_PRELOAD": "/lib/x86_64-linux-gnu/libjemalloc.so.2", **GRACE}


def test_a_failing_job_of_a_packed_task_stops_none_of_the_others(tmp_path: Path) -> None:
    check_failing_job(tmp_path, backend="sge", env=GRACE)
    [script] = (tmp_path / "out" / ".mle" / "sge").glob("*.sh")
    assert "#$ -t 1-1\n" in script.read_text()  # five jobs, one array task


def test_a_killed_packed_task_loses_no_job_and_runs_none_twice(tmp_path: Path) -> None:
    check_killed_task_recovers(tmp_path, backend="sge", env=GRACE)


def test_drmaa_a_failing_job_of_a_packed_task_stops_none_of_the_others(
    tmp_path: Path,
) -> None:
    check_failing_job(tmp_path, backend="sge-drmaa", env=DRMAA_ENV)


def test_drmaa_a_killed_packed_task_loses_no_job_and_runs_none_twice(tmp_path: Path) -> None:
    check_killed_task_recovers(tmp_path, backend="sge-drmaa", env=DRMAA_ENV)


def test_dry_run_shows_jobs_per_task_tasks_and_arrays(tmp_path: Path) -> None:
    stdout = check_dry_run(tmp_path, backend="sge")
    assert "#$ -t 1-3\n" in stdout and "pack_task.sh" in stdout


def test_jobs_a_running_task_has_not_reached_are_pending(tmp_path: Path) -> None:
    check_waiting_siblings_are_pending(tmp_path, backend="sge", env=GRACE)
