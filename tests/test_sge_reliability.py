"""Fault injection on a real Grid Engine: detach, re-attach, Ctrl+C, requeue.

Skipped without SGE unless MLE_REQUIRE_SGE=1 (CI), like test_sge_real.py. Each
test states the figure it checks.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_mle, write
from tests.test_reliability import requeue_train
from tests.test_sge_real import DRMAA_ENV, HAVE_SGE, _drained, _queued, wait_for_a_job

pytestmark = [pytest.mark.sge, pytest.mark.timeout(180),
              pytest.mark.skipif(not HAVE_SGE, reason="no Grid Engine (qstat, SGE_ROOT)")]

SLOW_TRAIN = """\
    import time
    from mle_toolbox import MLExperiment
    mle = MLExperiment()
    with open("ledger.txt", "a") as ledger:
        ledger.write(f"{mle.train_config.lrate}-{mle.seed_id}\\n")
    time.sleep(SECONDS)
    mle.log.update({"step": 0}, {"loss": mle.seed_id}, save=True)
    """


def _mle(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mle_toolbox", *args], cwd=cwd,
                          env={**os.environ, **DRMAA_ENV}, capture_output=True, text=True,
                          timeout=150, check=False)


def _start(project: Path, *args: str, seconds: float) -> subprocess.Popen[str]:
    write(project / "train.py", SLOW_TRAIN.replace("SECONDS", str(seconds)))
    proc = subprocess.Popen([sys.executable, "-m", "mle_toolbox", "run", "meta.yaml", *args],
                            cwd=project, env={**os.environ, **DRMAA_ENV},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    wait_for_a_job(project)
    return proc


def _every_job_started(project: Path, *, count: int = 4) -> None:
    """Wait (deadline 60 s) until every job wrote its ledger line: its shell is up.

    Cancelling a task in its first second kills its bash while a login shell's profile
    still runs; on these machines that is root's ~/.bashrc, whose `pyenv init` rehash
    then leaves its lock file (~/.pyenv/shims/.pyenv-shim) behind, and every later job
    of the suite waits 60 s for it (a CI run failed on a 150 s timeout). The tests cancel
    running jobs, as they say, not jobs still starting their shell.
    """
    ledger, deadline = project / "ledger.txt", time.monotonic() + 60
    while not ledger.exists() or len(ledger.read_text().split()) < count:
        assert time.monotonic() < deadline, "the jobs did not all start within 60 s"
        time.sleep(0.1)


def _table(project: Path) -> list[tuple[str, int, str]]:
    with sqlite3.connect(project / "out" / ".mle" / "jobs.sqlite") as db:
        return list(db.execute("SELECT job_id, attempt, state FROM jobs ORDER BY job_id"))


def _all_completed_once(project: Path) -> None:
    codes = [p.read_text() for p in (project / "out").glob("*/jobs/seed_*/exit_code")]
    assert codes == ["0\n"] * 4
    starts = sorted((project / "ledger.txt").read_text().split())
    assert starts == ["0.1-0", "0.1-1", "0.2-0", "0.2-1"]  # each job started exactly once
    assert [(a, s) for _, a, s in _table(project)] == [(1, "completed")] * 4
    # one array was submitted, never a second one
    assert len(list((project / "out" / ".mle" / "sge").glob("*.tasks"))) == 1


@pytest.mark.parametrize("backend", ["sge", "sge-drmaa"])
def test_launcher_killed_then_resume_reattaches_without_resubmitting(
        project: Path, backend: str) -> None:
    """Figure: 4 jobs completed, 0 duplicated (1 array, 4 ledger lines), 0 lost."""
    proc = _start(project, "--backend", backend, seconds=6)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)
    assert _queued("demo_"), "jobs should outlive the launcher"
    # The dead launcher's lock is taken over by the resume (no rm needed).
    result = _mle("resume", "out", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "re-attached to 4 job(s) still queued or running" in result.stdout
    _all_completed_once(project)


def test_first_ctrl_c_detaches_and_resume_collects_the_results(project: Path) -> None:
    """Figure: after one Ctrl+C 4 jobs still queued/running; resume -> 4 completed once."""
    proc = _start(project, "--backend", "sge", seconds=8)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "press Ctrl+C again within 2s to cancel them" in err
    assert "4 job(s) keep running on sge" in out and "mle resume" in out
    assert len(_queued("demo_")) >= 1
    status = run_mle("status", "out", cwd=project)
    counts = status.stdout.split("4 jobs: ", 1)[1].splitlines()[0]
    assert {part.split()[1] for part in counts.split(", ")} <= {"running", "pending"}, counts
    result = run_mle("resume", "out", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    _all_completed_once(project)


def test_ctrl_c_twice_empties_the_queue(project: Path) -> None:
    """Figure: qstat lists 0 jobs of the sweep after two Ctrl+C; 4 recorded cancelled."""
    proc = _start(project, "--backend", "sge", seconds=60)
    _every_job_started(project)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert _drained("demo_"), "jobs left in qstat after Ctrl+C twice"
    assert [s for _, _, s in _table(project)] == ["cancelled"] * 4


def test_detach_returns_at_once_and_cancel_uses_the_table(project: Path) -> None:
    """Figure: --detach returns with 4 jobs queued; mle cancel leaves 0 in qstat."""
    write(project / "train.py", SLOW_TRAIN.replace("SECONDS", "60"))
    result = run_mle("run", "meta.yaml", "--backend", "sge", "--detach", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "4 job(s) keep running on sge" in result.stdout
    assert f"mle status {project / 'out'}" in result.stdout
    assert len(_queued("demo_")) >= 1
    assert not (project / "out" / ".mle-lock").exists()
    _every_job_started(project)
    cancel = run_mle("cancel", "out", cwd=project)
    assert cancel.returncode == 0, cancel.stderr
    assert "mle: cancelled 4 job(s) recorded in" in cancel.stdout
    assert _drained("demo_"), "jobs left in qstat after mle cancel"
    assert [s for _, _, s in _table(project)] == ["cancelled"] * 4
    status = run_mle("status", "out", cwd=project)
    assert "4 jobs: 4 cancelled" in status.stdout


def test_requeue_on_sge_runs_again_with_attempt_2_and_the_checkpoint(project: Path) -> None:
    """Figure: 1 job exits 99 once, Grid Engine reruns it: attempt 2 sees its checkpoint."""
    write(project / "train.py", requeue_train("SIGUSR2"))  # as SGE -notify does before a kill
    result = run_mle("run", "meta.yaml", "--backend", "sge", timeout=150, cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    run_dir = project / "out" / "a"
    checkpoint = run_dir / "checkpoints" / "seed_0" / "step_5.ckpt"
    seen = json.loads((run_dir / "seen0-2").read_text())
    assert seen == {"attempt": 2, "resume_from": str(checkpoint)}
    assert len(list((project / "out" / ".mle" / "sge").glob("*.tasks"))) == 1  # SGE requeued
