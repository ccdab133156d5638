"""The launcher killed at every step of a submission; a resume runs every job exactly once
(issue 17, item 2).

``MLE_FAULT_AT=<step>`` makes the launcher SIGKILL itself at that named point of the
submission path (mle_toolbox/faults.py): no sleeps, no timing luck. Before, a kill between
the scheduler accepting a submission and the table receiving its native ids made the resume
submit again: 41 extra runs in 10 trials locally, 24 on SGE and on Slurm, where the resume
even reported "completed" while its own array was still queued. Here, for every step, on
local, the real SGE (qsub and DRMAA) and the real Slurm: each job starts exactly once (a
ledger line per start), every job completed, the job table says so, and nothing of ours is
left queued.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from mle_toolbox.faults import (
    ACCEPTED,
    FAULT_ENV,
    FILES_WRITTEN,
    ROWS_WRITTEN,
    STEPS,
    SUBMITTED,
)
from tests import test_sge_real, test_slurm_real
from tests.conftest import write

# Every start of a job appends one line to ledger.txt (O_APPEND: lines never mix); the job
# lasts long enough to be still running when the resume looks for it.
LEDGER_TRAIN = """\
import time
from mle_toolbox import MLExperiment
mle = MLExperiment()
with open("ledger.txt", "a") as ledger:
    ledger.write(f"{mle.train_config.lrate}-{mle.seed_id}\\n")
time.sleep(2.0)
mle.log.update({"step": 0}, {"loss": mle.train_config.lrate}, save=True)
"""
JOBS = ["0.1-0", "0.1-1", "0.2-0", "0.2-1"]

BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param("sge", marks=[pytest.mark.sge, pytest.mark.skipif(
        not test_sge_real.HAVE_SGE, reason="no Grid Engine")], id="sge"),
    pytest.param("sge-drmaa", marks=[pytest.mark.sge, pytest.mark.skipif(
        not test_sge_real.HAVE_SGE, reason="no Grid Engine")], id="sge-drmaa"),
    pytest.param("slurm", marks=[pytest.mark.slurm, pytest.mark.skipif(
        not test_slurm_real.HAVE_SLURM, reason="no Slurm")], id="slurm"),
]


def _lost(backend: str, step: str) -> int:
    """How many jobs the cut submission never started (the resume reruns only those)."""
    if step in (ROWS_WRITTEN, FILES_WRITTEN):
        return 4
    # The local backend starts its jobs one by one: killed after the first one started.
    return 3 if backend == "local" and step == ACCEPTED else 0


def _mle(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mle_toolbox", *args], cwd=cwd,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=240, check=False)


def _killed_launch(project: Path, *, backend: str, step: str, env: dict[str, str]) -> None:
    killed = _mle("run", "meta.yaml", "--backend", backend, "--max-running", "4",
                  cwd=project, env={**env, FAULT_ENV: step})
    # The launcher reached the step and died there (not earlier, not later).
    assert killed.returncode == -9, killed.stdout + killed.stderr


def _rows(exp: Path) -> list[tuple[str, int, str, str | None]]:
    with sqlite3.connect(exp / ".mle" / "jobs.sqlite") as db:
        return list(db.execute("SELECT job_id, attempt, state, native_id FROM jobs "
                               "ORDER BY job_id, attempt"))


def _nothing_queued(backend: str, name: str, *, within: float = 30) -> bool:
    if backend == "local":
        return True
    drained = test_slurm_real._drained if backend == "slurm" else test_sge_real._drained
    return drained(name, within=within)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_launcher_killed_at_any_step_of_a_submission_runs_every_job_once(
        project: Path, backend: str, step: str) -> None:
    _kill_and_resume(project, backend=backend, step=step)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("step", [ACCEPTED, SUBMITTED])
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b.values[0] in ("sge", "slurm")])
def test_packed_jobs_of_a_cut_submission_are_found_in_their_tasks(
        project: Path, backend: str, step: str) -> None:
    """jobs_per_task 2: the 4 jobs run two by two in 2 array tasks (ids <task>@<k>)."""
    _kill_and_resume(project, backend=backend, step=step,
                     extra="single_job_args:\n  jobs_per_task: 2\n")


def _kill_and_resume(project: Path, *, backend: str, step: str, extra: str = "") -> None:
    name = f"cut{uuid.uuid4().hex[:6]}"
    write(project / "train.py", LEDGER_TRAIN)
    meta = project / "meta.yaml"
    meta.write_text(meta.read_text().replace("project_name: demo", f"project_name: {name}")
                    + extra)
    env = test_sge_real.DRMAA_ENV if backend == "sge-drmaa" else {}
    _killed_launch(project, backend=backend, step=step, env=env)
    # Before any resume, `mle status` shows what the cut submission started as such: only
    # the jobs nothing runs are still "submitting".
    before = _mle("status", "out", cwd=project, env=env)
    assert before.returncode == 0, before.stdout + before.stderr
    lost = _lost(backend, step)
    assert (f"{lost} submitting" in before.stdout) == bool(lost), before.stdout
    assert ("submitting" in before.stdout) == bool(lost), before.stdout
    resumed = _mle("resume", "out", cwd=project, env=env)
    out = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, out
    if lost:
        assert f"mle: {lost} job(s) were lost" in resumed.stdout, out
    else:
        assert "were lost" not in resumed.stdout, out
    # The resume returns only once its jobs are over: nothing of ours is left queued.
    assert _nothing_queued(backend, name, within=0 if backend == "local" else 5), out
    starts = Counter((project / "ledger.txt").read_text().split())
    assert starts == Counter(JOBS), starts  # each job started exactly once
    exp = project / "out"
    codes = sorted(p.read_text() for p in exp.glob("*/jobs/seed_*/exit_code"))
    assert codes == ["0\n"] * 4
    assert not list(exp.glob("*/jobs/seed_*/attempts/*/exit_code"))  # no second run's end
    rows = _rows(exp)
    latest = {job: state for job, _, state, _ in rows}  # ordered: the last attempt wins
    assert set(latest.values()) == {"completed"} and len(latest) == 4, rows
    assert Counter(job for job, _, state, _ in rows if state == "completed") == Counter(
        dict.fromkeys(latest, 1)), rows
    # A row of an attempt that never ran is recorded lost, never left "submitting".
    assert all(state in ("completed", "failed") for _, _, state, _ in rows), rows
    assert all(native for _, _, state, native in rows if state == "completed"), rows
    if backend != "local":
        arrays = list((exp / ".mle" / backend.removesuffix("-drmaa")).glob("*.tasks"))
        # The cut submission's array, and a second one only for jobs it never queued.
        assert len(arrays) == (2 if step == FILES_WRITTEN else 1), arrays
    status = _mle("status", "out", cwd=project, env=env)
    assert status.returncode == 0 and "4 jobs: 4 completed" in status.stdout, status.stdout
    report = json.loads((exp / "report.json").read_text())
    assert report["counts"].get("failed", 0) == 0, report


SLOW_FIRST_ATTEMPT = """\
import time
from mle_toolbox import MLExperiment
mle = MLExperiment()
with open("ledger.txt", "a") as ledger:
    ledger.write(f"{mle.train_config.lrate}-{mle.seed_id}-{mle.attempt}\\n")
time.sleep(60.0 if mle.attempt == 1 else 0.1)
"""


@pytest.mark.timeout(180)
def test_mle_cancel_stops_the_local_jobs_of_a_cut_submission(project: Path) -> None:
    """Killed after its 4 wrappers started, before their pids were recorded: `mle cancel`
    still finds and stops them (by their job dirs), records them cancelled, and a plain
    rerun runs them again."""
    write(project / "train.py", SLOW_FIRST_ATTEMPT)
    _killed_launch(project, backend="local", step=SUBMITTED, env={})
    ledger = project / "ledger.txt"
    deadline = time.monotonic() + 60
    while not ledger.exists() or len(ledger.read_text().split()) < 4:
        assert time.monotonic() < deadline, "the 4 jobs did not start"
        time.sleep(0.1)
    exp = project / "out"
    assert {state for _, _, state, _ in _rows(exp)} == {"submitting"}
    cancel = _mle("cancel", "out", cwd=project, env={})
    assert cancel.returncode == 0, cancel.stdout + cancel.stderr
    assert "mle: cancelled 4 job(s) recorded in" in cancel.stdout
    deadline = time.monotonic() + 30
    while len(list(exp.glob("*/jobs/seed_*/exit_code"))) < 4:  # each wrapper recorded its end
        assert time.monotonic() < deadline, "the jobs were not stopped"
        time.sleep(0.1)
    codes = sorted(p.read_text() for p in exp.glob("*/jobs/seed_*/exit_code"))
    assert codes == ["143\n"] * 4  # SIGTERM, not a run to the end
    rows = _rows(exp)
    assert [(state, native is not None) for _, _, state, native in rows] == [
        ("cancelled", True)] * 4, rows
    rerun = _mle("run", "meta.yaml", cwd=project, env={})
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert sorted(ledger.read_text().split()) == sorted(
        [f"{job}-1" for job in JOBS] + [f"{job}-2" for job in JOBS])
