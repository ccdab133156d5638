"""decide() is a pure function of gathered facts: what to skip, attach, run, cancel."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from mle_toolbox.launcher.decide import Facts, Followed, ResumeFlags, decide
from mle_toolbox.launcher.jobtable import JobRecord
from mle_toolbox.spec import (
    Environment,
    JobHandle,
    JobSpec,
    JobState,
    JobStatus,
    JobTask,
    Resources,
)

JOBS = {name: JobSpec(run_id=name, seed=0, config_hash="new") for name in
        ("done", "failed", "changed", "cut", "running", "ended", "fresh")}


def _record(name: str, *, state: str, native: str | None = "7", config: str = "new",
            reason: str = "") -> JobRecord:
    return JobRecord(job_id=f"{name}-seed0", attempt=1, run_id=name, seed=0,
                     config_hash=config, backend="sge", native_id=native, state=state,
                     exit_code=None, reason=reason, submitted=None, ended=None)


def _followed(name: str, state: JobState) -> Followed:
    job = JOBS[name]
    task = JobTask(job=job, name=name, argv=(), cwd=Path("/"), job_dir=Path(f"/x/{name}"),
                   resources=Resources(), environment=Environment())
    return Followed(handle=JobHandle("sge", job.job_id, "7"), task=task,
                    status=JobStatus(state, exit_code=0 if state.is_final else None))


def _facts() -> Facts:
    ids = {name: job.job_id for name, job in JOBS.items()}
    records = {ids["failed"]: _record("failed", state="failed", native="1"),
               ids["changed"]: _record("changed", state="running", config="old"),
               ids["cut"]: _record("cut", state="submitting", native=None),
               ids["running"]: _record("running", state="running"),
               ids["ended"]: _record("ended", state="pending")}
    return Facts(
        old_hashes={ids[n]: ("old" if n == "changed" else "new") for n in JOBS if n != "fresh"},
        exit_codes={ids["done"]: 0, ids["failed"]: 3},
        records=records,
        followed={ids[n]: _followed(n, state) for n, state in (
            ("changed", JobState.RUNNING), ("running", JobState.RUNNING),
            ("ended", JobState.COMPLETED))})


def _names(jobs: Any) -> list[str]:
    return sorted(job.run_id for job in jobs)


def test_each_job_lands_in_one_group_and_nothing_is_done_by_deciding() -> None:
    plan = SimpleNamespace(jobs=tuple(JOBS.values()))
    facts = _facts()
    decision = decide(plan, facts=facts, flags=ResumeFlags())  # type: ignore[arg-type]
    assert _names(decision.done) == ["done", "ended"]
    assert _names(decision.failed) == ["failed"]
    assert _names(decision.todo) == ["changed", "cut", "fresh"]
    assert [t.job_id for _, t in decision.attach] == ["running-seed0"]
    assert decision.lost == ("cut-seed0",)
    assert [r.job_id for _, r in decision.cancel] == ["changed-seed0"]
    assert decision.cancelled_stale == 1
    # The cut-short submission nothing ran is recorded lost before it is rerun.
    assert [(r.job_id, s.state) for r, s in decision.record] == [
        ("cut-seed0", JobState.FAILED), ("ended-seed0", JobState.COMPLETED)]
    assert decision.record[0][1].reason.startswith("lost: ")
    assert decide(plan, facts=facts, flags=ResumeFlags()) == decision  # type: ignore[arg-type]


def test_flags_rerun_failed_and_force() -> None:
    plan = SimpleNamespace(jobs=tuple(JOBS.values()))
    rerun = decide(plan, facts=_facts(),  # type: ignore[arg-type]
                   flags=ResumeFlags(rerun_failed=True))
    assert rerun.failed == () and "failed" in _names(rerun.todo)
    force = decide(plan, facts=_facts(), flags=ResumeFlags(force=True))  # type: ignore[arg-type]
    assert force.done == () and force.attach == ()
    assert _names(force.todo) == sorted(JOBS)
    assert sorted(r.job_id for _, r in force.cancel) == [
        "changed-seed0", "ended-seed0", "running-seed0"]


def test_a_cut_short_job_that_ended_badly_is_failed_unless_its_launcher_cancelled_it() -> None:
    # A submission the launcher could not record (a full disk) is cancelled at once; a
    # task that had started meanwhile ends with an exit code. Marked cancelled by that
    # launcher it runs again; ending so on its own it is a failure, as before.
    plan = SimpleNamespace(jobs=(JOBS["cut"],))
    cut = JOBS["cut"].job_id
    facts = Facts(old_hashes={cut: "new"}, exit_codes={cut: 1},
                  records={cut: _record("cut", state="submitting", native=None)})
    kept = decide(plan, facts=facts, flags=ResumeFlags())  # type: ignore[arg-type]
    assert (_names(kept.failed), _names(kept.todo)) == (["cut"], [])
    marked = Facts(old_hashes=facts.old_hashes, exit_codes=facts.exit_codes,
                   records=facts.records, cancelled=frozenset({cut}))
    rerun = decide(plan, facts=marked, flags=ResumeFlags())  # type: ignore[arg-type]
    assert (_names(rerun.failed), _names(rerun.todo)) == ([], ["cut"])
