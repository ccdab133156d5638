"""Finding what a submission cut short started (issue 17, item 2), piece by piece.

The end-to-end check, with the launcher killed at every step on local, SGE and Slurm, is
test_submit_faults.py; here: the token column and its migration, the scheduler lookups
(one query, arrays of other submissions ignored), the local wrapper and ``.live`` lock
lookups, and how ``decide`` sorts each kind of ``submitting`` row (a pure function).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from mle_toolbox.backends.arrays import write_task_files
from mle_toolbox.backends.base import lock_id
from mle_toolbox.backends.commands import Output, RetryPolicy
from mle_toolbox.backends.local import LocalBackend
from mle_toolbox.backends.sge import SgeBackend
from mle_toolbox.backends.sge_script import SgeOptions
from mle_toolbox.backends.slurm import SlurmBackend
from mle_toolbox.backends.slurm_script import SlurmOptions
from mle_toolbox.files.jobfiles import live_lock_held
from mle_toolbox.launcher.decide import CUT_SHORT, Facts, Followed, ResumeFlags, decide
from mle_toolbox.launcher.jobtable import JobRecord, JobTable
from mle_toolbox.spec import (
    Environment,
    JobHandle,
    JobSpec,
    JobState,
    JobStatus,
    JobTask,
    Resources,
)
from mle_toolbox.templates import template_path

pytestmark = pytest.mark.timeout(60)


def _task(root: Path, seed: int, *, run: str = "run") -> JobTask:
    return JobTask(job=JobSpec(run_id=run, seed=seed, config_hash="h"), name=f"s-{seed}",
                   argv=("true",), cwd=root, job_dir=root / "exp" / run / "jobs" / f"seed_{seed}",
                   resources=Resources(), environment=Environment(),
                   internal_dir=root / "exp" / ".mle", sweep_name="sweep")


# --- the job table -------------------------------------------------------------------

OLD_SCHEMA = """
CREATE TABLE jobs (
    job_id TEXT NOT NULL, attempt INTEGER NOT NULL, run_id TEXT NOT NULL,
    seed INTEGER NOT NULL, config_hash TEXT NOT NULL, backend TEXT NOT NULL,
    native_id TEXT, state TEXT NOT NULL, exit_code INTEGER, reason TEXT NOT NULL DEFAULT '',
    submitted REAL, ended REAL, PRIMARY KEY (job_id, attempt));
CREATE TABLE info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO jobs VALUES ('run-seed0', 1, 'run', 0, 'h', 'sge', '8.1', 'running', NULL, '',
                         1.0, NULL);
"""


def test_a_table_of_an_older_version_reads_as_before_and_gains_the_token_column(
        tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    old = JobTable.read_only(path)
    assert old is not None
    assert old.latest()["run-seed0"].token is None  # read as it is, nothing written
    old.close()
    table = JobTable.open(path)  # opened for writing: migrated
    assert table.latest()["run-seed0"].native_id == "8.1"
    table.submitting([_task(tmp_path, 1)], backend="sge", attempts=[1], token="ab12cd")
    record = table.latest()["run-seed1"]
    assert (record.state, record.native_id, record.token) == ("submitting", None, "ab12cd")
    table.found(record, native_id="9.1")
    assert table.latest()["run-seed1"].native_id == "9.1"
    assert table.latest()["run-seed1"].state == "pending"
    table.close()
    JobTable.open(path).close()  # a second open finds the column: no second ALTER


# --- cluster lookups: one queue query, by the token in the arrays' names -------------

class Queue:
    """Answers every command with its recorded output; counts the calls."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv: Sequence[str]) -> Output:
        self.calls.append(tuple(argv))
        return Output(argv=tuple(argv), returncode=0, stdout=self.answers[argv[0]], stderr="")


def _qstat(*jobs: tuple[str, str, str]) -> str:
    lines = "".join(f"<job_list state=\"pending\"><JB_job_number>{n}</JB_job_number>"
                    f"<JB_name>{name}</JB_name><JB_owner>u</JB_owner><state>qw</state>"
                    f"<slots>1</slots><tasks>{tasks}</tasks></job_list>"
                    for n, name, tasks in jobs)
    return f"<?xml version='1.0'?><job_info><queue_info></queue_info><job_info>{lines}" \
           "</job_info></job_info>"


@pytest.mark.parametrize("scheduler", ["sge", "slurm"])
def test_a_cut_submission_is_found_by_its_token_and_task_list(
        tmp_path: Path, scheduler: str) -> None:
    tasks = [_task(tmp_path, s) for s in range(3)]
    folder = tmp_path / "exp" / ".mle" / scheduler
    # The cut submission (token ab12cd) queued seeds 1 and 2; another one (ff00ff) of the
    # same sweep queued seed 0 and is not this submission's.
    write_task_files(tasks[1:], task_list=folder / "sweep_1_ab12cd.tasks")
    write_task_files(tasks[:1], task_list=folder / "sweep_1_ff00ff.tasks")
    backend: SgeBackend | SlurmBackend
    if scheduler == "sge":
        queue = Queue({"qstat": _qstat(("21", "sweep_1_ab12cd", "1-2:1"),
                                       ("20", "sweep_1_ff00ff", "1"))})
        backend = SgeBackend(options=SgeOptions(), run=queue)
        expected = {"run-seed1": "21.1", "run-seed2": "21.2"}
    else:
        queue = Queue({"squeue": "21_0|PENDING|Priority|sweep_1_ab12cd\n"
                                 "21_1|RUNNING|None|sweep_1_ab12cd\n"
                                 "20_0|RUNNING|None|sweep_1_ff00ff\n"})
        backend = SlurmBackend(options=SlurmOptions(), run=queue, sleep=lambda _: None,
                               retry=RetryPolicy(attempts=1))
        expected = {"run-seed1": "21_0", "run-seed2": "21_1"}
    internal = tmp_path / "exp" / ".mle"
    found = backend.find_submitted([(t, "ab12cd") for t in tasks], internal_dir=internal)
    assert found == expected  # seed 0 was never queued by this submission: absent
    assert len(queue.calls) == 1  # one query for all of them
    assert backend.find_submitted([(t, None) for t in tasks],
                                  internal_dir=internal) == {}  # no token recorded
    assert len(queue.calls) == 1  # ... and then no query at all


def test_packed_jobs_of_a_cut_submission_get_their_places_in_their_tasks(
        tmp_path: Path) -> None:
    """jobs_per_task 2: jobs 1-2 run in task 1, job 3 in task 2 (ids as packed_ids makes)."""
    tasks = [replace(_task(tmp_path, s), resources=Resources(jobs_per_task=2))
             for s in range(3)]
    write_task_files(tasks, task_list=tmp_path / "exp" / ".mle" / "sge" / "sweep_1_ab12cd.tasks")
    queue = Queue({"qstat": _qstat(("21", "sweep_1_ab12cd", "1-2:1"))})
    found = SgeBackend(options=SgeOptions(), run=queue).find_submitted(
        [(t, "ab12cd") for t in tasks], internal_dir=tmp_path / "exp" / ".mle")
    assert found == {"run-seed0": "21.1@1", "run-seed1": "21.1@2", "run-seed2": "21.2@1"}


# --- local lookups: the wrapper by its job dir, else a held .live lock ---------------

def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 20
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_a_local_wrapper_is_found_by_its_job_dir_and_followed_to_its_end(
        tmp_path: Path) -> None:
    running, idle = _task(tmp_path, 0), _task(tmp_path, 1)
    running.job_dir.mkdir(parents=True)
    gate, started = tmp_path / "gate", tmp_path / "started"
    code = (f"import pathlib, time\npathlib.Path({str(started)!r}).write_text('1')\n"
            f"while not pathlib.Path({str(gate)!r}).exists(): time.sleep(0.02)\n")
    # Started as an earlier launcher would have: its own session, not our child to wait on.
    wrapper = subprocess.Popen(["bash", str(template_path("job_wrapper.sh")),
                                str(running.job_dir), sys.executable, "-c", code],
                               start_new_session=True)
    try:
        _wait_for(started)
        found = LocalBackend().find_submitted([(running, None), (idle, None)],
                                              internal_dir=tmp_path / "exp" / ".mle")
        assert found == {"run-seed0": str(wrapper.pid)}
        later = LocalBackend()  # the resuming launcher follows it by that pid
        [handle] = later.attach([(running, found["run-seed0"])])
        assert later.status([handle])[handle].state is JobState.RUNNING
        gate.write_text("go")
        wrapper.wait(timeout=20)
        assert later.status([handle])[handle].state is JobState.COMPLETED
    finally:
        gate.write_text("go")
        wrapper.wait(timeout=20)


def _lock_holder(task: JobTask, *, gate: Path, held: Path) -> subprocess.Popen[bytes]:
    """A run of ``task`` with no wrapper left: it holds the lock, then writes exit code 0."""
    return subprocess.Popen([sys.executable, "-c", (
        "import fcntl, pathlib, time\n"
        f"f = open({str(task.files.live_lock)!r}, 'a'); fcntl.flock(f, fcntl.LOCK_EX)\n"
        f"pathlib.Path({str(held)!r}).write_text('1')\n"
        f"while not pathlib.Path({str(gate)!r}).exists(): time.sleep(0.02)\n"
        f"pathlib.Path({str(task.files.exit_code)!r}).write_text('0\\n')\n")])


@pytest.mark.parametrize("backend_name", ["local", "sge", "slurm"])
def test_a_run_holding_the_live_lock_without_its_wrapper_is_followed_by_the_lock(
        tmp_path: Path, backend_name: str) -> None:
    task = _task(tmp_path, 0)
    task.job_dir.mkdir(parents=True)
    lock, gate, held = task.files.live_lock, tmp_path / "gate", tmp_path / "held"
    assert not live_lock_held(lock)  # no lock file: no run ever started
    holder = _lock_holder(task, gate=gate, held=held)
    internal = tmp_path / "exp" / ".mle"

    def make() -> LocalBackend | SgeBackend | SlurmBackend:
        # Cluster backends whose queue is empty and which have no qdel / scancel to run.
        if backend_name == "sge":
            return SgeBackend(options=SgeOptions(), run=Queue({"qstat": _qstat()}))
        if backend_name == "slurm":
            return SlurmBackend(options=SlurmOptions(), run=Queue({"squeue": ""}),
                                sleep=lambda _: None, retry=RetryPolicy(attempts=1))
        return LocalBackend()

    try:
        _wait_for(held)
        assert live_lock_held(lock)
        # No token recorded (a table of an older version): only the lock says it runs.
        found = make().find_submitted([(task, None)], internal_dir=internal)
        assert found == {"run-seed0": lock_id("run-seed0")}
        backend = make()
        [handle] = backend.attach([(task, found["run-seed0"])])
        assert backend.status([handle])[handle].state is JobState.RUNNING
        backend.cancel([handle])  # no process to signal: a no-op, never an error
        gate.write_text("go")
        holder.wait(timeout=20)
        assert not live_lock_held(lock)
        status = backend.status([handle])[handle]
        assert (status.state, status.exit_code) == (JobState.COMPLETED, 0)
    finally:
        gate.write_text("go")
        holder.wait(timeout=20)
    assert make().find_submitted([(task, None)], internal_dir=internal) == {}  # over


# --- decide: each kind of submitting row ----------------------------------------------

NAMES = ("queued", "ended0", "ended3", "nothing")
JOBS = {name: JobSpec(run_id=name, seed=0, config_hash="h") for name in NAMES}


def _cut(name: str) -> JobRecord:
    return JobRecord(job_id=f"{name}-seed0", attempt=1, run_id=name, seed=0, config_hash="h",
                     backend="slurm", native_id=None, state="submitting", exit_code=None,
                     reason="", submitted=1.0, ended=None, token="ab12cd")


def test_decide_attaches_found_settles_ended_and_reruns_only_what_nothing_ran() -> None:
    ids = {name: job.job_id for name, job in JOBS.items()}
    task = JobTask(job=JOBS["queued"], name="q", argv=(), cwd=Path("/"),
                   job_dir=Path("/x/queued"), resources=Resources(), environment=Environment())
    handle = JobHandle("slurm", ids["queued"], "21_0")
    facts = Facts(old_hashes=dict.fromkeys(ids.values(), "h"),
                  exit_codes={ids["ended0"]: 0, ids["ended3"]: 3},
                  records={ids[n]: _cut(n) for n in NAMES},
                  followed={ids["queued"]: Followed(handle=handle, task=task,
                                                    status=JobStatus(JobState.PENDING))})
    plan = SimpleNamespace(jobs=tuple(JOBS.values()))
    decision = decide(plan, facts=facts, flags=ResumeFlags())  # type: ignore[arg-type]
    assert decision.attach == ((handle, task),)
    assert [(r.job_id, h.native_id) for r, h in decision.found] == [("queued-seed0", "21_0")]
    assert [j.run_id for j in decision.done] == ["ended0"]
    assert [j.run_id for j in decision.failed] == ["ended3"]  # its own failure: kept
    assert [j.run_id for j in decision.todo] == ["nothing"]
    assert decision.lost == ("nothing-seed0",)
    recorded = {r.run_id: (s.state, s.exit_code, s.reason) for r, s in decision.record}
    assert recorded == {"ended0": (JobState.COMPLETED, 0, ""),
                        "ended3": (JobState.FAILED, 3, "exit code 3"),
                        "nothing": (JobState.FAILED, None, CUT_SHORT)}
    rerun = decide(plan, facts=facts, flags=ResumeFlags(rerun_failed=True))  # type: ignore[arg-type]
    assert sorted(j.run_id for j in rerun.todo) == ["ended3", "nothing"]
