"""``mle run`` end to end on the local backend: files written, values in them, exit codes."""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, run_mle, write

pytestmark = pytest.mark.timeout(90)


def _copy_example(name: str, dest: Path) -> Path:
    shutil.copytree(REPO / "experiments" / name, dest / name,
                    ignore=shutil.ignore_patterns("runs", "__pycache__"))
    return dest / name


def _rows(path: Path) -> list[dict[str, dict[str, float]]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _json(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def test_quickstart_sweep_writes_every_file_and_merges_seeds(tmp_path: Path) -> None:
    example = _copy_example("quickstart", tmp_path)
    result = run_mle("run", "meta.yaml", cwd=example)
    assert result.returncode == 0, result.stderr
    assert "mle: 6 jobs: 6 completed" in result.stdout
    exp = example / "runs" / "quickstart"
    plan = _json(exp / "plan.json")
    assert [j["job_id"] for j in plan["jobs"]] == [
        f"{run}-seed{s}" for run in ("sgd_small_lr", "sgd_large_lr") for s in range(3)]
    report = _json(exp / "report.json")
    assert report["counts"] == {"completed": 6}
    for run in ("sgd_small_lr", "sgd_large_lr"):
        finals = []
        for seed in range(3):
            job = exp / run / "jobs" / f"seed_{seed}"
            assert (job / "exit_code").read_text() == "0\n"
            status = _json(job / "status.json")
            assert status["state"] == "completed" and status["seed"] == seed
            rows = _rows(exp / run / "logs" / f"seed_{seed}.jsonl")
            # log_every_j_steps: 2 over 20 epochs, plus the last epoch
            assert [r["time"]["epoch"] for r in rows] == [*range(0, 20, 2), 19]
            finals.append(rows[-1]["stats"]["train_mse"])
        summary = _json(exp / run / "summary.json")
        final = summary["metrics"]["train_mse"]["final"]
        assert final["mean"] == pytest.approx(statistics.fmean(finals))
        assert final["std"] == pytest.approx(statistics.pstdev(finals))
        assert summary["seeds"] == [0, 1, 2]
    # the larger step size converges: the regression is fit well
    large = _json(exp / "sgd_large_lr" / "summary.json")["metrics"]
    assert large["train_mse"]["final"]["mean"] < 0.05
    assert large["weight_error"]["final"]["mean"] < 0.1


def test_grid_search_runs_every_point_with_its_values(tmp_path: Path) -> None:
    example = _copy_example("grid_search", tmp_path)
    result = run_mle("run", "meta.yaml", cwd=example)
    assert result.returncode == 0, result.stderr
    exp = example / "runs" / "grid_search"
    seen = set()
    for index in range(6):
        run = exp / f"b_1_eval_{index}"
        config = _json(run / f"b_1_eval_{index}.json")["train_config"]
        seen.add((config["lrate"], config["batch_size"]))
        assert config["num_epochs"] == 10  # the rest of the base config is kept
        for seed in (0, 1):
            assert len(_rows(run / "logs" / f"seed_{seed}.jsonl")) == 10
    assert seen == {(lr, bs) for lr in (0.001, 0.01, 0.1) for bs in (16, 64)}
    assert _json(exp / "report.json")["counts"] == {"completed": 12}


def test_failing_seed_fails_the_sweep_but_not_the_other_jobs(project: Path) -> None:
    write(project / "configs" / "b.json", '{"train_config": {"lrate": 0.2, "fail_seeds": [1]}}')
    result = run_mle("run", "meta.yaml", cwd=project)
    assert result.returncode == 1
    assert "failed    b-seed1" in result.stdout
    assert "mle: failed: b-seed1: exit code 3" in result.stderr
    assert "    | boom: seed 1 was told to fail" in result.stderr
    report = _json(project / "out" / "report.json")
    assert report["counts"] == {"completed": 3, "failed": 1}
    failed = [j for j in report["jobs"] if j["state"] == "failed"]
    assert failed == [{"job_id": "b-seed1", "state": "failed", "exit_code": 3,
                       "reason": "exit code 3", "duration_s": failed[0]["duration_s"],
                      "stderr_tail": "boom: seed 1 was told to fail"}]
    assert (project / "out" / "b" / "jobs" / "seed_0" / "exit_code").read_text() == "0\n"


def test_dry_run_prints_the_plan_and_writes_nothing(project: Path) -> None:
    before = sorted(project.rglob("*"))
    result = run_mle("run", "meta.yaml", "--dry-run", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "jobs        4 to run: 2 runs x 2 seeds (seeds 0 1)" in result.stdout
    assert f"-seed 1 -exp_dir {project / 'out' / 'b'}" in result.stdout
    assert sorted(project.rglob("*")) == before


def test_max_running_one_never_overlaps_jobs(project: Path) -> None:
    write(project / "train.py", "import time, pathlib, sys\n"
          "from mle_toolbox import MLExperiment\nmle = MLExperiment()\n"
          "start = time.time(); time.sleep(0.2)\n"
          "pathlib.Path(mle.experiment_dir, f'span{mle.seed_id}').write_text("
          "f'{start} {time.time()}')\n")
    result = run_mle("run", "meta.yaml", "--max-running", "1", cwd=project)
    assert result.returncode == 0, result.stderr
    spans = sorted(tuple(map(float, p.read_text().split()))
                   for p in (project / "out").rglob("span*"))
    assert len(spans) == 4
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_rerun_skips_completed_and_reruns_failed_keeping_the_old_attempt(project: Path) -> None:
    write(project / "configs" / "b.json", '{"train_config": {"lrate": 0.2, "fail_seeds": [0]}}')
    assert run_mle("run", "meta.yaml", cwd=project).returncode == 1
    kept = project / "out" / "a" / "logs" / "seed_0.jsonl"
    mtime = kept.stat().st_mtime_ns
    write(project / "configs" / "b.json", '{"train_config": {"lrate": 0.2}}')
    result = run_mle("run", "meta.yaml", cwd=project)
    assert result.returncode == 0, result.stderr
    # b's config changed: both of its seeds run again; a's seeds are skipped
    assert "mle: 2 of 4 jobs completed earlier with the same config; skipped" in result.stdout
    assert kept.stat().st_mtime_ns == mtime
    job = project / "out" / "b" / "jobs" / "seed_0"
    assert (job / "exit_code").read_text() == "0\n"
    assert "boom" in (job / "attempts" / "1" / "stderr.log").read_text()
    assert (job / "attempts" / "1" / "exit_code").read_text() == "3\n"
    again = run_mle("run", "meta.yaml", cwd=project)
    assert "mle: 4 of 4 jobs completed earlier with the same config; skipped" in again.stdout


def test_other_experiments_directories_are_refused(project: Path) -> None:
    assert run_mle("run", "meta.yaml", cwd=project).returncode == 0
    shutil.copy(project / "meta.yaml", project / "other.yaml")
    result = run_mle("run", "other.yaml", cwd=project)
    assert result.returncode == 2
    assert "holds the results of another experiment" in result.stderr
    write(project / "foreign" / "notes.txt", "precious")
    text = (project / "meta.yaml").read_text().replace("experiment_dir: out",
                                                       "experiment_dir: foreign")
    write(project / "third.yaml", text)
    write(project / "foreign" / "a" / "mine.txt", "a folder named like a run of third.yaml")
    result = run_mle("run", "third.yaml", cwd=project)
    assert result.returncode == 2
    assert "already holds a, which this experiment would write" in result.stderr
    assert sorted(p.name for p in (project / "foreign").iterdir()) == ["a", "notes.txt"]


def test_a_held_lock_refuses_naming_its_holder(project: Path) -> None:
    lock = project / "out" / ".mle-lock"
    write(lock, json.dumps({"pid": 4242, "host": "elsewhere", "since": 0}))
    with lock.open("r+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a live launcher holds it
        result = run_mle("run", "meta.yaml", cwd=project)
    assert result.returncode == 2
    assert "another mle launcher (pid 4242 on elsewhere, started " in result.stderr
    assert "wait for it or cancel it first" in result.stderr
    assert "rm " not in result.stderr
    assert not (project / "out" / "plan.json").exists()


def test_a_dead_launchers_lock_is_taken_over_with_one_line(project: Path) -> None:
    """A lock file whose holder died (kill -9, even with its pid reused) is no obstacle."""
    lock = project / "out" / ".mle-lock"
    write(lock, json.dumps({"pid": os.getpid(), "host": os.uname().nodename}))  # a live pid
    result = run_mle("run", "meta.yaml", cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count(f"took over the lock {lock} of launcher pid {os.getpid()}") == 1
    assert not lock.exists()
    assert len(list((project / "out").glob("*/jobs/seed_*/status.json"))) == 4


def test_an_empty_lock_left_by_a_full_disk_is_taken_over(project: Path) -> None:
    lock = project / "out" / ".mle-lock"
    write(lock, "")
    result = run_mle("run", "meta.yaml", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "took over" not in result.stderr  # nothing to name: nobody recorded
    assert not lock.exists()


def test_a_job_killed_by_a_signal_is_failed_with_the_signal_named(project: Path) -> None:
    write(project / "train.py", "import os, signal\nfrom mle_toolbox import MLExperiment\n"
          "mle = MLExperiment()\nif mle.seed_id == 1:\n"
          "    os.kill(os.getpid(), signal.SIGKILL)\n")
    result = run_mle("run", "meta.yaml", cwd=project)
    assert result.returncode == 1
    assert "killed by signal SIGKILL (exit code 137)" in result.stderr


def test_time_limit_is_enforced_by_the_launcher(project: Path) -> None:
    write(project / "train.py", "import time\nfrom mle_toolbox import MLExperiment\n"
          "mle = MLExperiment()\ntime.sleep(60 if mle.seed_id == 0 else 0)\n")
    text = (project / "meta.yaml").read_text() + "single_job_args:\n  time_per_job: 1s\n"
    write(project / "meta.yaml", text)
    started = time.monotonic()
    result = run_mle("run", "meta.yaml", cwd=project)
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    assert "timed out after 00:00:01 (time_per_job)" in result.stderr
    assert _json(project / "out" / "report.json")["counts"] == {"completed": 2, "failed": 2}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_ctrl_c_stops_every_job_and_exits_130(project: Path) -> None:
    write(project / "train.py", "import os, time, pathlib\n"
          "from mle_toolbox import MLExperiment\nmle = MLExperiment()\n"
          "pathlib.Path(mle.experiment_dir, f'pid{mle.seed_id}').write_text(str(os.getpid()))\n"
          "time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-m", "mle_toolbox", "run", "meta.yaml"],
                            cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.monotonic() + 30
    # A job creates its pid file before it writes the number: wait for both numbers.
    while len(written := [p.read_text() for p in (project / "out").rglob("pid*")
                          if p.read_text()]) < 2:
        assert time.monotonic() < deadline, "jobs did not start"
        time.sleep(0.1)
    pids = [int(p) for p in written]
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert not [pid for pid in pids if _alive(pid)]
    report = _json(project / "out" / "report.json")
    assert report["interrupted"] is True
    assert report["counts"] == {"cancelled": 4}


def test_each_running_job_gets_its_own_gpu(project: Path) -> None:
    write(project / "train.py", "import os, time, pathlib\n"
          "from mle_toolbox import MLExperiment\nmle = MLExperiment()\n"
          "pathlib.Path(mle.experiment_dir, f'gpu{mle.seed_id}').write_text("
          "os.environ['CUDA_VISIBLE_DEVICES'])\ntime.sleep(0.3)\n")
    write(project / "meta.yaml", (project / "meta.yaml").read_text()
          + "single_job_args:\n  num_gpus: 1\n")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "3,7"}
    result = subprocess.run([sys.executable, "-m", "mle_toolbox", "run", "meta.yaml",
                             "--max-running", "2"], cwd=project, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assigned = {p.parent.name + p.name: p.read_text() for p in (project / "out").rglob("gpu*")}
    assert len(assigned) == 4 and set(assigned.values()) <= {"3", "7"}
    too_many = subprocess.run([sys.executable, "-m", "mle_toolbox", "run", "meta.yaml"],
                              cwd=project, env={**env, "CUDA_VISIBLE_DEVICES": ""},
                              capture_output=True, text=True, timeout=60, check=False)
    assert too_many.returncode == 2
    assert "asks for 1 GPU(s) (num_gpus) but only 0 are visible" in too_many.stderr
