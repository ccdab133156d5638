"""Every stop is recorded truthfully (issue 17, items 5, 9, 11): the signal that stopped a job
or the launcher is named, SIGHUP is handled like SIGTERM, helpers that ignore SIGTERM do not
outlive their job, and a closed stdout is no crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import write

pytestmark = pytest.mark.timeout(120)

# Each job records its process group and pid, then waits to be stopped.
WAITING_TRAIN = """\
import os, time, pathlib
from mle_toolbox import MLExperiment
mle = MLExperiment()
here = pathlib.Path(mle.experiment_dir)
(here / f"pgid{mle.seed_id}").write_text(str(os.getpgid(0)))
time.sleep(120)
"""


def _wait_for(check: Callable[[], bool], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split()[2] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _launch(project: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "mle_toolbox", "run", "meta.yaml",
                             "--max-running", "4"], cwd=project, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _groups(project: Path) -> list[str]:
    return [p.read_text() for p in (project / "out").rglob("pgid*")]


def _started(project: Path, count: int) -> list[int]:
    # A job creates its pgid file before it writes the number, so wait for the contents too.
    _wait_for(lambda: len([g for g in _groups(project) if g]) == count, within=60,
              what="jobs did not start")
    return [int(g) for g in _groups(project)]


def _report(project: Path) -> dict[str, object]:
    report: dict[str, object] = json.loads((project / "out" / "report.json").read_text())
    return report


@pytest.mark.parametrize(("signum", "name"), [(signal.SIGTERM, "SIGTERM"),
                                              (signal.SIGHUP, "SIGHUP")])
def test_a_signal_to_the_launcher_is_named_and_exits_128_plus_its_number(
        project: Path, signum: int, name: str) -> None:
    write(project / "train.py", WAITING_TRAIN)
    proc = _launch(project)
    groups = _started(project, 4)
    proc.send_signal(signum)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    assert f"mle: stopped by {name}" in err
    assert "Ctrl+C" not in err
    assert not [g for g in groups if _alive(g)], "every job is stopped"
    report = _report(project)
    assert report["interrupted"] is True and report["counts"] == {"cancelled": 4}
    reasons = {j["reason"] for j in report["jobs"]}  # type: ignore[union-attr]
    assert reasons == {f"cancelled: interrupted ({name})"}


def test_a_job_whose_group_gets_sigterm_records_sigterm_not_minus_one(project: Path) -> None:
    write(project / "train.py", WAITING_TRAIN)
    write(project / "meta.yaml", (project / "meta.yaml").read_text()
          .replace("num_seeds: 2", "num_seeds: 1")
          .replace("[configs/a.json, configs/b.json]", "[configs/a.json]"))
    proc = _launch(project)
    [group] = _started(project, 1)
    os.killpg(group, signal.SIGTERM)  # as qdel / a plain `kill -TERM -PGID` does
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "killed by signal SIGTERM (exit code 143)" in err
    job = project / "out" / "a" / "jobs" / "seed_0"
    assert (job / "exit_code").read_text().strip() == "143"


def test_a_helper_that_ignores_sigterm_does_not_outlive_its_job(project: Path) -> None:
    write(project / "train.py", """\
        import os, signal, subprocess, sys, time, pathlib
        from mle_toolbox import MLExperiment
        mle = MLExperiment()
        helper = subprocess.Popen([sys.executable, "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"])
        pathlib.Path(mle.experiment_dir, f"helper{mle.seed_id}").write_text(str(helper.pid))
        time.sleep(0.5)  # the helper has set up its handler by then
        pathlib.Path(mle.experiment_dir, f"pgid{mle.seed_id}").write_text(str(os.getpgid(0)))
        if mle.seed_id == 1:
            time.sleep(120)  # stopped by Ctrl+C below
        """)
    proc = _launch(project)
    _started(project, 4)
    helpers = [int(p.read_text()) for p in (project / "out").rglob("helper*")]
    _wait_for(lambda: len(list((project / "out").rglob("exit_code"))) == 2, within=60,
              what="the seed-0 jobs did not end")
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    _wait_for(lambda: not [h for h in helpers if _alive(h)], within=10,
              what="helpers survived their jobs")


def test_a_closed_stdout_is_no_crash(project: Path) -> None:
    done = subprocess.run(["bash", "-c", 'exec "$0" -m mle_toolbox run meta.yaml >&-',
                           sys.executable], cwd=project, stderr=subprocess.PIPE, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert _report(project)["counts"] == {"completed": 4}
