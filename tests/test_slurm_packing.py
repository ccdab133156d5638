"""Packed array tasks (single_job_args.jobs_per_task) on a real Slurm
(tests/packing_cases.py). Skipped where no Slurm runs, unless MLE_REQUIRE_SLURM=1 (CI
sets it): then a missing cluster fails instead of skipping."""

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

HAVE_SLURM = shutil.which("sbatch") is not None and shutil.which("squeue") is not None
if not HAVE_SLURM and os.environ.get("MLE_REQUIRE_SLURM") == "1":
    raise RuntimeError("MLE_REQUIRE_SLURM=1 but no Slurm here: run scripts/slurm-local.sh")
pytestmark = [pytest.mark.slurm, pytest.mark.timeout(300),
              pytest.mark.skipif(not HAVE_SLURM, reason="no Slurm (sbatch, squeue)")]

GRACE = {"MLE_SLURM_GRACE": "1"}  # a task that left the queue: its jobs' files are local


def test_a_failing_job_of_a_packed_task_stops_none_of_the_others(tmp_path: Path) -> None:
    check_failing_job(tmp_path, backend="slurm", env=GRACE)
    [script] = (tmp_path / "out" / ".mle" / "slurm").glob("*.sh")
    assert "#SBATCH --array=0-0\n" in script.read_text()  # five jobs, one array task


def test_a_killed_packed_task_loses_no_job_and_runs_none_twice(tmp_path: Path) -> None:
    check_killed_task_recovers(tmp_path, backend="slurm", env=GRACE)


def test_dry_run_shows_jobs_per_task_tasks_and_arrays(tmp_path: Path) -> None:
    stdout = check_dry_run(tmp_path, backend="slurm")
    assert "#SBATCH --array=0-2\n" in stdout


def test_jobs_a_running_task_has_not_reached_are_pending(tmp_path: Path) -> None:
    check_waiting_siblings_are_pending(tmp_path, backend="slurm", env=GRACE)
