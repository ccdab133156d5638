"""Packing several jobs into one array task (single_job_args.jobs_per_task), without a
cluster: the key's validation, the ``auto`` choice, rendered scripts, the packed task
run by bash with SGE's and Slurm's task variables, and per-job status and cancel against
scripted queue answers. The real clusters: tests/test_packing_real.py."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from mle_toolbox.backends.arrays import write_task_files
from mle_toolbox.backends.commands import Output
from mle_toolbox.backends.packed_ids import member_ids, task_of
from mle_toolbox.backends.sge import SgeBackend
from mle_toolbox.backends.sge_script import SgeOptions
from mle_toolbox.backends.sge_script import render_script as render_sge
from mle_toolbox.backends.slurm_script import SlurmOptions
from mle_toolbox.backends.slurm_script import render_script as render_slurm
from mle_toolbox.config.meta import load_meta
from mle_toolbox.files.layout import ExperimentLayout
from mle_toolbox.launcher.jobtable import JobTable
from mle_toolbox.launcher.packing import (
    MAX_AUTO,
    MIN_TASKS,
    STARTUP_S,
    UNKNOWN_JOBS_PER_TASK,
    choose_jobs_per_task,
    completed_durations,
)
from mle_toolbox.spec import (
    Environment,
    JobHandle,
    JobResult,
    JobSpec,
    JobState,
    JobTask,
    Resources,
)
from tests.conftest import run_mle, write

DATA = Path(__file__).parent / "data" / "sge"
HEAD = ("meta_job_args:\n  base_train_fname: train.py\n  base_train_config: a.json\n"
        "  experiment_dir: out\n")


def _project(root: Path, job_args: str) -> Path:
    write(root / "train.py", "print('ran')\n")
    write(root / "a.json", '{"train_config": {"lrate": 0.1}}\n')
    return write(root / "meta.yaml", HEAD + "single_job_args:\n" + job_args)


@pytest.mark.parametrize(("value", "message"), [
    ("0", "expected a whole number of jobs from 1 or 'auto', got 0"),
    ("-3", "expected a whole number of jobs from 1 or 'auto', got -3"),
    ("2.5", "expected a whole number of jobs from 1 or 'auto', got 2.5"),
    ("true", "expected a whole number of jobs from 1 or 'auto', got True"),
    ("many", "expected a whole number of jobs from 1 or 'auto', got 'many'"),
    ("100001", "must be at most 10000, got 100001"),
])
def test_a_bad_jobs_per_task_exits_2_naming_file_key_and_line(
    tmp_path: Path, value: str, message: str,
) -> None:
    _project(tmp_path, f"  num_logical_cores: 1\n  jobs_per_task: {value}\n")
    result = run_mle("run", "meta.yaml", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"mle: error: meta.yaml:7: single_job_args.jobs_per_task: {message}")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["0", "-1", "soon", "true"])
def test_a_bad_duration_hint_exits_2(tmp_path: Path, value: str) -> None:
    _project(tmp_path, f"  jobs_per_task: auto\n  job_duration_hint: {value}\n")
    result = run_mle("run", "meta.yaml", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("mle: error: meta.yaml:7: single_job_args.job_duration_hint: ")
    assert not (tmp_path / "out").exists()


def test_the_keys_are_read_into_the_meta_config(tmp_path: Path) -> None:
    meta = load_meta(_project(tmp_path, "  jobs_per_task: 4\n"))
    assert meta.resources.jobs_per_task == 4 and not meta.packing.auto
    meta = load_meta(_project(tmp_path, "  jobs_per_task: auto\n  job_duration_hint: 45s\n"))
    assert meta.packing.auto and meta.packing.duration_hint_s == 45.0
    assert meta.resources.jobs_per_task == 1  # resolved by the launcher
    meta = load_meta(_project(tmp_path, "  jobs_per_task: auto\n  job_duration_hint: 0.25\n"))
    assert meta.packing.duration_hint_s == 0.25
    meta = load_meta(_project(tmp_path, "  num_logical_cores: 1\n"))
    assert meta.resources.jobs_per_task == 1 and not meta.packing.auto
    assert not meta.warnings


def test_auto_aims_at_30_second_tasks_within_the_time_limit() -> None:
    def choose(durations: list[float], hint: float | None, limit: int | None,
               jobs: int = 100_000) -> int:
        return choose_jobs_per_task(durations=durations, hint_s=hint, time_limit_s=limit,
                                    jobs=jobs)

    assert choose([], None, None) == UNKNOWN_JOBS_PER_TASK == 1
    assert choose([], 3.0, None) == 10
    assert choose([0.5, 0.5, 0.6], 60.0, None) == 60  # measured beats the hint
    assert choose([45.0], None, None) == 1
    assert choose([0.001], None, None) == MAX_AUTO
    # N x the longest job fits into one job's time limit
    assert choose([0.5, 1.0, 4.0], None, 20) == 5
    assert choose([], 2.0, 7) == 3
    assert choose([], 100.0, 60) == 1
    # never fewer than MIN_TASKS tasks: 1,000 jobs of 0.1 s make 16 tasks of 62, not 4 of 300
    assert MIN_TASKS == 16
    assert choose([], 0.1, None, jobs=1000) == 62
    assert choose([], 0.1, None, jobs=20) == 1


def test_auto_reads_the_durations_of_completed_jobs(tmp_path: Path) -> None:
    meta_path = _project(tmp_path, "  jobs_per_task: auto\n  time_per_job: 12s\n")
    layout = ExperimentLayout(tmp_path / "out")
    table = JobTable.open(layout.job_table)
    tasks = [_task(tmp_path / "out", seed=s) for s in range(3)]
    journal_attempts = [1, 1, 1]
    table.submitting(tasks, backend="local", attempts=journal_attempts)
    for seed, task in enumerate(tasks):
        state = JobState.COMPLETED if seed < 2 else JobState.FAILED
        table.finished(JobResult(job_id=task.job_id, state=state, exit_code=0,
                                 reason="", duration_s=None), attempt=1)
        start = 1000.0
        status = layout.job("run", seed).status
        status.parent.mkdir(parents=True, exist_ok=True)
        status.write_text(json.dumps({"start": start, "end": start + 2.0 + seed}))
    table.close()
    # status.json sees the script after its interpreter started: STARTUP_S is added
    assert sorted(completed_durations(layout)) == [2.0 + STARTUP_S, 3.0 + STARTUP_S]
    # a packed task's start mark to the exit code: the whole run (the failed job: unused)
    started = layout.job("run", 1).files.started
    started.write_text("")
    layout.job("run", 1).exit_code.write_text("0\n")
    os.utime(started, (5000.0, 5000.0))
    os.utime(layout.job("run", 1).exit_code, (5002.5, 5002.5))
    assert sorted(completed_durations(layout)) == [2.0 + STARTUP_S, 2.5]

    from mle_toolbox.config.base_configs import load_configs
    from mle_toolbox.config.expand import expand
    from mle_toolbox.launcher.packing import packed

    meta = load_meta(meta_path)
    plan = packed(expand(meta, configs=load_configs(meta.config_files)), layout=layout,
                  jobs=1000)
    # median 2.3 s -> 13 for 30 s, but 12 s / 2.5 s (the longest) allows 4
    assert plan.meta.resources.jobs_per_task == 4


def _task(root: Path, *, seed: int, resources: Resources | None = None,
          argv: tuple[str, ...] = ("true",)) -> JobTask:
    return JobTask(job=JobSpec(run_id="run", seed=seed, config_hash="h"), name=f"s-{seed}",
                   argv=argv, cwd=root, job_dir=root / "run" / "jobs" / f"seed_{seed}",
                   resources=resources or Resources(), environment=Environment(),
                   env=(("PYTHONUNBUFFERED", "1"),), internal_dir=root / ".mle",
                   sweep_name="sweep")


def test_member_ids_name_the_task_and_the_place_in_it() -> None:
    assert member_ids(["8.1", "8.2"], jobs=3, size=2) == ["8.1@1", "8.1@2", "8.2@1"]
    assert member_ids(["5_0", "5_1"], jobs=2, size=1) == ["5_0", "5_1"]  # unpacked: as before
    assert task_of("8.1@2") == "8.1" and task_of("5_0") == "5_0"


def test_packed_scripts_count_tasks_and_multiply_the_time_limit(tmp_path: Path) -> None:
    res = Resources(time_limit_s=90, jobs_per_task=3)
    tasks = [_task(Path("/p"), seed=s, resources=res) for s in range(7)]
    sge = render_sge(tasks, task_list=Path("/p/.mle/sge/s_1.tasks"), name="s_1",
                     max_running=4, options=SgeOptions())
    assert "#$ -t 1-3\n" in sge  # 7 jobs, 3 per task
    assert "#$ -tc 1\n" in sge  # at most 4 jobs at once: one task of 3
    assert "#$ -l h_rt=00:04:30\n" in sge  # 3 x 90 s
    assert ('/p/.mle/sge/s_1.jobs/"$(( SGE_TASK_ID - 1 ))" 90 ') in sge
    slurm = render_slurm(tasks, task_list=Path("/p/.mle/slurm/s_1.tasks"), name="s_1",
                         max_running=None, options=SlurmOptions())
    assert "#SBATCH --array=0-2\n" in slurm and "#SBATCH --time=00:04:30\n" in slurm
    assert '/p/.mle/slurm/s_1.jobs/"${SLURM_ARRAY_TASK_ID:-0}" 90 ' in slurm
    one = render_sge([dataclasses.replace(t, resources=Resources(time_limit_s=90))
                      for t in tasks], task_list=Path("/p/t"), name="s_1", max_running=None,
                     options=SgeOptions())
    assert "pack_task.sh" not in one and "#$ -t 1-7\n" in one  # jobs_per_task 1: as before


def _script_job(root: Path, seed: int, body: str) -> list[str]:
    counts = root / "counts"
    return ["bash", "-c", f'echo run >> "$1/{seed}"; {body}', "_", str(counts)]


def _run_task(script: str, *, cwd: Path, task_id: str,
              var: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], cwd=cwd, env={**os.environ, var: task_id},
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("scheduler", ["sge", "slurm"])
def test_a_packed_task_runs_its_jobs_in_turn_and_a_failure_stops_none(
    tmp_path: Path, scheduler: str,
) -> None:
    (tmp_path / "counts").mkdir()
    res = Resources(time_limit_s=1, jobs_per_task=5)
    bodies = ["exit 0", "exit 3", "sleep 20", "exit 0", "exit 0", "exit 0"]
    tasks = [_task(tmp_path, seed=s, resources=res,
                   argv=tuple(_script_job(tmp_path, s, body)))
             for s, body in enumerate(bodies)]
    for task in tasks[3:5]:
        task.job_dir.mkdir(parents=True)
    tasks[3].files.exit_code.write_text("0\n")  # finished in an earlier task: skipped
    task_list = tmp_path / ".mle" / scheduler / "s_1.tasks"
    write_task_files(tasks, task_list=task_list)
    tasks[4].files.stop.write_text("stopped\n")  # stopped alone by the launcher: skipped
    render = render_sge if scheduler == "sge" else render_slurm
    options = SgeOptions() if scheduler == "sge" else SlurmOptions()
    script = render(tasks, task_list=task_list, name="s_1", max_running=None,
                    options=options)  # type: ignore[arg-type]
    var, first = ("SGE_TASK_ID", "1") if scheduler == "sge" else ("SLURM_ARRAY_TASK_ID", "0")
    started = time.monotonic()
    done = _run_task(script, cwd=tmp_path, task_id=first, var=var)
    assert done.returncode == 1, done.stderr  # some job failed; the task ran them all
    assert time.monotonic() - started < 15  # the sleeping job met its own limit of 1 s
    codes = [t.files.exit_code.read_text() if t.files.exit_code.exists() else None
             for t in tasks]
    assert codes == ["0\n", "3\n", "143\n", "0\n", None, None]
    runs = {p.name: p.read_text() for p in (tmp_path / "counts").iterdir()}
    assert runs == {"0": "run\n", "1": "run\n", "2": "run\n"}  # each ran once, 3-5 not here
    assert all(t.files.started.exists() for t in tasks[:3])
    assert not tasks[4].files.started.exists()
    # The second task (job 6 alone) runs it; the first's jobs are not touched again.
    second = _run_task(script, cwd=tmp_path, task_id=str(int(first) + 1), var=var)
    assert second.returncode == 0, second.stderr
    assert tasks[5].files.exit_code.read_text() == "0\n"
    assert (tmp_path / "counts" / "5").read_text() == "run\n"
    assert (tmp_path / "counts" / "0").read_text() == "run\n"


def _out(stdout: str = "", rc: int = 0) -> Output:
    return Output(argv=("x",), returncode=rc, stdout=stdout, stderr="")


class Calls:
    """qconf / qsub / qstat / qdel answers; records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv: list[str] | tuple[str, ...]) -> Output:
        self.calls.append(tuple(argv))
        answers = {"qconf": _out("max_aj_tasks 75000\n"), "qsub": _out("8.1-4:1\n"),
                   "qstat": _out((DATA / "qstat_array.xml").read_text()), "qdel": _out()}
        return answers[argv[0]]


def test_packed_jobs_are_pending_until_their_task_starts_them(tmp_path: Path) -> None:
    res = Resources(jobs_per_task=2)
    tasks = [_task(tmp_path, seed=s, resources=res) for s in range(8)]
    calls = Calls()
    backend = SgeBackend(options=SgeOptions(), run=calls)
    handles = backend.submit(tasks)
    assert [h.native_id for h in handles] == ["8.1@1", "8.1@2", "8.2@1", "8.2@2",
                                              "8.3@1", "8.3@2", "8.4@1", "8.4@2"]
    assert not tasks[0].job_dir.exists()  # packed: the task makes the job dirs
    for task in tasks[:2]:
        task.job_dir.mkdir(parents=True)
    # qstat_array.xml: tasks 8.1 and 8.2 run, 8.3 .. 8.6 wait.
    tasks[0].files.started.write_text("")
    tasks[0].files.exit_code.write_text("0\n")
    tasks[1].files.started.write_text("")
    states = backend.status(handles)
    assert [states[h].state for h in handles] == [
        JobState.COMPLETED, JobState.RUNNING, JobState.PENDING, JobState.PENDING,
        JobState.PENDING, JobState.PENDING, JobState.PENDING, JobState.PENDING]


def test_cancelling_some_jobs_of_a_task_stops_only_them(tmp_path: Path) -> None:
    res = Resources(jobs_per_task=2)
    tasks = [_task(tmp_path, seed=s, resources=res) for s in range(6)]
    calls = Calls()
    backend = SgeBackend(options=SgeOptions(), run=calls)
    handles = backend.submit(tasks)
    for task in tasks:
        task.job_dir.mkdir(parents=True)
    backend.cancel([handles[1]], force=True)  # a time limit: one job of task 8.1
    assert not [c for c in calls.calls if c[0] == "qdel"]  # its sibling runs on
    assert tasks[1].files.stop.exists() and not tasks[0].files.stop.exists()
    tasks[2].files.exit_code.write_text("0\n")
    backend.cancel([handles[3]])  # the only job of task 8.2 not ended yet
    backend.cancel(handles[4:])  # every job of task 8.3
    assert [c for c in calls.calls if c[0] == "qdel"] == [("qdel", "8.2"), ("qdel", "8.3")]


def test_a_packed_job_whose_task_left_the_queue_is_lost_and_rerun(tmp_path: Path) -> None:
    res = Resources(jobs_per_task=2)
    tasks = [_task(tmp_path, seed=s, resources=res) for s in range(2)]
    clock = [0.0]
    backend = SgeBackend(options=dataclasses.replace(SgeOptions(), vanish_grace_s=5),
                         run=Calls(), clock=lambda: clock[0])
    handles = backend.submit(tasks)
    gone = [JobHandle(backend="sge", job_id=t.job_id, native_id=f"9.1@{i + 1}")
            for i, t in enumerate(tasks)]
    backend.attach([(t, h.native_id) for t, h in zip(tasks, gone, strict=True)])
    assert backend.status(gone)[gone[0]].state is JobState.RUNNING  # grace: files may lag
    clock[0] = 6.0
    final = backend.status(gone)[gone[1]]
    assert final.state is JobState.FAILED and final.reason.startswith("lost: ")
    assert len(handles) == 2


def test_the_local_backend_names_the_packing_keys_unused(tmp_path: Path) -> None:
    write(tmp_path / "train.py", "print('ran')\n")
    write(tmp_path / "a.json", '{"train_config": {"lrate": 0.1}}\n')
    write(tmp_path / "meta.yaml", "meta_job_args:\n  base_train_fname: train.py\n"
          "  experiment_type: multiple-configs\n  experiment_dir: out\n"
          "multi_config_args:\n  config_fnames: [a.json]\n  num_seeds: 7\n"
          "single_job_args:\n  jobs_per_task: auto\n  job_duration_hint: 10\n")
    result = run_mle("run", "meta.yaml", "--dry-run", "--backend", "local", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "\npacking " not in result.stdout  # the local backend runs each job alone
    assert "jobs_per_task, job_duration_hint (for the sge and slurm backends)" in (
        result.stdout + result.stderr)


def test_a_running_job_stopped_alone_ends_and_its_siblings_run_on(tmp_path: Path) -> None:
    (tmp_path / "counts").mkdir()
    res = Resources(jobs_per_task=3)
    bodies = ["exit 0", "sleep 60", "exit 0"]
    tasks = [_task(tmp_path, seed=s, resources=res,
                   argv=tuple(_script_job(tmp_path, s, body)))
             for s, body in enumerate(bodies)]
    task_list = tmp_path / ".mle" / "sge" / "s_1.tasks"
    write_task_files(tasks, task_list=task_list)
    script = render_sge(tasks, task_list=task_list, name="s_1", max_running=None,
                        options=SgeOptions())
    proc = subprocess.Popen(["bash", "-c", script], cwd=tmp_path,
                            env={**os.environ, "SGE_TASK_ID": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "counts" / "1").exists():  # the sleeping job has started
            assert time.monotonic() < deadline, "the second job never started"
            time.sleep(0.1)
        tasks[1].files.stop.write_text("stopped by the launcher\n")  # as backend.cancel does
        _, err = proc.communicate(timeout=30)  # the watcher looks every 2 s
    finally:
        proc.kill()
    assert proc.returncode == 1, err
    codes = [t.files.exit_code.read_text() for t in tasks]
    assert codes == ["0\n", "143\n", "0\n"]  # TERM ended it; the third job still ran
    assert (tmp_path / "counts" / "2").read_text() == "run\n"
