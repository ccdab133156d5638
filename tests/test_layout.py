"""Layout: every path of an experiment, and archiving the files of earlier attempts."""

from __future__ import annotations

from pathlib import Path

import pytest

from mle_toolbox.files.jobdir import EXIT_CODE_NAME, STDERR_NAME, STDOUT_NAME
from mle_toolbox.files.jobpaths import JobPaths, path_text
from mle_toolbox.files.layout import ExperimentLayout, JobLayout
from mle_toolbox.spec import Environment, JobSpec, JobTask, Resources


def test_experiment_paths(tmp_path: Path) -> None:
    layout = ExperimentLayout(tmp_path / "exp")
    root = tmp_path / "exp"
    assert layout.meta_copy == root / "experiment_config.yaml"
    assert layout.plan == root / "plan.json"
    assert layout.report == root / "report.json"
    assert layout.launcher_log == root / "launcher.log"
    assert layout.lock == root / ".mle-lock"
    assert layout.internal_dir == root / ".mle"
    assert layout.run_dir("b_1_eval_0") == root / "b_1_eval_0"
    assert layout.run_config("a_cfg") == root / "a_cfg" / "a_cfg.json"
    assert layout.summary("a_cfg") == root / "a_cfg" / "summary.json"
    assert layout.job("a_cfg", 3) == JobLayout(run_dir=root / "a_cfg", seed=3)
    assert not root.exists()  # path arithmetic only


def test_job_paths(tmp_path: Path) -> None:
    job = JobLayout(run_dir=tmp_path / "run", seed=12)
    jobs = tmp_path / "run" / "jobs" / "seed_12"
    assert job.logs_dir == tmp_path / "run" / "logs"
    assert job.metrics_log == tmp_path / "run" / "logs" / "seed_12.jsonl"
    assert job.job_dir == jobs
    assert (job.stdout, job.stderr, job.exit_code) == (
        jobs / "stdout.log", jobs / "stderr.log", jobs / "exit_code")
    assert (STDOUT_NAME, STDERR_NAME, EXIT_CODE_NAME) == ("stdout.log", "stderr.log",
                                                          "exit_code")
    assert job.status == jobs / "status.json"
    assert job.argv_file == jobs / "argv"
    assert job.attempts_dir == jobs / "attempts"
    assert job.cancelled == jobs / "cancelled"
    assert job.attempt_files() == (job.stdout, job.stderr, job.exit_code, job.status,
                                   job.metrics_log, job.cancelled)
    assert JobLayout(run_dir=tmp_path, seed=-1).metrics_log.name == "seed_-1.jsonl"
    assert not (tmp_path / "run").exists()


# Written as users and launchers pass -exp_dir: relative, absolute, with ./, //, trailing /.
RUN_DIRS = ["out/b_1", "./out//b_1/", "/abs/run/.", "run", ".", "/", "//net/run", "a/../b",
            "sp ace/r\u00e9n"]


@pytest.mark.parametrize("run_dir", RUN_DIRS)
def test_job_paths_are_the_layouts_paths_as_text(run_dir: str) -> None:
    # The job side (JobPaths, strings) and the launcher side (JobLayout, Paths) must name
    # the very same files: the launcher reads what the job writes.
    assert path_text(run_dir) == str(Path(run_dir))
    for seed in (0, 7, 12345):
        text, layout = JobPaths(run_dir, seed), JobLayout(run_dir=Path(run_dir), seed=seed)
        assert text.run_dir == str(layout.run_dir)
        for name in ("metrics_log", "log_meta", "job_dir", "status", "checkpoints_dir"):
            assert getattr(text, name) == str(getattr(layout, name)), (name, seed)


def test_a_task_finds_its_files_where_the_layout_puts_them(tmp_path: Path) -> None:
    job = ExperimentLayout(tmp_path).job("r", 0)
    task = JobTask(job=JobSpec(run_id="r", seed=0, config_hash="h"), name="n", argv=("x",),
                   cwd=tmp_path, job_dir=job.job_dir, resources=Resources(),
                   environment=Environment())
    files = task.files
    assert (files.stdout, files.stderr, files.exit_code) == (job.stdout, job.stderr,
                                                             job.exit_code)


def _attempt(job: JobLayout, text: str, *, files: tuple[Path, ...] | None = None) -> None:
    for path in files or job.attempt_files():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{path.name} {text}")


def test_nothing_to_archive_returns_none_and_creates_nothing(tmp_path: Path) -> None:
    job = JobLayout(run_dir=tmp_path / "run", seed=0)
    assert job.archive_attempt() is None
    assert not (tmp_path / "run").exists()
    job.job_dir.mkdir(parents=True)
    job.argv_file.write_text("python\0train.py\0")  # the command is not an attempt's output
    assert job.archive_attempt() is None
    assert not job.attempts_dir.exists()
    assert job.argv_file.read_text() == "python\0train.py\0"


def test_attempts_are_archived_under_increasing_numbers(tmp_path: Path) -> None:
    job = JobLayout(run_dir=tmp_path / "run", seed=1)
    other_seed = JobLayout(run_dir=tmp_path / "run", seed=2)
    _attempt(other_seed, "other")
    for number in (1, 2, 3):
        _attempt(job, f"try {number}")
        assert job.archive_attempt() == job.attempts_dir / str(number)
        assert not any(p.exists() for p in job.attempt_files())
        assert job.archive_attempt() is None
    for number in (1, 2, 3):
        folder = job.attempts_dir / str(number)
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            ["stdout.log", "stderr.log", "exit_code", "status.json", "seed_1.jsonl", "cancelled"])
        assert (folder / "seed_1.jsonl").read_text() == f"seed_1.jsonl try {number}"
        assert (folder / "exit_code").read_text() == f"exit_code try {number}"
    # the other seed's files, in the shared logs folder too, are left alone
    assert other_seed.metrics_log.read_text() == "seed_2.jsonl other"
    assert not other_seed.attempts_dir.exists()


def test_archive_moves_only_what_exists_and_numbers_after_the_highest(tmp_path: Path) -> None:
    job = JobLayout(run_dir=tmp_path / "run", seed=0)
    (job.attempts_dir / "7").mkdir(parents=True)
    (job.attempts_dir / "notes").mkdir()
    _attempt(job, "partial", files=(job.stderr,))
    target = job.archive_attempt()
    assert target == job.attempts_dir / "8"
    assert [p.name for p in target.iterdir()] == ["stderr.log"]
    assert (target / "stderr.log").read_text() == "stderr.log partial"


def test_the_job_wrapper_writes_the_files_the_layout_names() -> None:
    # The wrapper is a shell script run as is: its file names must be the layout's.
    from mle_toolbox.files import jobdir
    from mle_toolbox.templates import read_template

    wrapper = read_template("job_wrapper.sh")
    for name in (jobdir.EXIT_CODE_NAME, jobdir.ARGV_NAME, jobdir.REQUEUE_NAME,
                 jobdir.ATTEMPTS_DIR_NAME):
        assert f'"$job_dir/{name}' in wrapper, name
    moved = f"for name in {jobdir.STDOUT_NAME} {jobdir.STDERR_NAME} {jobdir.STATUS_NAME}; do"
    assert moved in wrapper
    assert f"    exit {jobdir.REQUEUE_EXIT}\n" in wrapper  # a requeue the job asked for
    for script in ("sge_job.sh", "slurm_job.sh"):  # rendered with the layout's names
        assert '"$$job_dir/$stdout_name" 2>>"$$job_dir/$stderr_name"' in read_template(script)
