"""The Slurm backend against a real Slurm (scripts/slurm-local.sh sets one up).

Skipped where no Slurm runs, unless MLE_REQUIRE_SLURM=1 (CI sets it): then a
missing cluster fails instead of skipping.
"""

from __future__ import annotations

import itertools
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

HAVE_SLURM = shutil.which("sbatch") is not None and shutil.which("squeue") is not None
if not HAVE_SLURM and os.environ.get("MLE_REQUIRE_SLURM") == "1":
    raise RuntimeError("MLE_REQUIRE_SLURM=1 but no Slurm here: run scripts/slurm-local.sh")
pytestmark = [pytest.mark.slurm, pytest.mark.timeout(180),
              pytest.mark.skipif(not HAVE_SLURM, reason="no Slurm (sbatch, squeue)")]

SLEEPER = ("import time\nfrom mle_toolbox import MLExperiment\n"
           "mle = MLExperiment()\ntime.sleep(300)\n")


def _queued(name_part: str) -> list[str]:
    """Slurm states of our jobs still in squeue."""
    from mle_toolbox.backends.commands import run_command
    from mle_toolbox.backends.slurm import squeue
    from mle_toolbox.backends.slurm_parse import parse_squeue

    listing = squeue(run_command)
    assert listing.returncode == 0, listing.stderr
    return [job.state for job in parse_squeue(listing.stdout)
            if name_part in job.name and job.job_state is not None]


def _drained(name_part: str, *, within: float = 30) -> bool:
    deadline = time.monotonic() + within
    while _queued(name_part):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def _summaries(exp: Path) -> dict[str, bytes]:
    return {str(p.relative_to(exp)): p.read_bytes() for p in sorted(exp.glob("*/summary.json"))}


def test_quickstart_on_slurm_gives_the_same_results_as_local(tmp_path: Path) -> None:
    for where in ("local", "slurm"):
        shutil.copytree(REPO / "experiments" / "quickstart", tmp_path / where,
                        ignore=shutil.ignore_patterns("runs"))
        result = run_mle("run", "meta.yaml", "--backend", where, cwd=tmp_path / where,
                         timeout=150)
        assert result.returncode == 0, result.stdout + result.stderr
    local = tmp_path / "local" / "runs" / "quickstart"
    slurm = tmp_path / "slurm" / "runs" / "quickstart"
    assert len(_summaries(local)) == 2
    assert _summaries(slurm) == _summaries(local)  # byte for byte
    assert json.loads((slurm / "report.json").read_text())["backend"] == "slurm"
    logs = sorted(local.glob("*/logs/*.jsonl"))
    assert len(logs) == 6
    for log in logs:
        assert (slurm / log.relative_to(local)).read_bytes() == log.read_bytes()
    scripts = list((slurm / ".mle" / "slurm").glob("*.sh"))
    assert len(scripts) == 1  # six jobs, one array, one sbatch
    assert "#SBATCH --array=0-5\n" in scripts[0].read_text()


def test_failing_seed_exits_1_with_its_stderr(project: Path) -> None:
    write(project / "train.py", "import sys\nfrom mle_toolbox import MLExperiment\n"
          "mle = MLExperiment()\nif mle.seed_id == 1 and mle.train_config.lrate > 0.15:\n"
          "    print('boom on slurm', file=sys.stderr)\n    sys.exit(100)\n")
    result = run_mle("run", "meta.yaml", "--backend", "slurm", cwd=project, timeout=150)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "mle: failed: b-seed1: exit code 100" in result.stderr
    assert "    | boom on slurm" in result.stderr
    report = json.loads((project / "out" / "report.json").read_text())
    assert report["counts"] == {"completed": 3, "failed": 1}
    assert _drained("demo_")


def test_max_running_becomes_the_array_throttle(project: Path) -> None:
    result = run_mle("run", "meta.yaml", "--backend", "slurm", "--max-running", "1",
                     cwd=project, timeout=150)
    assert result.returncode == 0, result.stderr
    [script] = (project / "out" / ".mle" / "slurm").glob("*.sh")
    assert "#SBATCH --array=0-3%1\n" in script.read_text()
    spans = []
    for status in project.glob("out/*/jobs/seed_*/status.json"):
        data = json.loads(status.read_text())
        spans.append((data["start"], data["end"]))
    assert len(spans) == 4
    spans.sort()
    assert all(end <= nxt for (_, end), (nxt, _) in itertools.pairwise(spans))  # one at a time


def test_resource_to_run_slurm_cluster_selects_slurm(project: Path) -> None:
    meta = project / "meta.yaml"
    meta.write_text(meta.read_text().replace("experiment_dir: out",
                                             "experiment_dir: out\n  resource_to_run: "
                                             "slurm-cluster"))
    result = run_mle("run", "meta.yaml", cwd=project, timeout=150)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((project / "out" / "report.json").read_text())["backend"] == "slurm"


def test_a_job_that_asks_to_be_requeued_runs_again_and_keeps_its_logs(project: Path) -> None:
    write(project / "train.py", "import pathlib\nfrom mle_toolbox import MLExperiment\n"
          "mle = MLExperiment()\n"
          "job = pathlib.Path(mle.experiment_dir) / 'jobs' / f'seed_{mle.seed_id}'\n"
          "marker = job / 'ran_once'\n"
          "if mle.seed_id == 0 and mle.train_config.lrate < 0.15 and not marker.exists():\n"
          "    marker.touch()\n    (job / 'requeue').touch()\n"
          "    print('first run: checkpoint saved')\n    raise SystemExit(0)\n"
          "print('run finished, attempt', mle.attempt)\n")
    result = run_mle("run", "meta.yaml", "--backend", "slurm", cwd=project, timeout=150)
    assert result.returncode == 0, result.stdout + result.stderr
    job = project / "out" / "a" / "jobs" / "seed_0"
    first = job / "attempts" / "1"  # the first attempt's logs are kept, not overwritten
    assert first.joinpath("stdout.log").read_text() == "first run: checkpoint saved\n"
    assert "scontrol requeue" in first.joinpath("stderr.log").read_text()
    assert job.joinpath("stdout.log").read_text() == "run finished, attempt 2\n"
    assert job.joinpath("exit_code").read_text() == "0\n"


def _start_sleeping_sweep(project: Path, *flags: str) -> subprocess.Popen[str]:
    write(project / "train.py", SLEEPER)
    proc = subprocess.Popen([sys.executable, "-m", "mle_toolbox", "run", "meta.yaml",
                             "--backend", "slurm", *flags], cwd=project,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    try:
        while not list((project / "out").glob("*/jobs/seed_*/status.json")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no job started on Slurm"
            time.sleep(0.5)
        assert _queued("demo_")
    except AssertionError:
        # Leave nothing behind that would hold the node for the next tests.
        proc.kill()
        run_mle("cancel", "out", "--force", cwd=project)
        raise
    return proc


def test_ctrl_c_with_cancel_on_interrupt_removes_every_job_from_the_queue(
        project: Path) -> None:
    proc = _start_sleeping_sweep(project, "--cancel-on-interrupt")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert _drained("demo_"), "jobs left in squeue after Ctrl+C"
    report = json.loads((project / "out" / "report.json").read_text())
    assert report["counts"] == {"cancelled": 4}


def test_first_ctrl_c_detaches_and_mle_cancel_empties_the_queue(project: Path) -> None:
    """Figures: after one Ctrl+C 4 jobs stay queued; after mle cancel 0 are left."""
    proc = _start_sleeping_sweep(project)
    try:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "keep running on slurm" in out + err
        assert len(_queued("demo_")) == 4  # detached: the jobs were left alone
        result = run_mle("cancel", "out", cwd=project)
        assert result.returncode == 0, result.stderr
        assert "mle: cancelled 4 job(s) recorded in" in result.stdout
        assert _drained("demo_"), "jobs left in squeue after mle cancel"
    finally:
        if proc.poll() is None:
            proc.kill()
    again = run_mle("cancel", "out", cwd=project)
    assert "nothing of" in again.stdout and again.returncode == 0


def test_the_warning_signal_reaches_the_job_before_its_time_limit(project: Path) -> None:
    # --signal=B:USR1@58 with a 1-minute limit: Slurm signals the batch shell once
    # at most 58 s are left (its periodic check: within about 30 s); the wrapper
    # forwards it to the job's command.
    write(project / "train.py", "import signal, sys, time\n"
          "signal.signal(signal.SIGUSR1, lambda *_: (print('got USR1'), sys.exit(0)))\n"
          "from mle_toolbox import MLExperiment\nmle = MLExperiment()\ntime.sleep(55)\n"
          "print('no signal')\n")
    meta = project / "meta.yaml"
    meta.write_text(meta.read_text().replace("num_seeds: 2", "num_seeds: 1") +
                    "single_job_args:\n  time_per_job: '00:00:01'\n")  # dd:hh:mm
    result = subprocess.run([sys.executable, "-m", "mle_toolbox", "run", "meta.yaml",
                             "--backend", "slurm"], cwd=project, capture_output=True,
                            text=True, timeout=150, check=False,
                            env={**os.environ, "MLE_SLURM_SIGNAL": "B:USR1@58"})
    assert result.returncode == 0, result.stdout + result.stderr
    for run in ("a", "b"):
        assert (project / "out" / run / "jobs" / "seed_0" / "stdout.log").read_text() \
            == "got USR1\n"


def test_a_project_under_a_hostile_path_runs(project: Path) -> None:
    weird = project.parent / "we ird 'q' $(touch pwned) %x;"
    shutil.copytree(project, weird)
    result = run_mle("run", "meta.yaml", "--backend", "slurm", cwd=weird, timeout=150)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(list(weird.glob("out/*/logs/seed_*.jsonl"))) == 4
    [log_dir] = weird.glob("out/.mle/slurm/out")  # sbatch's own log went where it should
    assert [p.name.startswith("demo_1_") for p in log_dir.iterdir()] == [True] * 4
    assert not list(project.parent.rglob("pwned"))
