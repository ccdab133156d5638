"""Fault injection on the local backend: each test states the figure it checks.

Launcher killed with SIGKILL mid-sweep, jobs killed, jobs asking to be requeued,
two launchers at once, writes interrupted by SIGKILL. The same scenarios on a real
Grid Engine are in test_sge_reliability.py.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tests.conftest import run_mle, write

# Every start of a job appends one line to ledger.txt (O_APPEND: lines never mix).
LEDGER_TRAIN = """\
    import time
    from mle_toolbox import MLExperiment
    mle = MLExperiment()
    with open("ledger.txt", "a") as ledger:
        ledger.write(f"{mle.train_config.lrate}-{mle.seed_id}\\n")
    # a-seed1 and a-seed2 are the ones running when the launcher gets killed
    slow = mle.seed_id and mle.train_config.lrate == 0.1 and mle.attempt == 1
    time.sleep(4.0 if slow else 0.1)
    for step in range(3):
        mle.log.update({"step": step}, {"loss": step + mle.seed_id}, save=True)
    """


def requeue_train(signal_name: str) -> str:
    """A train.py whose seed 0 gets ``signal_name`` on attempt 1 and saves a checkpoint."""
    return f"""\
import json, os, signal
from pathlib import Path
from mle_toolbox import MLExperiment
mle = MLExperiment()
def save():
    mle.checkpoint_dir.mkdir(exist_ok=True)
    (mle.checkpoint_dir / "step_5.ckpt").write_text("5")
mle.on_preemption(save)
seen = {{"attempt": mle.attempt, "resume_from": str(mle.resume_from)}}
Path(mle.experiment_dir, f"seen{{mle.seed_id}}-{{mle.attempt}}").write_text(json.dumps(seen))
if mle.seed_id == 0 and mle.attempt == 1:
    os.kill(os.getpid(), signal.{signal_name})  # the scheduler's warning signal
"""


def _rows(exp: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(exp / ".mle" / "jobs.sqlite") as db:
        return list(db.execute("SELECT job_id, attempt, state, exit_code, reason, native_id "
                               "FROM jobs ORDER BY job_id, attempt"))


def _exit_codes(exp: Path) -> dict[str, str]:
    return {f"{p.parent.parent.parent.name}-{p.parent.name}": p.read_text().strip()
            for p in sorted(exp.glob("*/jobs/seed_*/exit_code"))}


def _wait_for(condition: Callable[[], bool], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _launch_and_kill(project: Path) -> subprocess.Popen[str]:
    """Start a 6-job sweep (2 at once) and SIGKILL the launcher once 1 job completed
    and 2 are running; 3 jobs were never started."""
    write(project / "meta.yaml",
          (project / "meta.yaml").read_text().replace("num_seeds: 2", "num_seeds: 3"))
    write(project / "train.py", LEDGER_TRAIN)
    proc = subprocess.Popen([sys.executable, "-m", "mle_toolbox", "run", "meta.yaml",
                             "--max-running", "2"], cwd=project, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    out = project / "out"
    _wait_for(lambda: len(list(out.glob("*/jobs/seed_*/exit_code"))) >= 1
              and len(list(out.glob("*/jobs/seed_*/status.json"))) >= 3,
              within=30, what="the sweep did not get going")
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)
    return proc


def _resume(project: Path) -> subprocess.CompletedProcess[str]:
    lock = project / "out" / ".mle-lock"
    assert lock.exists()  # the dead launcher's lock file is still there: it is taken over
    result = run_mle("resume", "out", cwd=project)
    assert f"took over the lock {lock}" in result.stderr, result.stderr
    return result


def test_launcher_killed_mid_sweep_resume_completes_every_job_exactly_once(
        project: Path) -> None:
    """Figure: 6 jobs completed, 0 duplicated (6 ledger lines), 0 lost, finished logs kept."""
    _launch_and_kill(project)
    out = project / "out"
    finished = {p: p.read_bytes() for p in out.glob("*/logs/seed_0.jsonl")}
    assert finished, "no job finished before the kill"
    result = _resume(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "re-attached to 2 job(s) still queued or running" in result.stdout
    assert "lost" not in result.stdout
    starts = Counter((project / "ledger.txt").read_text().split())
    assert sorted(starts.values()) == [1] * 6  # 6 jobs started once each: none duplicated
    assert set(_exit_codes(out).values()) == {"0"} and len(_exit_codes(out)) == 6
    for path, data in finished.items():
        assert path.read_bytes() == data  # metrics of jobs done before the kill untouched
    states = Counter(row[2] for row in _rows(out))
    assert states == {"completed": 6}
    status = run_mle("status", "out", cwd=project)
    assert status.returncode == 0 and "6 jobs: 6 completed" in status.stdout


def test_jobs_lost_with_their_launcher_are_reported_lost_and_rerun(project: Path) -> None:
    """Figure: 2 jobs lost (launcher and job processes killed), rerun; 6 completed once."""
    _launch_and_kill(project)
    out = project / "out"
    running = [int(row[5]) for row in _rows(out) if row[2] == "pending"]
    assert len(running) == 2
    for pid in running:  # the machine "loses" the jobs too
        os.killpg(pid, signal.SIGKILL)
    _wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in running),
              within=10, what="killed jobs still there")
    result = _resume(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mle: 2 job(s) were lost" in result.stdout
    assert len(_exit_codes(out)) == 6 and set(_exit_codes(out).values()) == {"0"}
    lost = [row for row in _rows(out) if row[4].startswith("lost")]
    assert len(lost) == 2  # recorded honestly as lost, then rerun as attempt 2
    assert sorted(r[1] for r in _rows(out) if r[0] in {x[0] for x in lost}) == [1, 1, 2, 2]


def test_killed_job_is_failed_with_the_signal_and_retried(project: Path) -> None:
    """Figure: 1 job killed by SIGKILL on attempt 1, completed on attempt 2; 4 completed."""
    write(project / "train.py", """\
        import os, signal
        from mle_toolbox import MLExperiment
        mle = MLExperiment()
        print("attempt", mle.attempt)
        if mle.seed_id == 1 and mle.train_config.lrate == 0.1 and mle.attempt == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        """)
    result = run_mle("run", "meta.yaml", "--max-retries", "1", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "retrying a-seed1 after: killed by signal SIGKILL (exit code 137)" in result.stderr
    job = project / "out" / "a" / "jobs" / "seed_1"
    assert (job / "attempts" / "1" / "exit_code").read_text() == "137\n"
    assert (job / "stdout.log").read_text() == "attempt 2\n"
    assert (job / "attempts" / "1" / "stdout.log").read_text() == "attempt 1\n"
    rows = [r for r in _rows(project / "out") if r[0] == "a-seed1"]
    assert [(r[1], r[2], r[4]) for r in rows] == [
        (1, "failed", "killed by signal SIGKILL (exit code 137)"), (2, "completed", "")]
    forced = run_mle("run", "meta.yaml", "--force", cwd=project)
    assert forced.returncode == 0 and "mle: running 4 jobs" in forced.stdout  # starts over
    assert (job / "stdout.log").read_text() == "attempt 3\n"  # earlier attempts kept


def test_failed_jobs_are_kept_until_rerun_failed(project: Path) -> None:
    """Figure: 1 failed job not rerun by a plain relaunch (0 runs), rerun with the flag."""
    write(project / "configs" / "b.json", '{"train_config": {"lrate": 0.2, "fail_seeds": [0]}}')
    assert run_mle("run", "meta.yaml", cwd=project).returncode == 1
    again = run_mle("run", "meta.yaml", cwd=project)
    assert again.returncode == 1
    assert "mle: running 0 jobs" in again.stdout
    assert "1 job(s) failed earlier and are not rerun (b-seed0); add --rerun-failed" \
        in again.stderr
    status = run_mle("status", "out", cwd=project)
    assert status.returncode == 1
    assert "4 jobs: 3 completed, 1 failed" in status.stdout
    assert "failed: b-seed0: exit code 3\n    | boom: seed 0 was told to fail" in status.stdout
    rerun = run_mle("resume", "out", "--rerun-failed", cwd=project)
    assert "mle: running 1 jobs" in rerun.stdout and rerun.returncode == 1


def test_requeued_job_runs_again_and_sees_attempt_2_and_its_checkpoint(project: Path) -> None:
    """Figure: 1 job requeued (exit 99) once; attempt 2 resumes from its checkpoint."""
    write(project / "train.py", requeue_train("SIGUSR1"))
    result = run_mle("run", "meta.yaml", cwd=project)
    assert result.returncode == 0, result.stderr
    run_dir = project / "out" / "a"
    seen = json.loads((run_dir / "seen0-2").read_text())
    checkpoint = run_dir / "checkpoints" / "seed_0" / "step_5.ckpt"
    assert seen == {"attempt": 2, "resume_from": str(checkpoint)}
    assert json.loads((run_dir / "seen1-1").read_text())["resume_from"] == "None"
    first = run_dir / "jobs" / "seed_0" / "attempts" / "1"
    assert "asking to be requeued" in (first / "stderr.log").read_text()
    assert json.loads((first / "status.json").read_text())["state"] == "requeued"
    assert json.loads((run_dir / "jobs" / "seed_0" / "status.json").read_text())["state"] \
        == "completed"
    rows = [r for r in _rows(project / "out") if r[0] == "a-seed0"]
    assert [(r[1], r[2], r[3]) for r in rows] == [(1, "failed", 99), (2, "completed", 0)]


def test_a_second_launcher_refuses_while_the_first_runs(project: Path) -> None:
    """Figure: 2 launchers at once, 1 runs, the other exits 2 and starts 0 jobs."""
    write(project / "train.py", "import time\nfrom mle_toolbox import MLExperiment\n"
          "mle = MLExperiment()\nopen('ledger.txt', 'a').write('x\\n')\ntime.sleep(1)\n")
    first = subprocess.Popen([sys.executable, "-m", "mle_toolbox", "run", "meta.yaml"],
                             cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    _wait_for((project / "out" / ".mle-lock").exists, within=20, what="no lock")
    second = run_mle("run", "meta.yaml", cwd=project)
    first.communicate(timeout=60)
    assert second.returncode == 2
    assert f"another mle launcher (pid {first.pid}" in second.stderr
    assert first.returncode == 0
    assert (project / "ledger.txt").read_text().count("x") == 4


def test_detach_needs_a_cluster_backend(project: Path) -> None:
    result = run_mle("run", "meta.yaml", "--detach", cwd=project)
    assert result.returncode == 2
    assert "--detach: needs a scheduler that keeps jobs running" in result.stderr
    assert not (project / "out").exists()


WRITER = """\
import sys
from pathlib import Path
from mle_toolbox.files.atomic import write_json_atomic
from mle_toolbox.launcher.jobtable import JobTable
table = JobTable.open(Path(sys.argv[1]) / "jobs.sqlite")
i = 0
while True:
    i += 1
    write_json_atomic(Path(sys.argv[1]) / "status.json", {"n": i, "pad": "x" * 50000})
    table.set_info(**{f"k{i % 50}": str(i)})
"""


def test_writes_killed_midway_leave_readable_files_and_table(tmp_path: Path) -> None:
    """Figure: 10 SIGKILLs during status/table writes, 0 torn reads, 0 temp files left
    visible as status.json."""
    from mle_toolbox.launcher.jobtable import JobTable

    for _ in range(10):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)])
        _wait_for((tmp_path / "status.json").exists, within=20, what="no write")
        time.sleep(0.15)
        proc.kill()
        proc.wait(timeout=10)
        data = json.loads((tmp_path / "status.json").read_text())
        assert data["n"] >= 1 and len(data["pad"]) == 50000
        table = JobTable.open(tmp_path / "jobs.sqlite")
        assert table.info("k1") is not None or table.info("k2") is not None
        table.close()
    with sqlite3.connect(tmp_path / "jobs.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_changed_config_is_never_taken_as_done_even_while_running(project: Path) -> None:
    """Figure: config a changed after a crash: its 1 done + 2 live jobs (cancelled) rerun,
    b's 3 jobs run once; 6 completed with the new hashes."""
    _launch_and_kill(project)
    write(project / "configs" / "a.json", '{"train_config": {"lrate": 0.3}}\n')
    result = _resume(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mle: cancelled 2 live job(s) of an older config" in result.stdout
    assert "completed earlier" not in result.stdout
    starts = Counter((project / "ledger.txt").read_text().split())
    assert starts == {"0.1-0": 1, "0.1-1": 1, "0.1-2": 1, "0.3-0": 1, "0.3-1": 1, "0.3-2": 1,
                      "0.2-0": 1, "0.2-1": 1, "0.2-2": 1}
    assert set(_exit_codes(project / "out").values()) == {"0"}
    plan = json.loads((project / "out" / "plan.json").read_text())
    hashes = {j["job_id"]: j["config_hash"] for j in plan["jobs"]}
    with sqlite3.connect(project / "out" / ".mle" / "jobs.sqlite") as db:
        done = dict(db.execute("SELECT job_id, config_hash FROM jobs WHERE state = 'completed' "
                               "ORDER BY job_id, attempt"))
    assert done == hashes  # the last completion of every job is of the current config
