"""Records agree with the job files after the next command that reads them, and read-only
experiments can be read (issue 17, items 6 and 10)."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_mle, write

pytestmark = pytest.mark.timeout(120)

GATED = """\
import time, pathlib
from mle_toolbox import MLExperiment
mle = MLExperiment()
gate = pathlib.Path("gate")
while not gate.exists():  # held until the test opens the gate
    time.sleep(0.05)
mle.log.update({"step": 0}, {"loss": 1.0}, save=True)
"""


def _table(exp: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(exp / ".mle" / "jobs.sqlite") as db:
        return [(str(j), str(s)) for j, s in db.execute(
            "SELECT job_id, state FROM jobs ORDER BY job_id")]


def test_jobs_that_ended_after_their_launcher_died_are_settled_by_mle_status(
        project: Path) -> None:
    write(project / "train.py", GATED)
    launcher = subprocess.Popen([sys.executable, "-m", "mle_toolbox", "run", "meta.yaml",
                                 "--max-running", "4"], cwd=project,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(list((project / "out").glob("*/jobs/seed_*/status.json"))) < 4:
        assert time.monotonic() < deadline, "jobs did not start"
        time.sleep(0.1)
    launcher.send_signal(signal.SIGKILL)  # no cleanup: the table says running
    launcher.wait(timeout=30)
    assert {s for _, s in _table(project / "out")} <= {"pending", "running"}  # live
    (project / "gate").write_text("open")  # the orphaned jobs now finish on their own
    deadline = time.monotonic() + 60
    while len(list((project / "out").glob("*/jobs/seed_*/exit_code"))) < 4:
        assert time.monotonic() < deadline, "jobs did not finish"
        time.sleep(0.1)
    status = run_mle("status", "out", cwd=project)
    assert status.returncode == 0, status.stderr
    assert "4 jobs: 4 completed" in status.stdout
    assert _table(project / "out") == [(j, "completed") for j in
                                       ("a-seed0", "a-seed1", "b-seed0", "b-seed1")]


@pytest.fixture
def read_only_mount(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A tmpfs that the test can remount read-only (root with mount rights, as in CI)."""
    where = tmp_path_factory.mktemp("mnt")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "none", str(where)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_read_only_experiment_can_be_read(project: Path, read_only_mount: Path) -> None:
    shutil.copytree(project, read_only_mount / "p")
    here = read_only_mount / "p"
    done = run_mle("run", "meta.yaml", "--no-report", cwd=here)
    assert done.returncode == 0, done.stderr
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_mount)], check=True)
    with pytest.raises(OSError):
        (here / "probe").write_text("x")  # really read-only
    for command in (["status", "out"], ["ls"], ["show", "out"], ["ls", "--json"]):
        result = run_mle(*command, cwd=here)
        assert result.returncode == 0, (command, result.stdout + result.stderr)
        assert "Traceback" not in result.stderr and "move it away" not in result.stderr
    status = run_mle("status", "out", cwd=here)
    assert "4 jobs: 4 completed" in status.stdout
    assert "completed" in run_mle("ls", cwd=here).stdout
