"""``mle monitor``: counts from the job table, one scheduler call per refresh, read-only,
damaged and vanished experiments, and the live dashboard in a real terminal (tmux)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mle_toolbox.commands.monitor_data import Request, snapshot
from mle_toolbox.commands.monitor_view import sparkline, to_text
from mle_toolbox.files.layout import ExperimentLayout
from mle_toolbox.launcher import history
from mle_toolbox.launcher.jobtable import JobTable
from tests.conftest import REPO, need_tools, run_mle, write

pytestmark = pytest.mark.timeout(120)
SPARK_RUN = re.compile("[▁▂▃▄▅▆▇█]{3,}")

# qstat -xml -u '*' of a cluster where our array 101 has task 1 running and tasks 2-3
# waiting, and alice has one running 4-slot job and two waiting ones.
QSTAT_XML = """<?xml version='1.0'?>
<job_info>
  <queue_info>
    <job_list state="running"><JB_job_number>101</JB_job_number><JB_name>mon_a</JB_name>
      <JB_owner>bob</JB_owner><state>r</state><slots>1</slots><tasks>1</tasks></job_list>
    <job_list state="running"><JB_job_number>7</JB_job_number><JB_name>big</JB_name>
      <JB_owner>alice</JB_owner><state>r</state><slots>4</slots></job_list>
  </queue_info>
  <job_info>
    <job_list state="pending"><JB_job_number>101</JB_job_number><JB_name>mon_a</JB_name>
      <JB_owner>bob</JB_owner><state>qw</state><slots>1</slots><tasks>2-3:1</tasks></job_list>
    <job_list state="pending"><JB_job_number>8</JB_job_number><JB_name>x</JB_name>
      <JB_owner>alice</JB_owner><state>qw</state><slots>1</slots><tasks>1-2:1</tasks></job_list>
  </job_info>
</job_info>
"""


def _fake_scheduler(folder: Path, *, name: str, output: str) -> Path:
    """A ``name`` on PATH that prints ``output`` and appends its argv to calls.log."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.out").write_text(output, encoding="utf-8")
    script = folder / name
    script.write_text(f"#!/bin/sh\necho \"$0 $*\" >> {folder}/calls.log\n"
                      f"cat {folder}/{name}.out\n", encoding="utf-8")
    script.chmod(0o755)
    return folder / "calls.log"


def _experiment(root: Path, *, jobs: list[tuple[str, str, int, str, str | None]],
                planned: int, database: Path, state: str = "detached",
                backend: str = "sge", name: str = "mon_a", host: str = "h",
                pid: int = 1) -> ExperimentLayout:
    """An experiment dir with plan.json, a job table with ``jobs`` (job_id, run_id, seed,
    state, native_id) and its history row."""
    layout = ExperimentLayout(root)
    write(layout.plan, json.dumps({"meta_path": str(root.parent / "meta.yaml"),
                                   "project_name": name, "runs": [], "jobs": []}))
    JobTable.open(layout.job_table).close()
    with sqlite3.connect(layout.job_table) as db:
        db.executemany(
            "INSERT INTO jobs (job_id, attempt, run_id, seed, config_hash, backend, "
            "native_id, state, submitted, ended) VALUES (?, 1, ?, ?, 'h', ?, ?, ?, ?, ?)",
            [(j, r, s, backend, n, st, 1.0, None if st in ("pending", "running") else 2.0)
             for j, r, s, st, n in jobs])
    with history.connect(database) as conn:
        history.insert(conn, name=name, purpose="watching", meta_path="m.yaml",
                       meta_hash="0", exp_dir=str(root.resolve()), backend=backend,
                       state=state, jobs_total=planned, started=time.time() - 65,
                       host=host, pid=pid)
    return layout


def _job_files(layout: ExperimentLayout, run_id: str, seed: int, *, code: int | None,
               stderr: str = "", losses: tuple[float, ...] = ()) -> None:
    job = layout.job(run_id, seed)
    job.job_dir.mkdir(parents=True, exist_ok=True)
    if code is not None:
        job.exit_code.write_text(f"{code}\n")
    job.stderr.write_text(stderr)
    if losses:
        write(job.metrics_log, "".join(json.dumps({"time": {"step": i}, "stats": {"loss": v}})
                                       + "\n" for i, v in enumerate(losses)))


def _tree(*folders: Path) -> dict[str, tuple[int, int]]:
    """Size and mtime of every file, but SQLite's -shm: its shared-memory lock area,
    which every reader (even a read-only one) updates; the data never changes."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns)
            for folder in folders for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith("-shm")}


def test_usage_parsers_read_owner_slots_and_cpus() -> None:
    from mle_toolbox.backends.sge_parse import parse_qstat_xml
    from mle_toolbox.backends.slurm_parse import parse_squeue_usage

    jobs = parse_qstat_xml(QSTAT_XML)
    assert [(j.owner, j.slots, j.running, j.task_count()) for j in jobs] == [
        ("bob", 1, True, 1), ("alice", 4, True, 1), ("bob", 1, False, 2),
        ("alice", 1, False, 2)]
    lines = parse_squeue_usage("12_[3-5%2]|PENDING|carol|2|a|b\n13|RUNNING|dan|8|x\n"
                               "14|COMPLETED|dan|1|y\n")
    assert [(u.native_id, u.user, u.cpus, u.name) for u in lines] == [
        ("12_3", "carol", 2, "a|b"), ("12_4", "carol", 2, "a|b"), ("12_5", "carol", 2, "a|b"),
        ("13", "dan", 8, "x"), ("14", "dan", 1, "y")]
    assert [u.job_state.value if u.job_state else None for u in lines] == [
        "pending", "pending", "pending", "running", None]


def test_sparkline_scales_and_buckets() -> None:
    assert sparkline([3.0, 2.0, 1.0, 0.0]) == "█▆▃▁"
    assert sparkline([5.0, 5.0]) == "▅▅"
    assert sparkline([]) == ""
    long = sparkline([float(i) for i in range(100)], width=10)
    assert len(long) == 10 and long[0] == "▁" and long[-1] == "█"


def test_once_counts_sge_jobs_from_one_qstat_and_shows_users(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "history.sqlite"
    layout = _experiment(tmp_path / "exp", database=database, planned=6, jobs=[
        ("a-seed0", "a", 0, "pending", "101.1"), ("a-seed1", "a", 1, "pending", "101.2"),
        ("b-seed0", "b", 0, "pending", "101.3"), ("b-seed1", "b", 1, "pending", "101.4"),
        ("c-seed0", "c", 0, "completed", "100.1")])
    # 101.4 left the queue and wrote exit code 2: failed, found from its file
    _job_files(layout, "b", 1, code=2, stderr="Traceback\nValueError: lr too high\n")
    _job_files(layout, "a", 0, code=None, losses=(4.0, 3.0, 2.0, 1.0))
    calls = _fake_scheduler(tmp_path / "bin", name="qstat", output=QSTAT_XML)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("MLE_HISTORY_DB", str(database))
    before = _tree(tmp_path / "exp")

    done = run_mle("monitor", "--once", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    out = done.stdout
    # one refresh: exactly one scheduler call, asking for everyone's jobs
    assert calls.read_text().splitlines() == [f"{tmp_path / 'bin' / 'qstat'} -xml -u *"]
    # 6 planned, 5 recorded: 1 never submitted + 101.2 / 101.3 waiting = 3 queued
    assert "jobs: 3 queued, 1 running, 1 completed, 1 failed" in out
    row = next(line for line in out.splitlines() if "mon_a" in line and "watching" in line)
    # ID NAME PURPOSE BACKEND STATE QUEUED RUN DONE FAILED ELAPSED ETA BEST
    assert row[1:].split()[:9] == ["1", "mon_a", "watching", "sge", "detached", "3", "1", "1",
                                   "1"]
    assert "b-seed1: exit code 2" in out and "    | ValueError: lr too high" in out
    assert "a-seed0" in out and "█▆▃▁" in out
    assert "Grid Engine: 5 slots in use; 2 running, 4 queued" in out
    users = [line.split() for line in out.splitlines() if line.startswith("  alice")
             or line.startswith("  bob")]
    assert users == [["alice", "1", "2"], ["bob", "1", "2"]]
    assert _tree(tmp_path / "exp") == before  # read-only: nothing written
    assert not layout.lock.exists()


def test_each_refresh_calls_each_scheduler_once(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "history.sqlite"
    jobs = [(f"r{i}-seed0", f"r{i}", 0, "pending", f"55_{i}") for i in range(50)]
    _experiment(tmp_path / "slurm_exp", database=database, planned=50, jobs=jobs,
                backend="slurm", name="sl")
    _experiment(tmp_path / "sge_exp", database=database, planned=1, name="sg",
                jobs=[("x-seed0", "x", 0, "pending", "9")])
    squeue_calls = _fake_scheduler(tmp_path / "bin", name="squeue", output="".join(
        f"55_{i}|{'RUNNING' if i < 2 else 'PENDING'}|bob|1|sl\n" for i in range(50)))
    qstat_calls = _fake_scheduler(tmp_path / "bin", name="qstat", output=QSTAT_XML)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert squeue_calls == qstat_calls  # both fakes append to the same log
    for refresh in range(1, 4):
        snap = snapshot(Request(database=database, select=1))
        calls = [line.split()[0] for line in squeue_calls.read_text().splitlines()]
        # one squeue and one qstat per refresh, never one per job
        assert sorted(calls) == sorted([str(tmp_path / "bin" / "qstat"),
                                        str(tmp_path / "bin" / "squeue")] * refresh)
    slurm = next(v for v in snap.experiments if v.entry.name == "sl")
    assert (slurm.counts.running, slurm.counts.queued) == (2, 48)
    assert "Slurm: 2 CPUs in use; 2 running, 48 queued" in to_text(snap)


def test_damaged_and_vanished_experiments_show_as_such(tmp_path: Path) -> None:
    database = tmp_path / "history.sqlite"
    good = _experiment(tmp_path / "good", database=database, planned=1, backend="local",
                       state="completed", jobs=[("a-seed0", "a", 0, "completed", "1")])
    gone = _experiment(tmp_path / "gone", database=database, planned=2, backend="local",
                       state="completed", jobs=[])
    bad = _experiment(tmp_path / "bad", database=database, planned=2, backend="local",
                      state="running", jobs=[])
    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid names no process now: the launcher that was killed with SIGKILL
    _experiment(tmp_path / "crashed", database=database, planned=1, backend="local",
                state="running", jobs=[("a-seed0", "a", 0, "pending", "1")],
                host=socket.gethostname(), pid=dead.pid)
    shutil.rmtree(gone.root)
    bad.job_table.write_bytes(b"this is not a database" * 100)
    done = subprocess.run(
        [sys.executable, "-m", "mle_toolbox", "monitor", "--once"], cwd=tmp_path,
        env={**os.environ, "MLE_HISTORY_DB": str(database)}, capture_output=True, text=True,
        timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    rows = {line[1:].split()[0]: line[1:].split() for line in done.stdout.splitlines()
            if re.match(r"^[ >] +\d+ ", line)}
    assert rows["1"][4] == "completed" and rows["1"][5:9] == ["0", "0", "1", "0"]
    assert rows["2"][4] == "vanished"
    assert rows["3"][4:7] == ["damaged", "job", "table"]
    assert rows["4"][4:6] == ["launcher", "gone"]  # recorded running, its launcher died
    assert good.root.is_dir() and not gone.root.exists()
    detail = subprocess.run(
        [sys.executable, "-m", "mle_toolbox", "monitor", "--once", str(bad.root)],
        cwd=tmp_path, env={**os.environ, "MLE_HISTORY_DB": str(database)},
        capture_output=True, text=True, timeout=60, check=False)
    # EXP_DIR selects the damaged one, whose detail says why it has none
    assert detail.returncode == 0, detail.stderr
    assert "problem: damaged job table (file is not a database)" in detail.stdout


def test_monitor_flags_are_checked(tmp_path: Path) -> None:
    missing = run_mle("monitor", str(tmp_path / "nope"), "--once", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr == f"mle: error: EXP_DIR: {tmp_path / 'nope'}: no such experiment " \
                             "directory\n"
    bad = run_mle("monitor", "--interval", "0", cwd=tmp_path)
    assert bad.returncode == 2 and "must be 0.1 .. 3600, got 0" in bad.stderr
    empty = run_mle("monitor", "--once", cwd=tmp_path)
    assert empty.returncode == 0
    assert "no experiments in no history database found" in empty.stdout


# ------------------------------------------------------------------ real terminal
SLOW_TRAIN = '''\
import sys
import time
from mle_toolbox import MLExperiment

mle = MLExperiment()
cfg = mle.train_config
for step in range(6):
    time.sleep(0.4)
    mle.log.update({"step": step}, {"loss": cfg.lrate * (6 - step) + 0.01 * mle.seed_id},
                   save=True)
    if cfg.lrate == 0.3 and mle.seed_id == 1 and step == 2:
        print("diverged: loss is nan at step 2", file=sys.stderr)
        sys.exit(4)
'''

SLOW_META = """\
meta_job_args:
  project_name: tmux_watch
  experiment_type: hyperparameter-search
  base_train_fname: train.py
  base_train_config: base.json
  experiment_dir: runs/watch
param_search_args:
  search_logging:
    eval_metrics: [loss]
    max_objective: false
  search_resources:
    num_seeds_per_eval: 2
  search_config:
    search_type: grid
    search_params:
      categorical:
        lrate: [0.1, 0.2, 0.3]
"""


class Tmux:
    """A private tmux server (its own socket) with one 160x50 window."""

    def __init__(self, socket: Path) -> None:
        self.base = ["tmux", "-S", str(socket), "-f", "/dev/null"]

    def __call__(self, *args: str) -> str:
        done = subprocess.run([*self.base, *args], capture_output=True, text=True,
                              timeout=20, check=True)
        return done.stdout

    def pane(self) -> str:
        return self("capture-pane", "-p", "-t", "mon")

    def wait_for(self, pattern: str, *, within: float = 60) -> str:
        deadline = time.monotonic() + within
        while True:
            text = self.pane()
            if re.search(pattern, text):
                return text
            assert time.monotonic() < deadline, f"no {pattern!r} on the screen:\n{text}"
            time.sleep(0.3)


@need_tools("tmux")
def test_live_dashboard_in_a_real_terminal(tmp_path: Path) -> None:
    write(tmp_path / "train.py", SLOW_TRAIN)
    write(tmp_path / "base.json", '{"train_config": {"lrate": 0.1}}\n')
    write(tmp_path / "meta.yaml", SLOW_META)
    env = {**os.environ, "PYTHONPATH": str(REPO), "LANG": "C.UTF-8", "TERM": "xterm-256color"}
    env.pop("MLE_HISTORY_DB", None)
    tmux = Tmux(tmp_path / "tmux.sock")
    tmux("new-session", "-d", "-s", "mon", "-x", "160", "-y", "50", "-c", str(tmp_path),
         f"env PS1='$ ' PYTHONPATH={REPO} LANG=C.UTF-8 bash --norc --noprofile")
    try:
        sweep = subprocess.Popen([sys.executable, "-m", "mle_toolbox", "run", "meta.yaml",
                                  "--max-running", "2"], cwd=tmp_path, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while not (tmp_path / ".mle" / "history.sqlite").exists():
            assert sweep.poll() is None, sweep.communicate()
            time.sleep(0.1)
        tmux("send-keys", "-t", "mon", f"{sys.executable} -m mle_toolbox monitor "
             "--interval 0.3; echo EXIT=$?; stty -a | grep -o -- '-\\?icanon'", "Enter")
        tmux.wait_for(r"[1-2] running")  # seen while the sweep runs
        _, err = sweep.communicate(timeout=90)
        assert sweep.returncode == 1, err  # one job failed
        screen = tmux.wait_for(r"jobs: 0 queued, 0 running, 5 completed, 1 failed")
        assert "tmux_watch" in screen and "Failed jobs (1)" in screen
        assert "b_1_eval_2-seed1: exit code 4" in screen
        assert "| diverged: loss is nan at step 2" in screen
        assert SPARK_RUN.search(screen), screen
        assert tmux("display", "-p", "-t", "mon", "#{alternate_on}").strip() == "1"
        tmux("send-keys", "-t", "mon", "q")
        # The stty line follows the exit code by a few ms: wait for both, not for a screen
        # caught between the two.
        after = tmux.wait_for(r"EXIT=\d+\n-?icanon")
        assert "EXIT=0" in after
        assert re.search(r"^icanon$", after, re.MULTILINE), after  # line mode is back
        assert "-icanon" not in after
        assert tmux("display", "-p", "-t", "mon", "#{alternate_on}").strip() == "0"
        assert "Experiments" not in after  # the dashboard left with the alternate screen
        # Ctrl+C leaves the same way: exit 0, terminal restored
        tmux("send-keys", "-t", "mon", "clear; " + f"{sys.executable} -m mle_toolbox monitor "
             "--interval 0.3; echo CODE=$?; stty -a | grep -o -- '-\\?icanon'", "Enter")
        tmux.wait_for(r"Failed jobs \(1\)")
        tmux("send-keys", "-t", "mon", "C-c")
        again = tmux.wait_for(r"CODE=\d+\n-?icanon")
        assert "CODE=0" in again and re.search(r"^icanon$", again, re.MULTILINE), again
        assert "Traceback" not in again
        # without rich: the same text redrawn in place, q leaves the same way
        write(tmp_path / "norich" / "rich" / "__init__.py", "raise ImportError('no rich')\n")
        tmux("send-keys", "-t", "mon", f"clear; PYTHONPATH={tmp_path / 'norich'}:{REPO} "
             f"{sys.executable} -m mle_toolbox monitor --interval 0.3; echo PLAIN=$?", "Enter")
        plain = tmux.wait_for(r"== Failed jobs \(1\) ==")
        assert "jobs: 0 queued, 0 running, 5 completed, 1 failed" in plain
        assert SPARK_RUN.search(plain) and "╭" not in plain  # no rich panels
        assert tmux("display", "-p", "-t", "mon", "#{alternate_on}").strip() == "1"
        tmux("send-keys", "-t", "mon", "q")
        assert "PLAIN=0" in tmux.wait_for(r"PLAIN=\d+")
        assert tmux("display", "-p", "-t", "mon", "#{alternate_on}").strip() == "0"
    finally:
        subprocess.run([*tmux.base, "kill-server"], capture_output=True, timeout=20,
                       check=False)
