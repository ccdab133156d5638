"""Runner policies on a scripted backend: retries, requeues, detach, journal order."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import ClassVar

import pytest

from mle_toolbox.launcher.jobtable import JobTable, TableJournal
from mle_toolbox.launcher.run_types import (
    MAX_REQUEUES,
    Hooks,
    OnInterrupt,
    Policy,
    PollPolicy,
)
from mle_toolbox.launcher.runner import run_jobs
from mle_toolbox.spec import (
    Environment,
    JobHandle,
    JobResult,
    JobSpec,
    JobState,
    JobStatus,
    JobTask,
    Resources,
)

FAST = PollPolicy(initial=0.0, maximum=0.0, cancel_grace=0.0)


def _task(root: Path, seed: int) -> JobTask:
    job = JobSpec(run_id="r", seed=seed, config_hash="h")
    return JobTask(job=job, name=job.job_id, argv=("true",), cwd=root,
                   job_dir=root / "r" / "jobs" / f"seed_{seed}", resources=Resources(),
                   environment=Environment())


@dataclass
class Scripted:
    """Each submission of a job ends with the next status in its script."""

    name: ClassVar[str] = "scripted"
    throttles: ClassVar[bool] = False
    script: dict[str, list[JobStatus]]
    interrupt_at_poll: int | None = None
    submissions: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    polls: int = 0

    def submit(self, tasks: Sequence[JobTask], *, max_running: int | None = None,
               token: str | None = None) -> list[JobHandle]:
        self.submissions += [t.job_id for t in tasks]
        return [JobHandle(self.name, t.job_id, f"{t.job_id}#{len(self.submissions)}")
                for t in tasks]

    def status(self, handles: Sequence[JobHandle]) -> Mapping[JobHandle, JobStatus]:
        self.polls += 1
        if self.polls == self.interrupt_at_poll:
            raise KeyboardInterrupt
        if self.interrupt_at_poll is not None:
            return {h: JobStatus(JobState.RUNNING) for h in handles}
        return {h: self.script[h.job_id].pop(0) for h in handles}

    def cancel(self, handles: Sequence[JobHandle], *, force: bool = False) -> None:
        self.cancelled += [h.job_id for h in handles]

    def release(self, handles: Sequence[JobHandle]) -> None:
        self.released += [h.job_id for h in handles]

    def wait_fds(self) -> Sequence[int]:
        return ()

    def default_max_running(self, resources: Resources, *, jobs: int) -> int:
        return jobs

    def attach(self, jobs: Sequence[tuple[JobTask, str]]) -> list[JobHandle]:
        return [JobHandle(self.name, t.job_id, n) for t, n in jobs]


FAIL = JobStatus(JobState.FAILED, exit_code=1, reason="exit code 1")
DONE = JobStatus(JobState.COMPLETED, exit_code=0)
REQUEUE = JobStatus(JobState.FAILED, exit_code=99, reason="asked to be requeued", requeue=True)
EXIT_99 = JobStatus(JobState.FAILED, exit_code=99, reason="exit code 99")  # the script's own


def test_retries_are_bounded_and_each_retry_is_announced(tmp_path: Path) -> None:
    """Figure: max_retries=2 -> 3 submissions of a job that always fails, then FAILED."""
    backend = Scripted(script={"r-seed0": [FAIL, FAIL, FAIL], "r-seed1": [FAIL, DONE]})
    retried: list[str] = []
    report = run_jobs([_task(tmp_path, 0), _task(tmp_path, 1)], backend=backend,
                      max_running=2, poll=FAST, policy=Policy(max_retries=2),
                      hooks=Hooks(on_retry=lambda r, t: retried.append(r.job_id)))
    assert backend.submissions.count("r-seed0") == 3
    assert backend.submissions.count("r-seed1") == 2
    assert [r.state for r in report.results] == [JobState.FAILED, JobState.COMPLETED]
    assert sorted(retried) == ["r-seed0", "r-seed0", "r-seed1"]


def test_requeues_do_not_use_retries_and_are_bounded(tmp_path: Path) -> None:
    """Figure: a job requeued forever is resubmitted MAX_REQUEUES times, then FAILED."""
    backend = Scripted(script={"r-seed0": [REQUEUE] * (MAX_REQUEUES + 1)})
    report = run_jobs([_task(tmp_path, 0)], backend=backend, max_running=1, poll=FAST)
    assert backend.submissions.count("r-seed0") == MAX_REQUEUES + 1
    assert report.results[0].exit_code == 99 and report.results[0].state is JobState.FAILED


def test_an_exit_99_the_job_did_not_ask_for_is_an_ordinary_failure(tmp_path: Path) -> None:
    """Figure: a script's own exit 99 is submitted once, not requeued 20 times."""
    backend = Scripted(script={"r-seed0": [EXIT_99] * (MAX_REQUEUES + 1)})
    report = run_jobs([_task(tmp_path, 0)], backend=backend, max_running=1, poll=FAST)
    assert backend.submissions.count("r-seed0") == 1
    assert report.results[0].exit_code == 99 and report.results[0].state is JobState.FAILED
    assert report.results[0].reason == "exit code 99"


def test_first_interrupt_detaches_from_live_jobs(tmp_path: Path) -> None:
    """Figure: 2 live jobs detached, 0 cancelled, 1 queued job dropped as cancelled."""
    backend = Scripted(script={}, interrupt_at_poll=2)
    report = run_jobs([_task(tmp_path, s) for s in range(3)], backend=backend, max_running=2,
                      poll=FAST, policy=Policy(on_interrupt=OnInterrupt.DETACH,
                                               detach_grace_s=0.05))
    assert report.interrupted and report.detached == ["r-seed0", "r-seed1"]
    assert backend.cancelled == []
    assert [(r.job_id, r.state) for r in report.results] == [("r-seed2", JobState.CANCELLED)]


def test_second_interrupt_within_the_grace_cancels(tmp_path: Path) -> None:
    """Figure: 2 live jobs, second Ctrl+C during the grace -> both cancelled, 0 detached."""
    backend = Scripted(script={}, interrupt_at_poll=2)

    def second_ctrl_c(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, second_ctrl_c)
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    try:
        report = run_jobs([_task(tmp_path, s) for s in range(2)], backend=backend,
                          max_running=2, poll=FAST,
                          policy=Policy(on_interrupt=OnInterrupt.DETACH, detach_grace_s=5))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert report.detached == []
    # SIGTERM first, then SIGKILL for what is still live after the cancel grace
    assert sorted(backend.cancelled) == ["r-seed0", "r-seed0", "r-seed1", "r-seed1"]
    assert {r.state for r in report.results} == {JobState.CANCELLED}


def test_journal_records_before_and_after_submission(tmp_path: Path) -> None:
    """Figure: a crash inside submit leaves 1 row per job in state 'submitting'."""

    class Crashing(Scripted):
        def submit(self, tasks: Sequence[JobTask], *, max_running: int | None = None,
                   token: str | None = None) -> list[JobHandle]:
            raise RuntimeError("launcher dies here")

    table = JobTable.open(tmp_path / "jobs.sqlite")
    journal = TableJournal(table, backend="scripted")
    with pytest.raises(RuntimeError):
        run_jobs([_task(tmp_path, 0), _task(tmp_path, 1)], backend=Crashing(script={}),
                 max_running=2, poll=FAST, hooks=Hooks(journal=journal))
    rows = table.latest()
    assert {k: (r.state, r.native_id) for k, r in rows.items()} == {
        "r-seed0": ("submitting", None), "r-seed1": ("submitting", None)}
    assert all(r.live for r in rows.values())
    # One token for the submission, recorded before the backend was asked: a resume
    # finds by it what the submission started.
    [token] = {r.token for r in rows.values()}
    assert token is not None and len(token) == 6
    ok = Scripted(script={"r-seed0": [DONE]})
    results: list[JobResult] = []
    run_jobs([_task(tmp_path, 0)], backend=ok, max_running=1, poll=FAST,
             hooks=Hooks(journal=journal, on_result=results.append))
    [record] = table.records("r-seed0")
    assert (record.state, record.native_id, record.exit_code) == ("completed", "r-seed0#1", 0)
    assert record.ended is not None and record.submitted is not None
    table.close()


def test_ctrl_c_during_a_submission_waits_until_the_job_is_recorded(tmp_path: Path) -> None:
    """Figure: Ctrl+C inside submit -> 1 job recorded with its native id and cancelled,
    0 jobs forgotten."""

    class InterruptedWhileSubmitting(Scripted):
        def submit(self, tasks: Sequence[JobTask], *, max_running: int | None = None,
                   token: str | None = None) -> list[JobHandle]:
            os.kill(os.getpid(), signal.SIGINT)  # arrives while qsub would be running
            return super().submit(tasks, max_running=max_running)

    table = JobTable.open(tmp_path / "jobs.sqlite")
    backend = InterruptedWhileSubmitting(script={})
    report = run_jobs([_task(tmp_path, 0)], backend=backend, max_running=1, poll=FAST,
                      hooks=Hooks(journal=TableJournal(table, backend="scripted")))
    assert report.interrupted
    assert backend.cancelled == ["r-seed0", "r-seed0"]  # TERM, then KILL after the grace
    [record] = table.records("r-seed0")
    assert (record.native_id, record.state) == ("r-seed0#1", "cancelled")
    table.close()


def test_time_limit_of_a_reattached_job_counts_from_its_own_start(tmp_path: Path) -> None:
    """Figure: a job started 100 s ago with a 10 s limit, re-attached: timed out at the
    first poll (1 status query), not 10 s after the re-attach."""
    task = replace(_task(tmp_path, 0), resources=Resources(time_limit_s=10))
    task.job_dir.mkdir(parents=True)
    (task.job_dir / "status.json").write_text(json.dumps({"start": time.time() - 100}))
    running = JobStatus(JobState.RUNNING)
    backend = Scripted(script={"r-seed0": [running, running, DONE]})
    [handle] = backend.attach([(task, "42")])
    report = run_jobs([], backend=backend, max_running=1, poll=FAST, attached=[(handle, task)])
    assert [(r.state, r.reason) for r in report.results] == [
        (JobState.FAILED, "timed out after 00:00:10 (time_per_job)")]
    assert backend.polls == 1 and backend.cancelled == ["r-seed0"]


def test_a_poll_with_no_free_slot_leaves_the_signal_handlers_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl+C is held only around a submission (issue 18): a loop pass whose slots are all
    # taken submits nothing and swaps no handlers (six signal.signal calls per pass before).
    swaps: list[int] = []
    real = signal.signal

    def counted(signum: int, handler: object) -> object:
        swaps.append(signum)
        return real(signum, handler)  # type: ignore[arg-type]

    monkeypatch.setattr(signal, "signal", counted)
    running = JobStatus(JobState.RUNNING)
    backend = Scripted(script={"r-seed0": [running] * 5 + [DONE], "r-seed1": [DONE]})
    report = run_jobs([_task(tmp_path, 0), _task(tmp_path, 1)], backend=backend,
                      max_running=1, poll=FAST)
    assert [r.state for r in report.results] == [JobState.COMPLETED, JobState.COMPLETED]
    assert backend.submissions == ["r-seed0", "r-seed1"]
    assert backend.polls == 7  # 6 of the first job, 1 of the second
    assert len(swaps) == 2 * 6  # two submissions: SIGINT, SIGTERM, SIGHUP held and put back


def test_a_submission_the_table_cannot_record_is_marked_cancelled_and_cancelled(
        tmp_path: Path) -> None:
    """Figure: recording the native ids fails (a full disk) -> both jobs of the batch get
    their ``cancelled`` marker before the backend cancels them, and the error goes up."""
    from mle_toolbox.errors import DiskFullError

    table = JobTable.open(tmp_path / "jobs.sqlite")

    class FullAfterSubmit(TableJournal):
        def submitted(self, handles: Sequence[JobHandle]) -> None:
            raise DiskFullError(tmp_path / "jobs.sqlite", what="cannot write the job table")

    tasks = [_task(tmp_path, 0), _task(tmp_path, 1)]
    for task in tasks:
        task.job_dir.mkdir(parents=True)
    marked_when_cancelled: list[bool] = []

    class Watching(Scripted):
        def cancel(self, handles: Sequence[JobHandle], *, force: bool = False) -> None:
            marked_when_cancelled.extend(t.files.cancelled.exists() for t in tasks)
            super().cancel(handles, force=force)

    backend = Watching(script={})
    with pytest.raises(DiskFullError):
        run_jobs(tasks, backend=backend, max_running=2, poll=FAST,
                 hooks=Hooks(journal=FullAfterSubmit(table, backend="scripted")))
    assert marked_when_cancelled == [True, True]
    assert sorted(backend.cancelled) == ["r-seed0", "r-seed1"]
    assert backend.released == []  # held arrays of cluster backends never start
    table.close()


def test_a_submission_is_released_only_after_its_ids_are_recorded(tmp_path: Path) -> None:
    """Cluster arrays are submitted held: the runner releases a batch right after the
    table recorded its native ids, never before."""
    table = JobTable.open(tmp_path / "jobs.sqlite")
    order: list[str] = []

    class Recording(TableJournal):
        def submitted(self, handles: Sequence[JobHandle]) -> None:
            super().submitted(handles)
            order.append("recorded " + ",".join(
                r.native_id or "" for h in handles for r in table.records(h.job_id)))

    class Held(Scripted):
        def release(self, handles: Sequence[JobHandle]) -> None:
            order.append("released " + ",".join(h.native_id for h in handles))
            super().release(handles)

    backend = Held(script={"r-seed0": [DONE], "r-seed1": [DONE]})
    report = run_jobs([_task(tmp_path, 0), _task(tmp_path, 1)], backend=backend,
                      max_running=2, poll=FAST,
                      hooks=Hooks(journal=Recording(table, backend="scripted")))
    assert [r.state for r in report.results] == [JobState.COMPLETED] * 2
    assert order == ["recorded r-seed0#2,r-seed1#2", "released r-seed0#2,r-seed1#2"]
    table.close()


def test_reattached_jobs_are_released_first(tmp_path: Path) -> None:
    """A launcher killed between submitting and releasing left its arrays held: the next
    launch releases what it re-attaches before it polls."""
    task = _task(tmp_path, 0)
    backend = Scripted(script={"r-seed0": [DONE]})
    [handle] = backend.attach([(task, "42")])
    report = run_jobs([], backend=backend, max_running=1, poll=FAST, attached=[(handle, task)])
    assert [r.state for r in report.results] == [JobState.COMPLETED]
    assert backend.released == ["r-seed0"] and backend.polls == 1
