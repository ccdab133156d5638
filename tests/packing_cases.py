"""Packed array tasks on a real cluster: the cases tests/test_sge_packing.py and
tests/test_slurm_packing.py run on their backends (single_job_args.jobs_per_task).

Every job appends ``start`` and, once it has logged its metric, ``done`` to its own
file in ``counts/``: how often each job ran, and how often it ran to the end.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import write

TRAIN = '''\
import os
import signal
import sys
from pathlib import Path

from mle_toolbox import MLExperiment

mle = MLExperiment()
cfg = mle.train_config
log = Path(cfg["counts"]) / f"seed_{mle.seed_id}"
with log.open("a") as out:
    out.write("start\\n")
# Fault injection: the first run of seed 1 kills its whole array task (SIGKILL to the
# task's process group: the task script, this job's wrapper, this job), as a preemption
# or a lost node would. The marker is claimed by an atomic rename, so only once.
marker = Path(cfg["counts"]) / "kill_task_at_seed_1"
if mle.seed_id == 1:
    try:
        marker.rename(marker.with_name("kill_task_at_seed_1.used"))
    except FileNotFoundError:
        pass
    else:
        os.killpg(os.getpgrp(), signal.SIGKILL)
# Held: seed 0 waits (at most 120 s) until the test writes counts/release.
if cfg.get("hold") and mle.seed_id == 0:
    import time

    deadline = time.monotonic() + 120
    while not (Path(cfg["counts"]) / "release").exists():
        if time.monotonic() > deadline:
            sys.exit(1)
        time.sleep(0.1)
if mle.seed_id in cfg.get("fail_seeds", []):
    print("boom: seed", mle.seed_id, "was told to fail", file=sys.stderr)
    sys.exit(3)
mle.log.update({"step": 0}, {"loss": 1.0 + mle.seed_id}, save=True)
with log.open("a") as out:
    out.write("done\\n")
'''


def packed_project(root: Path, *, seeds: int, per_task: int, fail: list[int] | None = None,
                   kill: bool = False, hold: bool = False) -> Path:
    """train.py, one config and a meta.yaml of ``seeds`` jobs packed ``per_task`` a task."""
    counts = root / "counts"
    counts.mkdir(parents=True)
    if kill:
        (counts / "kill_task_at_seed_1").write_text("")
    write(root / "train.py", TRAIN)
    config = {"train_config": {"counts": str(counts), "fail_seeds": fail or [],
                               "hold": hold}}
    write(root / "configs" / "a.json", json.dumps(config))
    write(root / "meta.yaml", f"""\
        meta_job_args:
          project_name: packed
          experiment_type: multiple-configs
          base_train_fname: train.py
          experiment_dir: out
        multi_config_args:
          config_fnames: [configs/a.json]
          num_seeds: {seeds}
        single_job_args:
          jobs_per_task: {per_task}
        """)
    return root


def mle(root: Path, *args: str, env: dict[str, str] | None = None,
        timeout: float = 150) -> subprocess.CompletedProcess[str]:
    """``mle ARGS`` in ``root`` with ``env`` added."""
    return subprocess.run([sys.executable, "-m", "mle_toolbox", *args], cwd=root,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout, check=False)


def runs(root: Path, seeds: int) -> list[list[str]]:
    """The lines each job wrote into its counts file, seed by seed."""
    out = []
    for seed in range(seeds):
        path = root / "counts" / f"seed_{seed}"
        out.append(path.read_text().splitlines() if path.exists() else [])
    return out


def exit_codes(root: Path, seeds: int) -> list[str | None]:
    """Each job's exit_code file, seed by seed (None: none written)."""
    files = [root / "out" / "a" / "jobs" / f"seed_{s}" / "exit_code" for s in range(seeds)]
    return [p.read_text().strip() if p.exists() else None for p in files]


def native_ids(root: Path) -> list[str]:
    """The native ids of the job table, in job order (latest attempt of each job)."""
    db = sqlite3.connect(root / "out" / ".mle" / "jobs.sqlite")
    try:
        rows = db.execute("SELECT job_id, native_id FROM jobs AS j WHERE attempt = "
                          "(SELECT MAX(attempt) FROM jobs WHERE job_id = j.job_id) "
                          "ORDER BY seed").fetchall()
    finally:
        db.close()
    return [str(native) for _, native in rows]


def report(root: Path) -> dict:  # type: ignore[type-arg]
    """report.json of the last launch."""
    return json.loads((root / "out" / "report.json").read_text())  # type: ignore[no-any-return]


def check_failing_job(root: Path, *, backend: str, env: dict[str, str]) -> None:
    """A task of five jobs whose third fails: the others complete, each ran once."""
    packed_project(root, seeds=5, per_task=5, fail=[2])
    result = mle(root, "run", "meta.yaml", "--backend", backend, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "mle: failed: a-seed2: exit code 3" in result.stderr
    assert "    | boom: seed 2 was told to fail" in result.stderr
    assert report(root)["counts"] == {"completed": 4, "failed": 1}
    assert exit_codes(root, 5) == ["0", "0", "3", "0", "0"]
    assert runs(root, 5) == [["start", "done"], ["start", "done"], ["start"],
                             ["start", "done"], ["start", "done"]]
    ids = native_ids(root)
    task = ids[0].split("@")[0]
    assert ids == [f"{task}@{k}" for k in range(1, 6)]  # one array task ran all five
    jobs = report(root)["jobs"]
    assert [j["state"] for j in jobs] == ["completed", "completed", "failed", "completed",
                                         "completed"]


def check_killed_task_recovers(root: Path, *, backend: str, env: dict[str, str]) -> None:
    """Two tasks of three jobs; the first is killed while its second job runs. The
    launch records that job and the one after it lost; the next launch runs exactly
    those two again, so every job ran to its end exactly once."""
    packed_project(root, seeds=6, per_task=3, kill=True)
    first = mle(root, "run", "meta.yaml", "--backend", backend, env=env)
    assert first.returncode == 1, first.stdout + first.stderr
    assert not (root / "counts" / "kill_task_at_seed_1").exists()  # the fault was injected
    assert exit_codes(root, 6) == ["0", None, None, "0", "0", "0"]
    jobs = {j["job_id"]: j for j in report(root)["jobs"]}
    assert [jobs[f"a-seed{s}"]["state"] for s in range(6)] == [
        "completed", "failed", "failed", "completed", "completed", "completed"]
    assert jobs["a-seed1"]["reason"].startswith("lost: ")
    assert jobs["a-seed2"]["reason"].startswith("lost: ")
    assert runs(root, 6) == [["start", "done"], ["start"], [], ["start", "done"],
                             ["start", "done"], ["start", "done"]]
    again = mle(root, "run", "meta.yaml", "--backend", backend, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "4 completed" not in again.stdout  # only the two lost jobs ran
    assert report(root)["counts"] == {"completed": 2}
    assert exit_codes(root, 6) == ["0"] * 6
    assert runs(root, 6) == [["start", "done"], ["start", "start", "done"], ["start", "done"],
                             ["start", "done"], ["start", "done"], ["start", "done"]]


def check_waiting_siblings_are_pending(root: Path, *, backend: str, env: dict[str, str]) -> None:
    """While the first job of a task runs, the jobs after it are pending (not failed,
    not "left the queue"), in ``mle status``'s view; then all complete."""
    import time

    from mle_toolbox.commands.status import collect, planned_jobs
    from mle_toolbox.files.expdir import open_experiment

    packed_project(root, seeds=3, per_task=3, hold=True)
    result = mle(root, "run", "meta.yaml", "--backend", backend, "--detach", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    experiment = open_experiment(str(root / "out"))
    deadline = time.monotonic() + 90
    while True:
        states = [v.state for v in collect(experiment.layout, jobs=planned_jobs(experiment))]
        if states[0] == "running":
            break
        assert states == ["pending"] * 3, states  # the task waits in the queue
        assert time.monotonic() < deadline, "the packed task never started"
        time.sleep(0.5)
    assert states == ["running", "pending", "pending"]
    (root / "counts" / "release").write_text("")
    deadline = time.monotonic() + 90
    while exit_codes(root, 3) != ["0", "0", "0"]:
        assert time.monotonic() < deadline, exit_codes(root, 3)
        time.sleep(0.5)
    states = [v.state for v in collect(experiment.layout, jobs=planned_jobs(experiment))]
    assert states == ["completed"] * 3
    assert runs(root, 3) == [["start", "done"]] * 3


def check_dry_run(root: Path, *, backend: str) -> str:
    """7 jobs, 3 per task: the dry run names the packing and writes nothing; its output."""
    packed_project(root, seeds=7, per_task=3)
    result = mle(root, "run", "meta.yaml", "--backend", backend, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert ("packing     3 jobs per array task (single_job_args.jobs_per_task): 3 tasks run "
            "7 jobs one after another\n") in result.stdout
    assert "arrays      1 array job(s), 3 task(s) in all\n" in result.stdout
    assert not (root / "out").exists()
    return result.stdout
