"""Bad input to the commands and knobs added with issues 4-8: one exact message, exit 2,
nothing written and nothing started (the sibling of test_validation.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mle_toolbox.backends.sge_script import SgeOptions
from mle_toolbox.backends.slurm_script import SlurmOptions
from mle_toolbox.commands.init import init_project
from mle_toolbox.errors import ConfigError, MleError
from mle_toolbox.launcher import history
from mle_toolbox.launcher.jobtable import JobTable
from tests.conftest import run_mle, write

DAMAGED = "plan.json is damaged; move the experiment directory away and run mle run again"
EXP_COMMANDS = ["status", "resume", "cancel", "report", "eval"]


def _snapshot(root: Path) -> dict[str, tuple[float, int]]:
    # Every path, and each file's mtime and size (a folder's mtime also moves when SQLite
    # opens the job table to read it and removes its -shm file again).
    return {str(p.relative_to(root)): (0.0, 0) if p.is_dir() else
            (p.stat().st_mtime, p.stat().st_size) for p in root.rglob("*")}


def _experiment(root: Path, *, plan: str | None = None) -> Path:
    """A project and an experiment dir ``exp`` as ``mle run`` leaves it (hand-made: fast)."""
    write(root / "train.py", "print('ran')\n")
    write(root / "a.json", '{"train_config": {"lrate": 0.1}}\n')
    write(root / "meta.yaml", "meta_job_args:\n  base_train_fname: train.py\n"
          "  base_train_config: a.json\n  experiment_dir: exp\n")
    doc = {"format": 1, "meta_path": str(root / "meta.yaml"), "project_name": "meta",
           "runs": [{"run_id": "a", "source": str(root / "a.json"), "config_hash": "h",
                     "params": {}}],
           "jobs": [{"job_id": "a-s0", "run_id": "a", "seed": 0, "config_hash": "h"}]}
    write(root / "exp" / "plan.json", json.dumps(doc, indent=1) if plan is None else plan)
    return root / "exp"


def _refused(root: Path, *args: str, message: str, env: dict[str, str] | None = None,
             prefix: bool = False) -> str:
    """``mle ARGS`` in ``root`` exits 2 with ``message`` and changes no file; its stderr."""
    before = _snapshot(root)
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        result = run_mle(*args, cwd=root)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert result.returncode == 2, result.stdout + result.stderr
    last = result.stderr.splitlines()[-1]
    if prefix:
        assert last.startswith(f"mle: error: {message}"), last
    else:
        assert last == f"mle: error: {message}"
    assert "Traceback" not in result.stderr
    assert _snapshot(root) == before  # nothing written, no job started
    return result.stderr


@pytest.mark.parametrize("command", EXP_COMMANDS)
@pytest.mark.parametrize(("target", "message"), [
    ("missing", "missing: no such experiment directory"),
    ("train.py", "train.py is a file, not an experiment directory"),
    ("empty", "empty is not an mle_toolbox experiment directory (no plan.json)"),
])
def test_experiment_commands_refuse_what_is_no_experiment(
    tmp_path: Path, command: str, target: str, message: str,
) -> None:
    _experiment(tmp_path)
    (tmp_path / "empty").mkdir()
    _refused(tmp_path, command, target, message=message)


PLANS = [
    ("truncated", '{"format": 1, "meta_path": "/x/meta.yaml", "jobs": [{"run',
     f"exp/plan.json:1: JSON syntax error: Unterminated string starting at; {DAMAGED}"),
    ("empty", "", f"exp/plan.json:1: JSON syntax error: Expecting value; {DAMAGED}"),
    ("list", "[1, 2]\n", "exp/plan.json:1: plan.json must be a mapping of keys to values, "
     "got list"),
    ("jobs-not-list", '{"meta_path": "/x/meta.yaml", "jobs": 3}',
     f"exp/plan.json: jobs: expected a list, got int; {DAMAGED}"),
    ("job-not-mapping", '{"meta_path": "/x/meta.yaml", "jobs": ["a-s0"]}',
     f"exp/plan.json: jobs[0]: expected a mapping, got str; {DAMAGED}"),
    ("seed-text", '{"meta_path": "/x/m.yaml", "jobs": [{"run_id": "a", "config_hash": "h", '
     '"seed": "zero"}]}', "exp/plan.json: jobs[0].seed: expected an integer, got 'zero'"),
    ("meta-path-number", '{"meta_path": 7}',
     "exp/plan.json: meta_path: expected a non-empty string, got 7"),
]


@pytest.mark.parametrize("command", EXP_COMMANDS)
@pytest.mark.parametrize(("plan", "message"), [p[1:] for p in PLANS], ids=[p[0] for p in PLANS])
def test_a_damaged_plan_is_one_message_naming_file_key_and_line(
    tmp_path: Path, command: str, plan: str, message: str,
) -> None:
    _experiment(tmp_path, plan=plan)
    _refused(tmp_path, command, "exp", message=message)


def test_a_plan_that_is_not_utf8_is_one_message(tmp_path: Path) -> None:
    exp = _experiment(tmp_path)
    (exp / "plan.json").write_bytes(b"\xff\xfe{}")
    _refused(tmp_path, "status", "exp", message="exp/plan.json: not UTF-8 text (invalid start "
             "byte)")


@pytest.mark.parametrize("command", ["status", "resume", "cancel"])
@pytest.mark.parametrize("content", [b"garbage\n", b"SQLite format 3\x00" + b"\x00" * 90])
def test_a_corrupt_job_table_is_one_message(tmp_path: Path, command: str,
                                            content: bytes) -> None:
    exp = _experiment(tmp_path)
    (exp / ".mle").mkdir()
    (exp / ".mle" / "jobs.sqlite").write_bytes(content)
    stderr = _refused(tmp_path, command, "exp", prefix=True,
                      message=f"job table {exp / '.mle' / 'jobs.sqlite'} is unusable (")
    assert "keep it" in stderr and "move it away" not in stderr  # never discard the ids


def test_an_unreadable_experiment_dir_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Root (CI runs as root) reads every folder whatever its mode: os.access is made to
    # say no, so the check itself is exercised.
    from mle_toolbox.files.expdir import open_experiment

    exp = _experiment(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != exp)
    with pytest.raises(MleError) as caught:
        open_experiment("exp")
    assert str(caught.value) == "exp: cannot read the experiment directory (permission denied)"


def test_resume_refuses_a_directory_its_yaml_no_longer_points_to(tmp_path: Path) -> None:
    _experiment(tmp_path)
    write(tmp_path / "meta.yaml", "meta_job_args:\n  base_train_fname: train.py\n"
          "  base_train_config: a.json\n  experiment_dir: elsewhere\n")
    _refused(tmp_path, "resume", "exp", message="exp was launched from meta.yaml, whose "
             "experiment_dir is now elsewhere; run mle run on that meta YAML, or point its "
             "experiment_dir back here")


@pytest.mark.parametrize(("backend", "env", "message"), [
    ("sge", {"SGE_ROOT": ""}, "backend 'sge' needs Grid Engine's qsub on PATH and SGE_ROOT "
     "set (source your cluster's settings.sh; on a single machine scripts/sge-local.sh sets "
     "one up)"),
    ("sge-drmaa", {"DRMAA_LIBRARY_PATH": "/nonexistent/libdrmaa.so"}, ""),
])
def test_resume_on_a_backend_unavailable_here_says_where_it_was_launched(
    tmp_path: Path, backend: str, env: dict[str, str], message: str,
) -> None:
    exp = _experiment(tmp_path)
    table = JobTable.open(exp / ".mle" / "jobs.sqlite")
    table.set_info(backend=backend)
    table.close()
    _refused(tmp_path, "resume", "exp", env=env, prefix=not message,
             message=f"exp was launched on {backend} (its job table says so), which cannot "
             f"be used here: {message}")


@pytest.mark.parametrize(("key", "message"), [
    ("999", "no recorded experiment '999' in {db}"),
    ("-1", "ID|DIR: expected a history id (a whole number from mle ls) or an experiment "
     "directory, got '-1'"),
    ("abc", "ID|DIR: expected a history id (a whole number from mle ls) or an experiment "
     "directory, got 'abc'"),
])
def test_show_refuses_unknown_ids_and_text(tmp_path: Path, key: str, message: str) -> None:
    db = tmp_path / "h.sqlite"
    with history.connect(db):
        pass  # an empty history
    _refused(tmp_path, "show", "--", key, env={"MLE_HISTORY_DB": str(db)},
             message=message.format(db=db))


def test_ls_on_a_corrupt_history_is_one_message(tmp_path: Path) -> None:
    db = write(tmp_path / "h.sqlite", "garbage\n")
    _refused(tmp_path, "ls", env={"MLE_HISTORY_DB": str(db)},
             message=f"cannot read the experiment history {db}: file is not a database")


@pytest.mark.parametrize(("where", "message"), [
    ("folder", "environment variable MLE_HISTORY_DB: {p} is a directory; name a database file "
     "in it, e.g. {p}/history.sqlite"),
    ("train.py/h.sqlite", "environment variable MLE_HISTORY_DB: {p} cannot exist: {t} is a "
     "file"),
])
def test_ls_refuses_a_history_path_that_cannot_be_a_database(tmp_path: Path, where: str,
                                                             message: str) -> None:
    write(tmp_path / "train.py", "")
    (tmp_path / "folder").mkdir()
    target = tmp_path / where
    _refused(tmp_path, "ls", env={"MLE_HISTORY_DB": str(target)},
             message=message.format(p=target, t=tmp_path / "train.py"))


def test_ls_with_a_history_in_a_missing_folder_says_there_is_none_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = tmp_path / "not_yet" / "h.sqlite"
    monkeypatch.setenv("MLE_HISTORY_DB", str(target))
    done = run_mle("ls", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout == (f"mle: no experiment history at {target} (mle run records one; "
                           "see MLE_HISTORY_DB)\n")
    assert not target.parent.exists()  # reading creates nothing


@pytest.mark.parametrize(("name", "message"), [
    ("train.py", "train.py exists and is not a directory"),
    ("train.py/sub", "train.py/sub cannot be created: train.py is a file"),
    ("a\nb", "DIR: expected a folder name without line breaks or control characters, got "
     "'a\\nb'"),
    ("", "DIR: expected a folder name without line breaks or control characters, got ''"),
])
def test_init_refuses_paths_it_cannot_or_should_not_create(tmp_path: Path, name: str,
                                                          message: str) -> None:
    write(tmp_path / "train.py", "")
    _refused(tmp_path, "init", name, message=message)


def test_init_hostile_but_valid_names_are_created_and_quoted(tmp_path: Path) -> None:
    name = "we ird's;$(touch pwned)"
    result = run_mle("init", name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / name / "train.py").is_file()
    assert "  cd 'we ird'\"'\"'s;$(touch pwned)' && mle run meta_seeds.yaml" in result.stdout
    assert not list(tmp_path.rglob("pwned"))


def test_init_into_an_unwritable_folder_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Root writes everywhere, so the permission check is exercised in-process.
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != locked)
    with pytest.raises(MleError) as caught:
        init_project(locked / "proj", force=False)
    assert str(caught.value) == (f"{locked / 'proj'} cannot be written: no write permission "
                                 f"in {locked}; nothing was written")
    assert list(locked.iterdir()) == []


FLAGS = [
    (("--force", "--rerun-failed"), "--rerun-failed: has no effect with --force, which "
     "reruns every job; give one of them"),
    (("--dry-run", "--detach"), "--dry-run: a dry run starts nothing; --detach would be "
     "ignored"),
    (("--dry-run", "--force", "--max-retries", "2"), "--dry-run: a dry run starts nothing; "
     "--force, --max-retries would be ignored"),
    (("--all",), "--all: lists the jobs of a dry run; add --dry-run"),
    (("--detach",), "--detach: needs a scheduler that keeps jobs running without mle: cluster "
     "backends only (sge, sge-drmaa, slurm); the local backend stops jobs with it"),
]


@pytest.mark.parametrize(("flags", "message"), FLAGS, ids=[" ".join(f[0]) for f in FLAGS])
def test_contradicting_or_ignored_flags_are_refused(tmp_path: Path, flags: tuple[str, ...],
                                                    message: str) -> None:
    _experiment(tmp_path)
    _refused(tmp_path, "run", "meta.yaml", *flags, message=message)


def test_resume_refuses_force_with_rerun_failed(tmp_path: Path) -> None:
    _experiment(tmp_path)
    _refused(tmp_path, "resume", "exp", "--force", "--rerun-failed",
             message="--rerun-failed: has no effect with --force, which reruns every job; "
             "give one of them")


@pytest.mark.parametrize("value", ["-1", "101", "many"])
def test_max_retries_flag_out_of_range_is_an_argparse_error(tmp_path: Path, value: str) -> None:
    _experiment(tmp_path)
    before = _snapshot(tmp_path)
    result = run_mle("run", "meta.yaml", "--max-retries", value, cwd=tmp_path)
    assert result.returncode == 2
    expected = ("expected a whole number, got 'many'" if value == "many"
                else f"must be 0 .. 100, got {value}")
    assert result.stderr.splitlines()[-1] == f"mle run: error: argument --max-retries: {expected}"
    assert _snapshot(tmp_path) == before


SLURM_ENV = [
    ({"MLE_SLURM_GPU": "a b"}, "environment variable MLE_SLURM_GPU: expected a name without "
     "spaces or line breaks, got 'a b'"),
    ({"MLE_SLURM_GPU": "gpu\n#SBATCH --wrap=x"}, "environment variable MLE_SLURM_GPU: expected "
     "a name without spaces or line breaks, got 'gpu\\n#SBATCH --wrap=x'"),
    ({"MLE_SLURM_SIGNAL": "USR1@60\n"}, "environment variable MLE_SLURM_SIGNAL: expected a "
     "signal like B:USR1@60, got 'USR1@60\\n'"),
    ({"MLE_SLURM_GRACE": "nan"}, "environment variable MLE_SLURM_GRACE: expected seconds (a "
     "number >= 0), got 'nan'"),
    ({"MLE_SLURM_GRACE": "-1"}, "environment variable MLE_SLURM_GRACE: expected seconds (a "
     "number >= 0), got '-1'"),
]
SGE_ENV = [
    ({"MLE_SGE_PE": "smp\n#$ -l evil=1"}, "environment variable MLE_SGE_PE: expected a name "
     "without spaces or line breaks, got 'smp\\n#$ -l evil=1'"),
    ({"MLE_SGE_MEMORY": ""}, "environment variable MLE_SGE_MEMORY: expected a name without "
     "spaces or line breaks, got ''"),
    ({"MLE_SGE_GPU": "g pu"}, "environment variable MLE_SGE_GPU: expected a name without "
     "spaces or line breaks, got 'g pu'"),
    ({"MLE_SGE_GRACE": "inf"}, "environment variable MLE_SGE_GRACE: expected seconds (a "
     "number >= 0), got 'inf'"),
]


KNOBS = [(SlurmOptions, *case) for case in SLURM_ENV] + [(SgeOptions, *case) for case in SGE_ENV]


@pytest.mark.parametrize(("options", "env", "message"), KNOBS)
def test_scheduler_knobs_with_garbage_are_refused(
    options: type[SlurmOptions] | type[SgeOptions], env: dict[str, str], message: str,
) -> None:
    with pytest.raises(ConfigError) as caught:
        options.from_env(env)
    assert str(caught.value) == message


def _fake_scheduler(root: Path, name: str) -> Path:
    """A scheduler command that records any call: the tests assert it is never called."""
    marker = root / "bin" / f"{name}.called"
    write(root / "bin" / name, f"#!/bin/sh\ntouch '{marker}'\nexit 1\n").chmod(0o755)
    return marker


@pytest.mark.parametrize(("backend", "env", "message"), [
    ("slurm", *SLURM_ENV[1]), ("sge", *SGE_ENV[0]),
])
def test_a_garbage_knob_stops_the_launch_before_anything(
    tmp_path: Path, backend: str, env: dict[str, str], message: str,
) -> None:
    _experiment(tmp_path)
    marker = _fake_scheduler(tmp_path, "sbatch" if backend == "slurm" else "qsub")
    path = f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"
    _refused(tmp_path, "run", "meta.yaml", "--backend", backend, message=message,
             env={**env, "PATH": path, "SGE_ROOT": str(tmp_path)})
    assert not marker.exists()


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    row = {"name": "x" * 200, "meta_path": "/m.yaml", "meta_hash": "h", "exp_dir": "/e",
           "backend": "local", "state": "completed", "jobs_total": 1, "started": 0.0,
           "host": "h", "pid": 1}
    with history.connect(db) as conn:
        for _ in range(2000):  # far more than a pipe buffer holds
            history.insert(conn, **row)
    proc = subprocess.Popen([sys.executable, "-m", "mle_toolbox", "ls", "--json"],
                            env={**os.environ, "MLE_HISTORY_DB": str(db)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"[\n"
    proc.stdout.close()  # as `mle ls --json | head -1` does
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert stderr == ""
