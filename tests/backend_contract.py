"""The contract every backend keeps, as plain functions over a backend factory.

test_backend_contract.py runs them for local, sge (qsub) and sge-drmaa. Only the
Backend protocol and the runner are used, so a new backend (Slurm) adds one line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from mle_toolbox.backends.base import Backend
from mle_toolbox.launcher.run_types import PollPolicy
from mle_toolbox.launcher.runner import run_jobs
from mle_toolbox.spec import (
    Environment,
    JobHandle,
    JobSpec,
    JobState,
    JobStatus,
    JobTask,
    Resources,
)

Factory = Callable[[], Backend]
FAST = PollPolicy(initial=0.1, factor=1.5, maximum=0.5, cancel_grace=20)


def task(root: Path, seed: int, code: str, *, run: str = "contract") -> JobTask:
    """A job running ``python -c code`` with its files under ``root``."""
    import sys

    return JobTask(job=JobSpec(run_id=run, seed=seed, config_hash="h"),
                   name=f"contract-{seed}", argv=(sys.executable, "-c", code), cwd=root,
                   job_dir=root / run / "jobs" / f"seed_{seed}", resources=Resources(),
                   environment=Environment(), env=(("PYTHONUNBUFFERED", "1"),),
                   internal_dir=root / ".mle", sweep_name="contract")


def one_job_completes_with_its_output_in_files(make: Factory, root: Path) -> None:
    job = task(root, 0, "import sys; print('to out'); print('to err', file=sys.stderr)")
    report = run_jobs([job], backend=make(), max_running=1, poll=FAST)
    assert [r.state for r in report.results] == [JobState.COMPLETED]
    assert job.files.stdout.read_text() == "to out\n"
    assert job.files.stderr.read_text() == "to err\n"
    assert job.files.exit_code.read_text() == "0\n"


def many_jobs_stay_within_the_cap(make: Factory, root: Path) -> None:
    code = "import time; s = time.time(); time.sleep(0.6); print(s, time.time())"
    jobs = [task(root, seed, code) for seed in range(4)]
    report = run_jobs(jobs, backend=make(), max_running=2, poll=FAST)
    assert report.count(JobState.COMPLETED) == 4
    spans = sorted(tuple(map(float, j.files.stdout.read_text().split())) for j in jobs)
    for moment, _ in spans:  # never more than 2 running at once
        assert sum(start <= moment < end for start, end in spans) <= 2


def a_failing_job_is_failed_not_hung(make: Factory, root: Path) -> None:
    jobs = [task(root, 0, "import sys; sys.exit(7)"), task(root, 1, "pass")]
    started = time.monotonic()
    report = run_jobs(jobs, backend=make(), max_running=2, poll=FAST)
    assert time.monotonic() - started < 60
    failed, done = report.results
    assert (failed.state, failed.exit_code, failed.reason) == (JobState.FAILED, 7,
                                                               "exit code 7")
    assert done.state is JobState.COMPLETED


def cancel_stops_a_running_job_and_is_idempotent(make: Factory, root: Path) -> None:
    backend = make()
    job = task(root, 0, "import time; print('started', flush=True); time.sleep(300)")
    [handle] = backend.submit([job], max_running=1)
    backend.release([handle])  # cluster arrays go in held (the runner releases them)
    deadline = time.monotonic() + 60
    while backend.status([handle])[handle].state is not JobState.RUNNING \
            or not job.files.stdout.exists() or "started" not in job.files.stdout.read_text():
        assert time.monotonic() < deadline, "job never ran"
        time.sleep(0.2)
    backend.cancel([handle])
    backend.cancel([handle])  # twice is harmless
    state = final_status(backend, handle, within=60, what="cancelled job kept running")
    assert state.state is JobState.FAILED  # stopped by a signal; the runner calls it CANCELLED
    backend.cancel([handle])  # and after it ended


def final_status(backend: Backend, handle: JobHandle, *, within: float,
                 what: str) -> JobStatus:
    """Poll ``handle`` until its status is final; fails with ``what`` after ``within`` s."""
    deadline = time.monotonic() + within
    while not (state := backend.status([handle])[handle]).state.is_final:
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return state


def status_answers_for_every_handle_at_once(make: Factory, root: Path) -> None:
    backend = make()
    jobs = [task(root, seed, "pass") for seed in range(3)]
    handles = backend.submit(jobs, max_running=3)
    backend.release(handles)
    deadline = time.monotonic() + 60
    while True:
        statuses = backend.status(handles)
        assert set(statuses) == set(handles)
        if all(s.state.is_final for s in statuses.values()):
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert {s.state for s in statuses.values()} == {JobState.COMPLETED}
    assert backend.status(handles) == statuses  # final states stay final


def another_backend_attaches_by_native_id(make: Factory, root: Path) -> None:
    """What resume and mle cancel rely on: a fresh backend follows and stops jobs it
    did not submit, given only (task, recorded native id)."""
    short = task(root, 0, "import time; time.sleep(1); print('done')")
    long = task(root, 1, "import time; print('started', flush=True); time.sleep(300)")
    first = make().submit([short, long], max_running=2)
    later = make()
    handles = later.attach([(short, first[0].native_id), (long, first[1].native_id)])
    assert [(h.job_id, h.native_id) for h in handles] == [
        (h.job_id, h.native_id) for h in first]
    later.release(handles)  # as a resume does: the first launcher died before releasing
    try:
        _follow_and_cancel(later, handles, long)
    finally:
        later.cancel(handles, force=True)  # never leave a job in a shared queue


def _follow_and_cancel(later: Backend, handles: list[JobHandle], long: JobTask) -> None:
    # A shared cluster may hold the array in its queue for a while.
    deadline = time.monotonic() + 120
    while not later.status(handles[:1])[handles[0]].state.is_final:
        assert time.monotonic() < deadline, "attached job never ended"
        time.sleep(0.2)
    assert later.status(handles[:1])[handles[0]].state is JobState.COMPLETED
    while "started" not in (long.files.stdout.read_text() if long.files.stdout.exists() else ""):
        assert time.monotonic() < deadline, "long job never ran"
        time.sleep(0.2)
    later.cancel(handles[1:])
    while not (state := later.status(handles[1:])[handles[1]]).state.is_final:
        assert time.monotonic() < deadline, "job cancelled through attach kept running"
        time.sleep(0.2)
    assert state.state is JobState.FAILED

CONTRACT = [one_job_completes_with_its_output_in_files, many_jobs_stay_within_the_cap,
            a_failing_job_is_failed_not_hung, cancel_stops_a_running_job_and_is_idempotent,
            status_answers_for_every_handle_at_once, another_backend_attaches_by_native_id]
