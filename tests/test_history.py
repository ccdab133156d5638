"""Experiment history: rows written by real launches, concurrent writers, mle ls / show."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mle_toolbox.files.layout import history_db
from mle_toolbox.launcher import git_head, history
from mle_toolbox.launcher.wal import use_wal
from tests.conftest import TRAIN_PY, run_mle, write

pytestmark = pytest.mark.timeout(120)

SLOW_TRAIN = "import time\ntime.sleep(0.3)\n" + TRAIN_PY


def _meta(project: Path, name: str, *, configs: str, seeds: int = 2) -> Path:
    return write(project / f"{name}.yaml", f"""\
        meta_job_args:
          project_name: {name}
          experiment_type: multiple-configs
          base_train_fname: train.py
          experiment_dir: runs/{name}
        multi_config_args:
          config_fnames: [{configs}]
          num_seeds: {seeds}
        """)


def _launch(project: Path, meta: str, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "MLE_HISTORY_DB"}
    return subprocess.Popen([sys.executable, "-m", "mle_toolbox", "run", meta, *extra],
                            cwd=project, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project folder: alpha and beta launched at the same time, then a failing gamma."""
    project = tmp_path_factory.mktemp("hist")
    write(project / "train.py", SLOW_TRAIN)
    write(project / "configs" / "a.json", '{"train_config": {"lrate": 0.1}}\n')
    write(project / "configs" / "bad.json", '{"train_config": {"lrate": 0.2, "fail_seeds": [1]}}')
    _meta(project, "alpha", configs="configs/a.json")
    _meta(project, "beta", configs="configs/a.json, configs/bad.json")
    _meta(project, "gamma", configs="configs/bad.json", seeds=3)
    first = _launch(project, "alpha.yaml", "--purpose", "baseline run")
    second = _launch(project, "beta.yaml")
    codes = [proc.wait(timeout=60) for proc in (first, second)]
    assert codes == [0, 1], [proc.communicate() for proc in (first, second)]
    assert _launch(project, "gamma.yaml").wait(timeout=60) == 1
    return project


def _ls_json(project: Path, *args: str) -> list[dict[str, Any]]:
    result = run_mle("ls", "--json", *args, cwd=project)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_two_concurrent_launches_both_recorded_with_counts(launched: Path) -> None:
    assert history_db(launched) == launched / ".mle" / "history.sqlite"
    assert history_db(launched).is_file()
    entries = {e["name"]: e for e in _ls_json(launched)}
    assert sorted(entries) == ["alpha", "beta", "gamma"]
    assert sorted(e["id"] for e in entries.values()) == [1, 2, 3]
    alpha, beta, gamma = entries["alpha"], entries["beta"], entries["gamma"]
    assert alpha["state"] == "completed" and alpha["purpose"] == "baseline run"
    assert (alpha["jobs_total"], alpha["jobs_completed"], alpha["jobs_failed"]) == (2, 2, 0)
    assert beta["state"] == "failed" and beta["purpose"] is None
    assert (beta["jobs_total"], beta["jobs_completed"], beta["jobs_failed"]) == (4, 3, 1)
    assert (gamma["jobs_total"], gamma["jobs_completed"], gamma["jobs_failed"]) == (3, 2, 1)
    assert gamma["id"] == 3  # launched after the other two finished
    # the two launches overlapped in time
    assert alpha["started"] < beta["ended"] and beta["started"] < alpha["ended"]
    for entry in entries.values():
        assert entry["exp_dir"] == str(launched / "runs" / entry["name"])
        meta = launched / f"{entry['name']}.yaml"
        assert entry["meta_path"] == str(meta)
        assert entry["meta_hash"] == history.file_hash(meta)
        assert entry["backend"] == "local" and entry["git_commit"] is None
        assert entry["started"] <= entry["ended"]


def test_ls_text_table_and_filters(launched: Path) -> None:
    result = run_mle("ls", cwd=launched / "runs")  # found in a parent folder
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "STATE", "NAME", "JOBS", "STARTED", "TOOK", "PURPOSE",
                                "EXPERIMENT", "DIR"]
    rows = [line.split() for line in lines[1:]]
    assert [r[0] for r in rows] == ["1", "2", "3"]  # oldest first
    assert sorted(r[1:4] for r in rows) == [["completed", "alpha", "2/2"],
                                            ["failed", "beta", "3/4"],
                                            ["failed", "gamma", "2/3"]]
    alpha = next(line for line in lines if " alpha " in line)
    assert "baseline run" in alpha and alpha.endswith(str(launched / "runs" / "alpha"))
    assert "(1 bad)" in next(line for line in lines if " beta " in line)
    assert [e["name"] for e in _ls_json(launched, "--state", "failed")] in (
        ["beta", "gamma"], ["gamma", "beta"])
    assert [e["name"] for e in _ls_json(launched, "--name", "alpha")] == ["alpha"]
    assert _ls_json(launched, "--name", "nobody") == []
    bad = run_mle("ls", "--state", "weird", cwd=launched)
    assert bad.returncode == 2 and "invalid choice: 'weird'" in bad.stderr


def test_show_by_id_and_by_experiment_dir(launched: Path, tmp_path: Path) -> None:
    by_dir = run_mle("show", launched / "runs" / "gamma", cwd=tmp_path)  # db found via plan
    assert by_dir.returncode == 0, by_dir.stderr
    fields = dict(line.split(None, 1) if not line.startswith("git commit") else
                  ("git commit", line[12:]) for line in by_dir.stdout.splitlines())
    assert fields["name"] == "gamma" and fields["state"] == "failed"
    assert fields["jobs"] == ("3 launched: 2 completed, 1 failed, 0 cancelled; "
                              "0 skipped (completed earlier)")
    assert fields["report"] == str(launched / "runs" / "gamma" / "report.md")
    gamma_id = fields["id"]
    by_id = run_mle("show", gamma_id, "--json", cwd=launched)
    assert json.loads(by_id.stdout)["exp_dir"] == str(launched / "runs" / "gamma")
    missing = run_mle("show", "99", cwd=launched)
    assert missing.returncode == 2
    assert f"no recorded experiment '99' in {history_db(launched)}" in missing.stderr


def test_rerun_is_a_new_entry_with_skipped_jobs(project: Path) -> None:
    assert run_mle("run", "meta.yaml", cwd=project).returncode == 0
    assert run_mle("run", "meta.yaml", "--purpose", "again", cwd=project).returncode == 0
    entries = _ls_json(project)
    assert [(e["id"], e["jobs_total"], e["jobs_skipped"], e["purpose"]) for e in entries] == [
        (1, 4, 0, None), (2, 0, 4, "again")]
    text = run_mle("ls", cwd=project).stdout
    assert "4/4" in text.splitlines()[2]


def test_environment_variable_moves_the_database(project: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "elsewhere" / "h.sqlite"
    monkeypatch.setenv("MLE_HISTORY_DB", str(target))
    assert run_mle("run", "meta.yaml", cwd=project).returncode == 0
    assert target.is_file() and not history_db(project).exists()
    assert [e["name"] for e in _ls_json(tmp_path)] == ["demo"]


def test_unwritable_history_warns_and_the_sweep_still_succeeds(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "a_file").write_text("")
    monkeypatch.setenv("MLE_HISTORY_DB", str(tmp_path / "a_file" / "h.sqlite"))
    result = run_mle("run", "meta.yaml", cwd=project)
    assert result.returncode == 0, result.stderr
    assert f"mle: warning: experiment history {tmp_path / 'a_file' / 'h.sqlite'} not " \
           "updated:" in result.stderr
    assert "mle: 4 jobs: 4 completed" in result.stdout


def test_git_commit_of_the_train_scripts_repository(project: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(project), *args], check=True, text=True,
                              capture_output=True).stdout.strip()

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x")
    assert history.git_commit(project) == git("rev-parse", "HEAD")
    assert history.git_commit(project / "configs") == git("rev-parse", "HEAD")
    assert history.git_commit(project / "no_such_folder") is None


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), "-c", "user.name=t", "-c",
                           "user.email=t@t", *args], check=True, text=True,
                          capture_output=True).stdout.strip()


def test_git_commit_of_a_plain_checkout_is_read_without_starting_git(
    project: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _git(project, "init", "-q")
    assert history.git_commit(project) is None  # unborn branch: git's answer, via git
    _git(project, "commit", "-q", "--allow-empty", "-m", "x")
    head = _git(project, "rev-parse", "HEAD")

    def no_git(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"git was started: {args}")

    # history imports run_command where git is asked, from backends.commands
    monkeypatch.setattr("mle_toolbox.backends.commands.run_command", no_git)
    assert history.git_commit(project) == head
    assert history.git_commit(project / "configs") == head
    _git(project, "checkout", "-q", "--detach")
    assert history.git_commit(project / "configs") == head  # detached HEAD
    assert git_head.head_commit(project.parent) is None  # tmp folders are in no repository


def test_git_commit_asks_git_where_the_files_do_not_settle_it(
    project: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _git(project, "init", "-q", "-b", "main")
    _git(project, "commit", "-q", "--allow-empty", "-m", "x")
    first = _git(project, "rev-parse", "HEAD")
    _git(project, "pack-refs", "--all")  # the branch's loose ref file is gone
    assert git_head.head_commit(project) == git_head.ASK_GIT
    assert history.git_commit(project) == first
    linked = tmp_path_factory.mktemp("linked") / "wt"
    _git(project, "worktree", "add", "-q", "-b", "other", str(linked))
    _git(linked, "commit", "-q", "--allow-empty", "-m", "y")
    assert git_head.head_commit(linked) == git_head.ASK_GIT  # .git is a file there
    assert history.git_commit(linked) == _git(linked, "rev-parse", "HEAD") != first
    monkeypatch.setenv("GIT_DIR", str(project / ".git"))
    assert git_head.head_commit(linked) == git_head.ASK_GIT
    assert history.git_commit(linked) == first  # GIT_DIR wins, as for git itself


def test_many_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    script = (
        "import sys; from pathlib import Path; from mle_toolbox.launcher import history\n"
        "for i in range(25):\n"
        "    with history.connect(Path(sys.argv[1])) as c:\n"
        "        n = history.insert(c, name=sys.argv[2], meta_path='m', meta_hash='h', "
        "exp_dir=str(i), backend='local', state='running', jobs_total=i, started=0.0, "
        "host='h', pid=0)\n"
        "        history.update(c, n, state='completed', jobs_completed=i, ended=1.0)\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(db), f"w{k}"])
             for k in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    with history.connect(db) as conn:
        entries = history.select(conn)
    assert len(entries) == 100 and len({e.id for e in entries}) == 100
    for writer in range(4):
        mine = [e for e in entries if e.name == f"w{writer}"]
        assert [e.jobs_completed for e in mine] == list(range(25))
        assert all(e.state == "completed" for e in mine)


def test_an_unreadable_database_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / ".mle").mkdir()
    history_db(tmp_path).write_bytes(b"this is not a database" * 100)
    result = run_mle("ls", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"mle: error: cannot read the experiment history {history_db(tmp_path)}: ")
    assert "Traceback" not in result.stderr


def test_an_interrupted_launch_is_recorded_as_interrupted(project: Path) -> None:
    write(project / "train.py", "import time\nfrom mle_toolbox import MLExperiment\n"
          "mle = MLExperiment()\nprint('started', flush=True)\ntime.sleep(60)\n")
    proc = _launch(project, "meta.yaml")
    deadline = time.monotonic() + 30
    while len(list((project / "out").rglob("stdout.log"))) < 2 or not all(
            p.read_text() for p in (project / "out").rglob("stdout.log")):
        assert time.monotonic() < deadline, "jobs did not start"
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    [entry] = _ls_json(project)
    assert entry["state"] == "interrupted" and entry["ended"] is not None
    assert entry["jobs_cancelled"] == 4 and entry["jobs_completed"] == 0
    assert not (project / "out" / "report.md").exists()  # no report for a stopped sweep


def test_ls_table_keeps_one_line_per_launch() -> None:
    from mle_toolbox.commands.history_view import format_table

    entry = history.Entry(
        id=7, name="demo", purpose="two\nlines  here", meta_path="/p/m.yaml", meta_hash="h",
        exp_dir="/p/runs/demo", backend="sge", state="failed", jobs_total=10,
        jobs_completed=6, jobs_failed=1, jobs_cancelled=1, jobs_skipped=2, started=0.0,
        ended=3725.0, git_commit=None, host="h", pid=1)
    header, row = format_table([entry]).splitlines()
    assert header.startswith("ID  STATE ")
    cells = row.split("  ")
    assert [c.strip() for c in cells if c.strip()][:4] == ["7", "failed", "demo", "8/12 (2 bad)"]
    assert row.endswith("  1:02:05  two lines here  /p/runs/demo")


def test_a_launch_killed_with_sigkill_shows_as_died_not_running_forever(project: Path) -> None:
    """Figure: after kill -9 of the launcher, `mle ls` says died (and writes it back)."""
    write(project / "train.py", "import time\nfrom mle_toolbox import MLExperiment\n"
          "mle = MLExperiment()\ntime.sleep(60)\n")
    proc = _launch(project, "meta.yaml")
    deadline = time.monotonic() + 30
    while len(list((project / "out").rglob("status.json"))) < 1:
        assert time.monotonic() < deadline, "jobs did not start"
        time.sleep(0.1)
    [entry] = _ls_json(project)
    assert entry["state"] == "running"  # a live launcher stays running
    proc.kill()
    proc.wait(timeout=30)
    [entry] = _ls_json(project, "--state", "died")
    assert entry["pid"] == proc.pid
    assert _ls_json(project, "--state", "running") == []
    with history.connect(history_db(project), write=False) as conn:
        assert [e.state for e in history.select(conn)] == ["died"]  # written back


class _LockedAtFirst:
    """A connection whose first ``locked`` journal switches fail as SQLite fails them when
    two launchers switch a new history to WAL at the same moment (no busy wait)."""

    def __init__(self, real: Any, *, locked: int, error: str = "database is locked") -> None:
        self.real, self.locked, self.error, self.tries = real, locked, error, 0

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "PRAGMA journal_mode=WAL":
            self.tries += 1
            if self.tries <= self.locked:
                import sqlite3

                raise sqlite3.OperationalError(self.error)
        return self.real.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:  # the rest of the connection, unchanged
        return getattr(self.real, name)


def test_a_journal_switch_locked_by_a_concurrent_launcher_is_retried_with_back_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two launches of one project reaching its new history together lost one row ("not
    # updated: database is locked"): the switch is retried, bounded, with back-off.
    import sqlite3

    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    real = sqlite3.connect(tmp_path / "h.sqlite", isolation_level=None)
    conn = _LockedAtFirst(real, locked=3)
    use_wal(conn, timeout_s=30)  # type: ignore[arg-type]
    assert conn.tries == 4 and slept == [0.005, 0.01, 0.02]
    assert real.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    history._prepare(_LockedAtFirst(real, locked=1))  # type: ignore[arg-type]
    assert real.execute("PRAGMA user_version").fetchone()[0] == history.SCHEMA_VERSION
    always = _LockedAtFirst(real, locked=10**6)
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        use_wal(always, timeout_s=0.0)  # type: ignore[arg-type]
    assert always.tries == 1  # past the deadline: raised, not retried
    other = _LockedAtFirst(real, locked=1, error="disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        use_wal(other, timeout_s=30)  # type: ignore[arg-type]
    assert other.tries == 1  # anything but a lock: raised at once, as before


def test_a_new_job_table_whose_journal_switch_meets_a_lock_waits_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The job table had the same race as the history: a second process creating the table
    # at the same moment got "database is locked" from the WAL switch at once, and the
    # launch stopped calling the table unusable. Now it retries, bounded, with back-off.
    import sqlite3

    from mle_toolbox.launcher.jobtable import JobTable

    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    opened: list[_LockedAtFirst] = []
    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> Any:
        opened.append(_LockedAtFirst(real_connect(*args, **kwargs), locked=2))
        return opened[-1]

    monkeypatch.setattr(sqlite3, "connect", connect)
    path = tmp_path / ".mle" / "jobs.sqlite"
    table = JobTable.open(path)
    assert opened[0].tries == 3 and slept == [0.005, 0.01]
    assert opened[0].real.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert table.records("nothing") == []  # the schema is there
    table.close()


_ROW = {"name": "exp", "meta_path": "m.yaml", "meta_hash": "h", "exp_dir": "out",
        "backend": "local", "jobs_total": 2}


def test_a_launch_s_row_is_inserted_and_updated_through_one_connection(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 18: one open per launch, kept for the row's updates and closed when the launch
    # ends (a second open and the checkpoint of closing the first cost ~1.5 ms).
    opened: list[Any] = []
    real_open = history._open
    monkeypatch.setattr(history, "_open", lambda path, *, write: opened.append(
        real_open(path, write=write)) or opened[-1])
    path = tmp_path / "history.sqlite"
    with history.recording(path=path, fields=_ROW) as entry:
        entry._set(state="completed", jobs_completed=2)
        assert entry._connection is opened[0]
    assert len(opened) == 1 and entry._connection is None
    with pytest.raises(Exception, match="closed database"):
        opened[0].execute("SELECT 1")
    with history.connect(path, write=False) as conn:
        rows = conn.execute("SELECT state, jobs_completed, ended FROM experiments").fetchall()
    assert [(r[0], r[1], r[2] is not None) for r in rows] == [("completed", 2, True)]
    assert not (tmp_path / "history.sqlite-wal").exists()  # checkpointed at the close


@pytest.mark.parametrize(("raised", "state"), [(KeyboardInterrupt, "interrupted"),
                                               (RuntimeError, "error")])
def test_a_launch_that_raises_is_recorded_through_its_connection_and_closes_it(
        tmp_path: Path, raised: type[BaseException], state: str) -> None:
    path = tmp_path / "history.sqlite"
    with pytest.raises(raised), history.recording(path=path, fields=_ROW) as entry:
        raise raised()
    assert entry._connection is None
    with history.connect(path, write=False) as conn:
        assert conn.execute("SELECT state FROM experiments").fetchall()[0][0] == state
