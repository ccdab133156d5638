"""A full disk stops ``mle run`` with one line naming the path and "disk full", exit 74,
nothing half-written; after space is freed the next run completes every job exactly once
(issue 17, item 10).

The disk is a real tmpfs of a few MiB, mounted for the test (root, as in CI) and filled
for real: before the run with a given amount left, by a job during the run, or right
before a named launcher step (tests/disk_full_hooks.py), so each step meets a real ENOSPC.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from mle_toolbox.errors import EXIT_DISK_FULL
from tests import test_sge_real, test_slurm_real
from tests.conftest import run_mle, write
from tests.disk_full_hooks import STEPS, fill
from tests.test_exit_99 import _gone

pytestmark = pytest.mark.timeout(180)

HOOKS = Path(__file__).with_name("disk_full_hooks.py")
DISK_BYTES = 4 * 1024 * 1024
JOBS = ("a-seed0", "a-seed1", "b-seed0", "b-seed1")

# Each job notes its start and its end in RUNS (outside the small disk); the job a-seed0
# fills the disk on its first attempt when FILL (a path) is set.
TRAIN_PY = """\
import os
from mle_toolbox import MLExperiment
RUNS, FILL = {runs!r}, {fill!r}
mle = MLExperiment()
job = os.path.basename(mle.config_fname).split(".")[0] + "-seed" + str(mle.seed_id)
with open(RUNS, "a") as runs:
    runs.write(job + " start " + str(mle.attempt) + "\\n")
if FILL and job == "a-seed0" and mle.attempt == 1:
    import sys
    sys.path.insert(0, {tests!r})
    from disk_full_hooks import fill
    fill(FILL)
for step in range(3):
    mle.log.update({{"step": step}}, {{"loss": 1.0 / (step + 1)}}, save=True)
with open(RUNS, "a") as runs:
    runs.write(job + " end " + str(mle.attempt) + "\\n")
"""


def _cannot_mount(why: str) -> None:
    """Skip, except where a small disk must be testable (CI: MLE_REQUIRE_ROOT=1)."""
    if os.environ.get("MLE_REQUIRE_ROOT") == "1" or os.environ.get("CI") == "true":
        raise RuntimeError(f"MLE_REQUIRE_ROOT=1 (CI), but {why}")
    pytest.skip(f"{why} (CI runs as root and never skips these tests)")


@pytest.fixture
def small_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A tmpfs of DISK_BYTES, unmounted after the test."""
    if os.geteuid() != 0:
        _cannot_mount("mounting a small tmpfs needs root")
    where = tmp_path_factory.mktemp("disk")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "none",
                              str(where)], capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        _cannot_mount(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def sweep(small_disk: Path, project: Path) -> Path:
    """The conftest project (2 configs x 2 seeds) copied onto the small disk."""
    here = small_disk / "p"
    shutil.copytree(project, here)
    write(here / "train.py", TRAIN_PY.format(runs=str(project / "runs.txt"), fill="",
                                             tests=str(HOOKS.parent)))
    return here


def _filler(sweep: Path) -> Path:
    return sweep.parent / "filler"


def _leave_free(sweep: Path, nbytes: int) -> None:
    """Fill the disk, then give back ``nbytes`` (whole pages) of it."""
    filler = _filler(sweep)
    fill(str(filler))
    os.truncate(filler, max(0, filler.stat().st_size - nbytes))


def _assert_one_disk_full_line(result: subprocess.CompletedProcess[str], disk: Path) -> None:
    assert result.returncode == EXIT_DISK_FULL, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mle: error: ") and "disk full" in lines[0], lines[0]
    assert f" {disk}/" in lines[0], lines[0]  # names the path that could not be written
    assert "Traceback" not in result.stderr and "sqlite3" not in result.stderr


def _assert_nothing_half_written(exp: Path) -> None:
    """No lock left, no temp file, every JSON file whole, no empty exit_code."""
    assert not (exp / ".mle-lock").exists()
    if not exp.exists():
        return
    files = [p for p in exp.rglob("*") if p.is_file()]
    assert not [p for p in files if p.name.endswith(".tmp")]
    for path in files:
        if path.suffix == ".json":
            json.loads(path.read_text())  # raises on a torn or empty file
        if path.name in ("exit_code", "experiment_config.yaml"):
            assert path.read_text().strip(), path


def _wait_until_no_job_runs(exp: Path) -> None:
    """No process left whose command line names ``exp`` (job wrappers; deadline 30 s)."""
    deadline = time.monotonic() + 30
    needle = str(exp).encode()
    while True:
        running = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and needle in (proc / "cmdline").read_bytes():
                    running.append(proc.name)
            except OSError:
                continue  # gone meanwhile
        if not running:
            return
        assert time.monotonic() < deadline, f"job processes still running: {running}"
        time.sleep(0.05)


def _recover_and_check(sweep: Path, runs: Path, *, backend: str = "local") -> None:
    """Free the space, run again: every job completed exactly once, the table agrees."""
    _filler(sweep).unlink(missing_ok=True)
    _wait_until_no_job_runs(sweep / "out")
    again = run_mle("run", "meta.yaml", "--max-running", "1", "--no-report",
                    "--backend", backend, cwd=sweep, timeout=150)
    assert again.returncode == 0, again.stdout + again.stderr
    ends = Counter(job for job, what, _ in _lines(runs) if what == "end")
    assert ends == Counter(JOBS), _lines(runs)  # each job completed once, none twice
    with sqlite3.connect(sweep / "out" / ".mle" / "jobs.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        latest = dict(db.execute(
            "SELECT job_id, state FROM jobs AS j WHERE attempt = "
            "(SELECT MAX(attempt) FROM jobs WHERE job_id = j.job_id)").fetchall())
    assert latest == dict.fromkeys(JOBS, "completed")
    for job in JOBS:
        config, seed = job.split("-seed")
        job_dir = sweep / "out" / config / "jobs" / f"seed_{seed}"
        assert (job_dir / "exit_code").read_text() == "0\n"
        assert json.loads((job_dir / "status.json").read_text())["state"] == "completed"


def _lines(runs: Path) -> list[tuple[str, str, int]]:
    if not runs.exists():
        return []
    return [(job, what, int(attempt)) for job, what, attempt in
            (line.split() for line in runs.read_text().splitlines())]


# Free space left before `mle run`: none (the lock's content cannot be written), one page
# (the lock, then plan.json fails), and a few pages (the run configs, experiment_config.yaml,
# the job table's -wal and -shm files). The launch stops before any job starts.
@pytest.mark.parametrize("free_kib", [0, 4, 8, 16, 24, 40, 64])
def test_a_full_disk_before_the_run_stops_it_with_one_line_and_the_next_run_recovers(
        sweep: Path, project: Path, free_kib: int) -> None:
    runs = project / "runs.txt"
    _leave_free(sweep, free_kib * 1024)
    result = run_mle("run", "meta.yaml", "--max-running", "1", "--no-report", cwd=sweep)
    _assert_one_disk_full_line(result, sweep.parent)
    _assert_nothing_half_written(sweep / "out")
    assert _lines(runs) == []  # stopped before any job started
    _recover_and_check(sweep, runs)


@pytest.mark.parametrize("step", STEPS)
def test_a_disk_that_fills_right_before_a_launcher_step_stops_cleanly_and_recovers(
        sweep: Path, project: Path, step: str) -> None:
    runs = project / "runs.txt"
    result = subprocess.run(
        [sys.executable, str(HOOKS), step, str(_filler(sweep)),
         "run", "meta.yaml", "--max-running", "1", "--no-report"],
        cwd=sweep, capture_output=True, text=True, timeout=120, check=False)
    _assert_one_disk_full_line(result, sweep.parent)
    _assert_nothing_half_written(sweep / "out")
    if step == "finished":  # the first job completed; its row could not be made final
        assert _lines(runs) == [("a-seed0", "start", 1), ("a-seed0", "end", 1)]
        status = run_mle("status", "out", cwd=sweep)  # reading works on the full disk
        assert status.returncode == 0 and status.stderr == "", status.stderr
        assert "1 completed" in status.stdout, status.stdout
    _recover_and_check(sweep, runs)


def test_a_job_that_fills_the_disk_stops_the_run_with_one_line_and_the_next_run_recovers(
        sweep: Path, project: Path) -> None:
    runs = project / "runs.txt"
    write(sweep / "train.py", TRAIN_PY.format(runs=str(runs), fill=str(_filler(sweep)),
                                              tests=str(HOOKS.parent)))
    result = run_mle("run", "meta.yaml", "--max-running", "1", "--no-report", cwd=sweep)
    _assert_one_disk_full_line(result, sweep.parent)
    assert "jobs.sqlite" in result.stderr  # the launcher's next write: the job's final row
    _assert_nothing_half_written(sweep / "out")
    assert _lines(runs) == [("a-seed0", "start", 1)]  # it died writing its metrics
    _recover_and_check(sweep, runs)
    # The job that filled the disk ended without an exit code: it ran again as attempt 2
    # (attempt 1's files archived); the other jobs ran once.
    assert [(j, a) for j, what, a in _lines(runs) if what == "start"] == [
        ("a-seed0", 1), ("a-seed0", 2), ("a-seed1", 1), ("b-seed0", 1), ("b-seed1", 1)]
    assert (sweep / "out" / "a" / "jobs" / "seed_0" / "attempts" / "1").is_dir()


CLUSTERS = [
    pytest.param("sge", marks=[pytest.mark.sge, pytest.mark.skipif(
        not test_sge_real.HAVE_SGE, reason="no Grid Engine")], id="sge"),
    pytest.param("slurm", marks=[pytest.mark.slurm, pytest.mark.skipif(
        not test_slurm_real.HAVE_SLURM, reason="no Slurm")], id="slurm"),
]


@pytest.mark.parametrize("backend", CLUSTERS)
def test_a_cluster_submission_the_table_cannot_record_is_cancelled(
        sweep: Path, project: Path, backend: str) -> None:
    """The scheduler accepted the array, then the disk filled before its ids were recorded:
    the array, still held, is cancelled (nothing runs that the table cannot name), and the
    next run completes every job exactly once."""
    name = f"dfull{backend}"
    meta = sweep / "meta.yaml"
    meta.write_text(meta.read_text().replace("project_name: demo", f"project_name: {name}"))
    result = subprocess.run(
        [sys.executable, str(HOOKS), "submitted", str(_filler(sweep)),
         "run", "meta.yaml", "--backend", backend, "--no-report"],
        cwd=sweep, capture_output=True, text=True, timeout=150, check=False)
    _assert_one_disk_full_line(result, sweep.parent)
    assert _gone(backend, name), "the array the table could not record still runs"
    # Submitted held and cancelled before its release: not one task of it started.
    assert _lines(project / "runs.txt") == []
    assert not list((sweep / "out").rglob("exit_code"))
    _assert_nothing_half_written(sweep / "out")
    _recover_and_check(sweep, project / "runs.txt", backend=backend)
