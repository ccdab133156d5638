"""The Grid Engine backend against a real SGE (scripts/sge-local.sh sets one up).

Skipped where no SGE runs, unless MLE_REQUIRE_SGE=1 (CI sets it): then a missing
cluster fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, run_mle, write

HAVE_SGE = shutil.which("qstat") is not None and bool(os.environ.get("SGE_ROOT"))
if not HAVE_SGE and os.environ.get("MLE_REQUIRE_SGE") == "1":
    raise RuntimeError("MLE_REQUIRE_SGE=1 but no SGE here: run scripts/sge-local.sh and "
                       "export SGE_ROOT=/var/lib/gridengine SGE_CELL=default")
pytestmark = [pytest.mark.sge, pytest.mark.timeout(180),
              pytest.mark.skipif(not HAVE_SGE, reason="no Grid Engine (qstat, SGE_ROOT)")]


def _queued(name_part: str) -> list[str]:
    """SGE states of our jobs still in qstat."""
    from mle_toolbox.backends.sge_parse import parse_qstat_xml

    out = subprocess.run(["qstat", "-xml"], capture_output=True, text=True, check=True).stdout
    return [job.state for job in parse_qstat_xml(out) if name_part in job.name]


def _drained(name_part: str, *, within: float = 30) -> bool:
    deadline = time.monotonic() + within
    while _queued(name_part):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def wait_for_a_job(project: Path, *, within: float = 60) -> None:
    """Until some job of ``project/out`` has started (written its status.json)."""
    deadline = time.monotonic() + within
    while not list((project / "out").glob("*/jobs/seed_*/status.json")):
        assert time.monotonic() < deadline, "no job started on SGE"
        time.sleep(0.3)


def _summaries(exp: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    return {p.parent.name: json.loads(p.read_text())["metrics"]
            for p in sorted(exp.glob("*/summary.json"))}


def test_quickstart_on_sge_gives_the_same_results_as_local(tmp_path: Path) -> None:
    for where in ("local", "sge"):
        shutil.copytree(REPO / "experiments" / "quickstart", tmp_path / where,
                        ignore=shutil.ignore_patterns("runs"))
        result = run_mle("run", "meta.yaml", "--backend", where, cwd=tmp_path / where,
                         timeout=150)
        assert result.returncode == 0, result.stdout + result.stderr
    local = tmp_path / "local" / "runs" / "quickstart"
    sge = tmp_path / "sge" / "runs" / "quickstart"
    assert _summaries(sge) == _summaries(local)
    assert json.loads((sge / "report.json").read_text())["backend"] == "sge"
    for log in local.glob("*/logs/*.jsonl"):
        assert (sge / log.relative_to(local)).read_text() == log.read_text()
    scripts = list((sge / ".mle" / "sge").glob("*.sh"))
    assert len(scripts) == 1  # six jobs, one array, one qsub
    assert "#$ -t 1-6" in scripts[0].read_text()


def test_failing_seed_exits_1_with_its_stderr_and_exit_100_is_reported_exactly(
    project: Path,
) -> None:
    write(project / "train.py", "import sys\nfrom mle_toolbox import MLExperiment\n"
          "mle = MLExperiment()\nif mle.seed_id == 1 and mle.train_config.lrate > 0.15:\n"
          "    print('boom on sge', file=sys.stderr)\n    sys.exit(100)\n")
    result = run_mle("run", "meta.yaml", "--backend", "sge", cwd=project, timeout=150)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "mle: failed: b-seed1: exit code 100" in result.stderr
    assert "    | boom on sge" in result.stderr
    report = json.loads((project / "out" / "report.json").read_text())
    assert report["counts"] == {"completed": 3, "failed": 1}
    # exit 100 never reaches SGE (it would put the job into error state Eqw)
    assert not [state for state in _queued("demo_") if "E" in state]
    assert _drained("demo_")


def test_max_running_becomes_the_array_throttle(project: Path) -> None:
    result = run_mle("run", "meta.yaml", "--backend", "sge", "--max-running", "1",
                     cwd=project, timeout=150)
    assert result.returncode == 0, result.stderr
    [script] = (project / "out" / ".mle" / "sge").glob("*.sh")
    assert "#$ -tc 1" in script.read_text()


def test_ctrl_c_removes_every_job_from_the_queue(project: Path) -> None:
    write(project / "train.py", "import time\nfrom mle_toolbox import MLExperiment\n"
          "mle = MLExperiment()\ntime.sleep(300)\n")
    proc = subprocess.Popen([sys.executable, "-m", "mle_toolbox", "run", "meta.yaml",
                             "--backend", "sge", "--cancel-on-interrupt"], cwd=project,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    wait_for_a_job(project)
    assert _queued("demo_")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert _drained("demo_"), "jobs left in qstat after Ctrl+C"
    report = json.loads((project / "out" / "report.json").read_text())
    assert report["counts"] == {"cancelled": 4}


DRMAA_ENV = {"DRMAA_LIBRARY_PATH": "/usr/lib/gridengine-drmaa/lib/libdrmaa.so.1.0",
             "LD_PRELOAD": "/lib/x86_64-linux-gnu/libjemalloc.so.2"}


def _mle_env(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mle_toolbox", *args], cwd=cwd,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=150, check=False)


def test_drmaa_backend_runs_the_sweep_and_reports_failures(project: Path) -> None:
    write(project / "configs" / "b.json", '{"train_config": {"lrate": 0.2, "fail_seeds": [0]}}')
    result = _mle_env("run", "meta.yaml", "--backend", "sge-drmaa", cwd=project, env=DRMAA_ENV)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "mle: failed: b-seed0: exit code 3" in result.stderr
    assert "    | boom: seed 0 was told to fail" in result.stderr
    report = json.loads((project / "out" / "report.json").read_text())
    assert report["backend"] == "sge-drmaa"
    assert report["counts"] == {"completed": 3, "failed": 1}
    rows = (project / "out" / "a" / "logs" / "seed_1.jsonl").read_text().splitlines()
    assert len(rows) == 3


def test_drmaa_without_its_library_says_how_to_fix_it(project: Path) -> None:
    result = _mle_env("run", "meta.yaml", "--backend", "sge-drmaa", cwd=project,
                      env={"DRMAA_LIBRARY_PATH": "/nonexistent/libdrmaa.so"})
    assert result.returncode == 2
    assert "mle: error: cannot load libdrmaa" in result.stderr
    # The library named is the one that failed; the fix names the variable. (The
    # static-TLS case needs no advice: mle restarts itself with jemalloc preloaded.)
    assert "found /nonexistent/libdrmaa.so" in result.stderr
    assert "Set DRMAA_LIBRARY_PATH to your cluster's libdrmaa.so" in result.stderr
    assert not (project / "out").exists()


@pytest.mark.parametrize("backend", ["sge", "sge-drmaa"])
def test_mle_cancel_empties_the_queue_of_a_running_sweep(project: Path, backend: str) -> None:
    write(project / "train.py", "import time\nfrom mle_toolbox import MLExperiment\n"
          "mle = MLExperiment()\ntime.sleep(300)\n")
    proc = subprocess.Popen([sys.executable, "-m", "mle_toolbox", "run", "meta.yaml",
                             "--backend", backend], cwd=project, env={**os.environ,
                            **DRMAA_ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        wait_for_a_job(project)
        result = run_mle("cancel", "out", cwd=project)
        assert result.returncode == 0, result.stderr
        assert "mle: cancelled 4 job(s) recorded in" in result.stdout
        assert _drained("demo_"), "jobs left in qstat after mle cancel"
        _, err = proc.communicate(timeout=90)
        assert proc.returncode == 1, err  # the launcher saw every job end, none completed
    finally:
        if proc.poll() is None:
            proc.kill()
    again = run_mle("cancel", "out", cwd=project)
    assert "nothing of" in again.stdout and again.returncode == 0
