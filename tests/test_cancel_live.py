"""`mle cancel` while the launcher runs: the jobs are recorded cancelled (not failed), and a
plain rerun runs them again (issue 17, item 4); real SGE and Slurm included."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import test_sge_real, test_slurm_real
from tests.conftest import run_mle, write

SLEEPS = """\
import time
from mle_toolbox import MLExperiment
mle = MLExperiment()
time.sleep(MLE_SECONDS)
mle.log.update({"step": 0}, {"loss": 1.0}, save=True)
"""

BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param("sge", marks=[pytest.mark.sge, pytest.mark.skipif(
        not test_sge_real.HAVE_SGE, reason="no Grid Engine")], id="sge"),
    pytest.param("slurm", marks=[pytest.mark.slurm, pytest.mark.skipif(
        not test_slurm_real.HAVE_SLURM, reason="no Slurm")], id="slurm"),
]


def _states(project: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(project / "out" / ".mle" / "jobs.sqlite") as db:
        rows = db.execute("SELECT job_id, state, reason FROM jobs j WHERE attempt = "
                          "(SELECT MAX(attempt) FROM jobs WHERE job_id = j.job_id) "
                          "ORDER BY job_id")
        return [(str(a), str(b), str(c)) for a, b, c in rows]


def _started(project: Path, count: int, *, within: float) -> None:
    deadline = time.monotonic() + within
    while len(list((project / "out").glob("*/jobs/seed_*/status.json"))) < count:
        assert time.monotonic() < deadline, "jobs did not start"
        time.sleep(0.2)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("backend", BACKENDS)
def test_cancel_during_a_run_records_cancelled_and_a_plain_rerun_runs_them(
        project: Path, backend: str) -> None:
    meta = project / "meta.yaml"
    meta.write_text(meta.read_text().replace("project_name: demo",
                                             f"project_name: livecancel{backend}"))
    write(project / "train.py", SLEEPS.replace("MLE_SECONDS", "120"))
    launcher = subprocess.Popen([sys.executable, "-m", "mle_toolbox", "run", "meta.yaml",
                                 "--backend", backend, "--max-running", "4"], cwd=project,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The single-node Slurm has 2 CPUs: the other 2 jobs are cancelled while queued.
        _started(project, 2 if backend == "slurm" else 4, within=90)
        cancel = run_mle("cancel", "out", cwd=project, timeout=60)
        assert cancel.returncode == 0, cancel.stderr
        out, err = launcher.communicate(timeout=90)
    finally:
        launcher.kill()
    assert launcher.returncode == 1, out + err
    assert "failed" not in [s for _, s, _ in _states(project)]
    assert _states(project) == [(j, "cancelled", "cancelled with mle cancel") for j in
                                ("a-seed0", "a-seed1", "b-seed0", "b-seed1")]
    report = json.loads((project / "out" / "report.json").read_text())
    assert report["counts"] == {"cancelled": 4}
    # A plain rerun (no --rerun-failed) runs the cancelled jobs again.
    write(project / "train.py", SLEEPS.replace("MLE_SECONDS", "0"))
    again = run_mle("run", "meta.yaml", "--backend", backend, cwd=project, timeout=150)
    assert again.returncode == 0, again.stdout + again.stderr
    assert [s for _, s, _ in _states(project)] == ["completed"] * 4
    archived = list((project / "out").glob("*/jobs/seed_*/attempts/1/cancelled"))
    assert len(archived) == 4  # the marker went with the cancelled attempt's files
