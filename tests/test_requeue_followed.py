"""A run the scheduler kills and starts again is followed to its end (issue 17, item 3).

Slurm's ``scontrol requeue`` (an admin, or preemption with requeue) kills the running
task (its wrapper records 143) and runs it again under the same id; Grid Engine's
``qmod -rj`` does the same. Before, the launcher took the killed run's exit code as
final, reported the job failed and exited while the scheduler ran it again unobserved;
the second run appended to the first run's metrics log. Now the launcher follows the
task until its last run ends, and a run that finds an earlier run's files in its job
folder archives them to ``attempts/<k>/`` and starts afresh.

The scheduler's side here is scripted from recorded output (tests/data) or, in the
tests marked ``slurm`` / ``sge``, the real daemons with the real commands.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from mle_toolbox.backends.commands import Output, RetryPolicy
from mle_toolbox.backends.sge import SgeBackend
from mle_toolbox.backends.sge_script import SgeOptions
from mle_toolbox.backends.slurm import SlurmBackend
from mle_toolbox.backends.slurm_script import SlurmOptions
from mle_toolbox.launcher.jobtable import JobTable, TableJournal
from mle_toolbox.launcher.run_types import Hooks
from mle_toolbox.launcher.runner import run_jobs
from mle_toolbox.spec import JobHandle, JobResult, JobState, JobStatus, Resources
from mle_toolbox.templates import template_path
from tests import test_slurm_real
from tests.conftest import write
from tests.test_runner_policy import DONE, FAST, Scripted
from tests.test_runner_policy import _task as scripted_task
from tests.test_sge_unit import ScriptedQueue, _out, _task

SLURM_DATA = Path(__file__).parent / "data" / "slurm"
SGE_DATA = Path(__file__).parent / "data" / "sge"
WRAPPER = str(template_path("job_wrapper.sh"))

# One step of a "training": a metrics line, status.json as MLExperiment writes it, and
# on the first run a marker, then a wait the test ends with a signal (bounded: 60 s).
FAKE_JOB = """\
import json, os, pathlib, sys, time
job = pathlib.Path(sys.argv[1])
attempt = os.environ["MLE_ATTEMPT"]
log = job.parent.parent / "logs" / f"{job.name}.jsonl"
log.parent.mkdir(exist_ok=True)
with open(log, "a") as f:
    f.write(json.dumps({"attempt": attempt}) + "\\n")
(job / "status.json").write_text(json.dumps({"state": "running", "attempt": attempt}))
print("run", attempt, flush=True)
print("err", attempt, file=sys.stderr, flush=True)
if attempt == "1":
    (job / "ready").touch()
    time.sleep(60)
"""


def _wrapped(job: Path, script: Path) -> subprocess.Popen[bytes]:
    # As the Slurm / SGE job scripts do: open the job's logs, then exec the wrapper.
    shell = ('exec >>"$1/stdout.log" 2>>"$1/stderr.log"; '
             'exec bash "$2" "$1" "$3" "$4" "$1"')
    return subprocess.Popen(["bash", "-c", shell, "job", str(job), WRAPPER, sys.executable,
                             str(script)], start_new_session=True)


def _wait_for(path: Path, proc: subprocess.Popen[bytes], *, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not path.exists():
        assert proc.poll() is None, "the first run ended before it was ready"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_a_run_started_again_in_a_used_job_folder_archives_the_earlier_run(
        tmp_path: Path) -> None:
    job = tmp_path / "exp" / "run" / "jobs" / "seed_0"
    job.mkdir(parents=True)
    script = write(tmp_path / "job.py", FAKE_JOB)
    first = _wrapped(job, script)
    _wait_for(job / "ready", first)
    os.killpg(first.pid, signal.SIGTERM)  # what Slurm's requeue does to the batch shell
    assert first.wait(timeout=30) == 143
    assert (job / "exit_code").read_text() == "143\n"

    second = _wrapped(job, script)  # the scheduler runs the same task again
    assert second.wait(timeout=60) == 0
    archive = job / "attempts" / "1"
    assert sorted(p.name for p in archive.iterdir()) == [
        "exit_code", "seed_0.jsonl", "status.json", "stderr.log", "stdout.log"]
    assert (archive / "exit_code").read_text() == "143\n"
    assert (archive / "seed_0.jsonl").read_text() == '{"attempt": "1"}\n'
    assert (archive / "stdout.log").read_text() == "run 1\n"
    assert (archive / "stderr.log").read_text() == "err 1\n"
    # The second run starts afresh: its own logs (reopened by the wrapper), metrics log,
    # status.json and exit code, and attempt 2.
    assert (job / "exit_code").read_text() == "0\n"
    assert (job.parent.parent / "logs" / "seed_0.jsonl").read_text() == '{"attempt": "2"}\n'
    assert json.loads((job / "status.json").read_text())["attempt"] == "2"
    assert (job / "stdout.log").read_text() == "run 2\n"
    assert (job / "stderr.log").read_text() == (
        "mle_toolbox: an earlier run of this job ended without asking to be requeued (run "
        f"again by the scheduler); its files are in {archive}\nerr 2\n")


def test_a_requeue_the_job_asked_for_keeps_its_metrics_log(tmp_path: Path) -> None:
    """The voluntary requeue (JOB_DIR/requeue) continues from its checkpoint: the wrapper
    archives only its logs and status, and the next run appends to the metrics log."""
    job = tmp_path / "exp" / "run" / "jobs" / "seed_0"
    job.mkdir(parents=True)
    script = write(tmp_path / "job.py", FAKE_JOB.replace(
        'if attempt == "1":\n    (job / "ready").touch()\n    time.sleep(60)\n',
        'if attempt == "1":\n    (job / "requeue").touch()\n'))
    assert _wrapped(job, script).wait(timeout=60) == 99  # exit 99: Grid Engine requeues
    assert not (job / "exit_code").exists()
    assert _wrapped(job, script).wait(timeout=60) == 0
    assert (job.parent.parent / "logs" / "seed_0.jsonl").read_text() == (
        '{"attempt": "1"}\n{"attempt": "2"}\n')
    assert sorted(p.name for p in (job / "attempts" / "1").iterdir()) == [
        "status.json", "stderr.log", "stdout.log"]
    assert (job / "stdout.log").read_text() == "run 2\n"


# ---- the launcher's side, against recorded squeue / qstat output -------------------------

def _slurm(queue: ScriptedQueue, clock: list[float]) -> SlurmBackend:
    queue.answers["scontrol"] = [_out("MaxArraySize            = 1001\n")]  # show config
    return SlurmBackend(options=SlurmOptions(vanish_grace_s=10), run=queue,
                        clock=lambda: clock[0], sleep=lambda _: None,
                        retry=RetryPolicy(attempts=2, first_delay=0.01))


def _squeue(*names: str) -> list[Output]:
    """Recorded squeue lines, their task renamed 3_0 (the id the scripted sbatch gives)."""
    return [_out((SLURM_DATA / name).read_text().replace("698_0", "3_0").replace("696_0", "3_0"))
            for name in names]


def test_slurm_follows_a_killed_task_that_it_requeued_until_its_last_run_ends(
        tmp_path: Path) -> None:
    clock = [0.0]
    pending, running = _out("3_0|PENDING|BeginTime|n\n"), _out("3_0|RUNNING|None|n\n")
    polls = [*_squeue("squeue_requeue_completing.txt"), pending, pending, running, running,
             _out("")]
    queue = ScriptedQueue({"sbatch": [_out("3\n")], "squeue": polls})
    backend = _slurm(queue, clock)
    [task] = [_task(tmp_path)]
    [handle] = backend.submit([task])
    task.files.exit_code.write_text("143\n")  # the wrapper of the killed run
    seen = []
    for now, archived in ((1, False), (2, False), (30, False), (31, False), (60, True)):
        clock[0] = now
        if archived:  # the new run's wrapper moved the old files away
            task.files.exit_code.unlink()
        seen.append(backend.status([handle])[handle])
    assert [s.state for s in seen] == [JobState.RUNNING, JobState.PENDING, JobState.PENDING,
                                       JobState.RUNNING, JobState.RUNNING]
    assert seen[1].reason == "requeued by Slurm after exit code 143"
    task.files.exit_code.write_text("0\n")
    final = backend.status([handle])[handle]
    assert (final.state, final.exit_code) == (JobState.COMPLETED, 0)
    # One squeue per poll; scontrol was asked only for the cluster's MaxArraySize.
    assert [c[0] for c in queue.calls] == ["scontrol", "sbatch"] + ["squeue"] * 6


def test_slurm_takes_a_kill_as_final_once_the_task_leaves_the_queue_or_after_the_grace(
        tmp_path: Path) -> None:
    clock = [0.0]
    queue = ScriptedQueue({"sbatch": [_out("3\n")], "squeue": [
        _out("3_0|COMPLETING|None|n\n3_1|RUNNING|None|n\n"),
        _out("3_1|COMPLETING|None|n\n"), _out("3_1|COMPLETING|None|n\n")]})
    backend = _slurm(queue, clock)
    tasks = [_task(tmp_path, seed=s) for s in range(2)]
    handles = backend.submit(tasks)
    for task in tasks:
        task.files.exit_code.write_text("143\n")  # scancel: SIGTERM
    assert {s.state for s in backend.status(handles).values()} == {JobState.RUNNING}
    clock[0] = 5.0
    states = backend.status(handles)  # 3_0 left the queue: cancelled, final
    assert states[handles[0]].reason == "killed by signal SIGTERM (exit code 143)"
    assert states[handles[1]].state is JobState.RUNNING  # 3_1 is still being cleaned up
    clock[0] = 11.0  # stuck in COMPLETING for longer than the grace: the exit code stands
    assert backend.status(handles[1:])[handles[1]].exit_code == 143


def test_any_exit_code_of_a_task_listed_pending_again_waits_for_the_next_run(
        tmp_path: Path) -> None:
    # A run that ended on its own (exit 0 or 3) just before an admin's requeue: Slurm
    # still runs the task again, so the exit code is not final while it is pending.
    clock = [0.0]
    queue = ScriptedQueue({"sbatch": [_out("3\n")], "squeue": [
        _out("3_0|PENDING|BeginTime|n\n3_1|RUNNING|None|n\n"), _out("")]})
    backend = _slurm(queue, clock)
    tasks = [_task(tmp_path, seed=s) for s in range(2)]
    handles = backend.submit(tasks)
    for task in tasks:
        task.files.exit_code.write_text("3\n")
    states = backend.status(handles)
    assert states[handles[0]].reason == "requeued by Slurm after exit code 3"
    assert states[handles[1]].exit_code == 3  # running (finishing): an ordinary exit is final
    assert backend.status(handles[:1])[handles[0]].exit_code == 3  # left the queue


def test_slurm_cancels_a_requeued_task_held_past_the_grace(tmp_path: Path) -> None:
    clock = [0.0]
    queue = ScriptedQueue({"sbatch": [_out("3\n")],
                           "squeue": _squeue(*["squeue_requeue_held.txt"] * 3),
                           "scancel": [_out()]})
    backend = _slurm(queue, clock)
    [task] = [_task(tmp_path)]
    [handle] = backend.submit([task])
    task.files.exit_code.write_text("143\n")
    assert backend.status([handle])[handle].reason == (
        "requeued by Slurm after exit code 143, held (job requeued in held state)")
    clock[0] = 10.0
    assert backend.status([handle])[handle].state is JobState.PENDING
    assert ("scancel", "3_0") not in queue.calls
    clock[0] = 10.5
    final = backend.status([handle])[handle]
    assert (final.state, final.exit_code) == (JobState.FAILED, 143)
    assert final.reason == (
        "requeued by Slurm after exit code 143 and held (job requeued in held state) for "
        "over 10s: cancelled, so that no run of it goes on unobserved (mle run "
        "--rerun-failed runs it again)")
    assert ("scancel", "3_0") in queue.calls


def test_sge_follows_a_task_that_qmod_rj_rescheduled(tmp_path: Path) -> None:
    clock = [0.0]
    rescheduled = (SGE_DATA / "qstat_xml_rescheduled.xml").read_text().replace(
        "<JB_job_number>400<", "<JB_job_number>41<")
    running = rescheduled.replace("<state>Rq</state>", "<state>Rr</state>")
    queue = ScriptedQueue({"qconf": [_out("max_aj_tasks 75000\n")], "qsub": [_out("41.1-1:1\n")],
                           "qstat": [_out(rescheduled), _out(running), _out("<job_info/>")]})
    backend = SgeBackend(options=SgeOptions(vanish_grace_s=10), run=queue,
                         clock=lambda: clock[0], sleep=lambda _: None)
    [task] = [_task(tmp_path)]
    [handle] = backend.submit([task])
    task.files.exit_code.write_text("140\n")  # -notify's SIGUSR2 stopped the run
    status = backend.status([handle])[handle]
    assert (status.state, status.reason) == (
        JobState.PENDING, "rescheduled by Grid Engine after exit code 140")
    task.files.exit_code.unlink()  # the new run archived it
    assert backend.status([handle])[handle].state is JobState.RUNNING
    task.files.exit_code.write_text("0\n")
    assert backend.status([handle])[handle].state is JobState.COMPLETED


@pytest.mark.parametrize("followed_by", ["its launcher", "a resumed launcher"])
def test_the_job_table_records_each_run_the_scheduler_started(
        tmp_path: Path, followed_by: str) -> None:
    table = JobTable.open(tmp_path / "jobs.sqlite")
    journal = TableJournal(table, backend="slurm")
    task = _task(tmp_path)
    task.job_dir.mkdir(parents=True)
    journal.submitting([task])
    journal.submitted([JobHandle(backend="slurm", job_id=task.job_id, native_id="3_0")])
    if followed_by == "a resumed launcher":  # re-attached by recorded native id
        journal = TableJournal(table, backend="slurm")
        journal.adopt(table.latest().values(), job_dirs={task.job_id: task.job_dir})
    # What the wrapper leaves after a requeue: run 1 archived, run 2's exit code.
    (task.job_dir / "attempts" / "1").mkdir(parents=True)
    (task.job_dir / "attempts" / "1" / "exit_code").write_text("143\n")
    task.files.exit_code.write_text("0\n")
    journal.finished(JobResult(job_id=task.job_id, state=JobState.COMPLETED, exit_code=0,
                               reason="", duration_s=1.0))
    rows = [(r.attempt, r.native_id, r.state, r.exit_code, r.reason)
            for r in table.records(task.job_id)]
    assert rows == [(1, "3_0", "failed", 143, "run again by the scheduler as attempt 2"),
                    (2, "3_0", "completed", 0, "")]
    table.close()


# ---- the real schedulers: the task is requeued by the real command -------------------------

KILLED_ONCE = """\
import time
from pathlib import Path
from mle_toolbox import MLExperiment

mle = MLExperiment()
for step in range(3):
    mle.log.update({"step": step}, {"attempt": float(mle.attempt)}, save=True)
print("attempt", mle.attempt, flush=True)
if mle.attempt == 1:
    (Path(mle.experiment_dir) / "ready").touch()
    for _ in range(1200):  # the test requeues this run; bounded, and a failure if not
        time.sleep(0.1)
    raise SystemExit(3)
"""

REQUEUE_COMMAND = {"slurm": ["scontrol", "requeue"]}


# Grid Engine is covered by the recorded-output test above, not here: on this SGE 8.1.9
# about one `qmod -f -rj` in four was recorded by the qmaster ("rescheduling job") but
# never reached the execd, so the run went on (and the same for the next tries); a test
# built on it fails by chance. Where the reschedule took effect, the launcher followed
# the second run and every assertion below held.
@pytest.mark.slurm
@pytest.mark.timeout(240)
@pytest.mark.skipif(not test_slurm_real.HAVE_SLURM, reason="no Slurm")
def test_a_task_the_scheduler_requeues_is_followed_and_its_second_run_counts(
        project: Path) -> None:
    backend, name = "slurm", "rqslurm"
    write(project / "train.py", KILLED_ONCE)
    write(project / "meta.yaml", f"""\
        meta_job_args:
          project_name: {name}
          experiment_type: multiple-configs
          base_train_fname: train.py
          experiment_dir: out
        multi_config_args:
          config_fnames: [configs/a.json]
          num_seeds: 1
        """)
    launcher = subprocess.Popen([sys.executable, "-m", "mle_toolbox", "run", "meta.yaml",
                                 "--backend", backend], cwd=project, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        run_dir = _await_first_run(project, launcher)
        native = _native_id(project)
        _requeue(backend, native, job=run_dir / "jobs" / "seed_0")
        out, err = launcher.communicate(timeout=200)
        returned = time.time()
    finally:
        if launcher.poll() is None:
            launcher.kill()
            subprocess.run([sys.executable, "-m", "mle_toolbox", "cancel", "out", "--force"],
                           cwd=project, capture_output=True, timeout=60, check=False)
    assert launcher.returncode == 0, out + err
    job = run_dir / "jobs" / "seed_0"
    status = json.loads((job / "status.json").read_text())
    assert (status["state"], status["attempt"]) == ("completed", 2)
    assert returned >= status["end"]  # the launcher returned after the second run ended
    assert (job / "exit_code").read_text() == "0\n"
    assert (job / "stdout.log").read_text() == "attempt 2\n"
    rows = [json.loads(line) for line in (run_dir / "logs" / "seed_0.jsonl").read_text()
            .splitlines()]  # exactly the second run's entries
    assert [(r["time"]["step"], r["stats"]["attempt"]) for r in rows] == [
        (0, 2.0), (1, 2.0), (2, 2.0)]
    first = job / "attempts" / "1"
    assert (first / "stdout.log").read_text() == "attempt 1\n"
    assert (first / "exit_code").read_text() == "143\n"  # Slurm's SIGTERM
    assert [json.loads(line)["stats"]["attempt"] for line in
            (first / "seed_0.jsonl").read_text().splitlines()] == [1.0, 1.0, 1.0]
    attempt = json.loads((run_dir / "summary.json").read_text())["metrics"]["attempt"]
    assert (attempt["final"]["per_seed"], attempt["best"]["mean"]) == ({"0": 2.0}, 2.0)
    report = json.loads((project / "out" / "report.json").read_text())
    assert report["counts"] == {"completed": 1}
    assert "a-seed0: " in err and "; followed until its last run ends" in err, err
    assert _table(project) == [(1, native, "failed", 143,
                                "run again by the scheduler as attempt 2"),
                               (2, native, "completed", 0, "")]


def _requeue(backend: str, native: str, *, job: Path) -> None:
    """Requeue the running task with the scheduler's own command until its first run is
    seen killed (its exit code, or the next run's archive): at most 3 tries."""
    for _ in range(3):
        requeue = subprocess.run([*REQUEUE_COMMAND[backend], native], capture_output=True,
                                 text=True, timeout=30, check=False)
        assert requeue.returncode == 0, requeue.stdout + requeue.stderr
        assert "rror" not in requeue.stdout + requeue.stderr, requeue.stdout + requeue.stderr
        deadline = time.monotonic() + 30  # SGE's -notify: SIGUSR2 after about 10 s
        while time.monotonic() < deadline:
            if (job / "exit_code").exists() or (job / "attempts").exists():
                return
            time.sleep(0.2)
    raise AssertionError(f"{' '.join(REQUEUE_COMMAND[backend])} {native} never took effect")


def _await_first_run(project: Path, launcher: subprocess.Popen[str]) -> Path:
    deadline = time.monotonic() + 120
    while not (ready := list((project / "out").glob("*/ready"))):
        if launcher.poll() is not None:
            raise AssertionError("the launcher ended before the first run was ready: "
                                 + "".join(launcher.communicate()))
        assert time.monotonic() < deadline, "the first run never started"
        time.sleep(0.2)
    return ready[0].parent


def _native_id(project: Path) -> str:
    import sqlite3

    db = sqlite3.connect(project / "out" / ".mle" / "jobs.sqlite")
    try:
        [(native,)] = db.execute("SELECT native_id FROM jobs").fetchall()
    finally:
        db.close()
    assert native
    return str(native)


def _table(project: Path) -> list[tuple[object, ...]]:
    import sqlite3

    db = sqlite3.connect(project / "out" / ".mle" / "jobs.sqlite")
    try:
        return [tuple(r) for r in db.execute(
            "SELECT attempt, native_id, state, exit_code, reason FROM jobs ORDER BY attempt")]
    finally:
        db.close()


def test_the_runner_says_once_that_a_job_was_requeued_and_restarts_its_time_limit(
        tmp_path: Path) -> None:
    """Figure: a job with a 10 s limit runs 8 s, is requeued (pending 30 s), runs 8 s
    again: not timed out (the limit counts from its second start), 1 submission, and
    the requeue is told once."""
    running, back = JobStatus(JobState.RUNNING), JobStatus(
        JobState.PENDING, reason="requeued by Slurm after exit code 143")
    backend = Scripted(script={"r-seed0": [running, running, back, back, running, running,
                                           DONE]})
    at_poll = [0.0, 0.0, 8.0, 9.0, 39.0, 40.0, 48.0, 48.0]  # the time of each poll
    told: list[str] = []
    task = replace(scripted_task(tmp_path, 0), resources=Resources(time_limit_s=10))
    report = run_jobs([task], backend=backend, max_running=1, poll=FAST,
                      clock=lambda: at_poll[backend.polls], hooks=Hooks(notify=told.append))
    assert [(r.state, r.exit_code) for r in report.results] == [(JobState.COMPLETED, 0)]
    assert backend.submissions == ["r-seed0"] and backend.cancelled == []
    assert told == ["r-seed0: requeued by Slurm after exit code 143; followed until its "
                    "last run ends"]
