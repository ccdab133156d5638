"""Progress display: counts, ETA, plain lines off a terminal, a live line on one."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from mle_toolbox.launcher.progress import CLEAR_LINE, Progress, format_duration
from mle_toolbox.launcher.run_types import Hooks, PollPolicy
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
from tests.conftest import run_mle

pytestmark = pytest.mark.timeout(60)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _result(job_id: str, state: JobState, *, took: float, reason: str = "") -> JobResult:
    return JobResult(job_id=job_id, state=state, exit_code=0 if reason == "" else 3,
                     reason=reason, duration_s=took)


def test_format_duration() -> None:
    assert format_duration(0) == "0:00"
    assert format_duration(65.4) == "1:05"
    assert format_duration(3725) == "1:02:05"
    assert format_duration(-3) == "0:00"


def test_plain_lines_have_counts_elapsed_and_eta() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress(total=4, stream=out, live=False, clock=clock)
    assert progress.eta_s() is None
    progress.started("a-seed0")
    progress.started("a-seed1")
    clock.now += 10
    progress(_result("a-seed0", JobState.COMPLETED, took=1.0))
    clock.now += 10
    progress(_result("a-seed1", JobState.FAILED, took=2.0, reason="exit code 3"))
    clock.now += 5
    progress(_result("b-seed0", JobState.CANCELLED, took=0.0, reason="cancelled"))
    assert out.getvalue().splitlines() == [
        "[1/4] completed a-seed0 1.0s  | 2 queued, 1 running, 1 completed, 0 failed "
        "| 0:10 elapsed, ETA 0:30",
        "[2/4] failed    a-seed1 2.0s  exit code 3  | 2 queued, 0 running, 1 completed, "
        "1 failed | 0:20 elapsed, ETA 0:20",
        # a job never seen running leaves the queued count when it ends; a cancelled job
        # is counted apart from the failed ones
        "[3/4] cancelled b-seed0 0.0s  cancelled  | 1 queued, 0 running, 1 completed, "
        "1 failed, 1 cancelled | 0:25 elapsed, ETA 0:08",
    ]
    assert CLEAR_LINE not in out.getvalue()


def test_live_line_is_redrawn_in_place_and_failures_stay_visible(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    out, clock = io.StringIO(), Clock()
    with Progress(total=2, stream=out, live=True, clock=clock) as progress:
        progress.started("a-seed0")
        clock.now += 4
        progress(_result("a-seed0", JobState.COMPLETED, took=4.0))
        progress(_result("a-seed1", JobState.FAILED, took=0.1, reason="exit code 3"))
    text = out.getvalue()
    assert text.startswith(f"{CLEAR_LINE}[0/2] 2 queued, 0 running, 0 completed, 0 failed "
                           "| 0:00 elapsed, ETA ?")
    assert f"{CLEAR_LINE}[0/2] 1 queued, 1 running, 0 completed, 0 failed" in text
    # a completed job only updates the live line; a failed one gets a line of its own
    assert "completed a-seed0" not in text
    assert f"{CLEAR_LINE}[2/2] failed    a-seed1 0.1s  exit code 3\n" in text
    assert text.endswith(f"{CLEAR_LINE}[2/2] 0 queued, 0 running, 1 completed, 1 failed "
                         "| 0:04 elapsed, ETA 0:00\n")
    assert text.count("\n") == 2


class ScriptedBackend:
    """Every job is pending at its first poll, running at its second, completed at its third."""

    name = "scripted"
    throttles = False

    def __init__(self) -> None:
        self.polls: dict[JobHandle, int] = {}

    def submit(self, tasks: Sequence[JobTask], *, max_running: int | None = None,
               token: str | None = None) -> list[JobHandle]:
        handles = [JobHandle("scripted", t.job_id, str(i)) for i, t in enumerate(tasks)]
        self.polls.update(dict.fromkeys(handles, 0))
        return handles

    def status(self, handles: Sequence[JobHandle]) -> Mapping[JobHandle, JobStatus]:
        states = (JobState.PENDING, JobState.RUNNING, JobState.COMPLETED)
        out = {}
        for handle in handles:
            out[handle] = JobStatus(states[min(self.polls[handle], 2)], exit_code=0)
            self.polls[handle] += 1
        return out

    def cancel(self, handles: Sequence[JobHandle], *, force: bool = False) -> None:
        raise AssertionError("nothing is cancelled here")

    def release(self, handles: Sequence[JobHandle]) -> None:
        """Nothing is held."""

    def wait_fds(self) -> Sequence[int]:
        return ()


def test_runner_reports_each_job_seen_running_before_its_result(tmp_path: Path) -> None:
    tasks = [JobTask(job=JobSpec(run_id="r", seed=s, config_hash="h"), name="r", argv=("x",),
                     cwd=tmp_path, job_dir=tmp_path / str(s), resources=Resources(),
                     environment=Environment()) for s in range(3)]
    events: list[str] = []
    report = run_jobs(tasks, backend=ScriptedBackend(), max_running=2,  # type: ignore[arg-type]
                      poll=PollPolicy(initial=0.001, maximum=0.001),
                      hooks=Hooks(on_start=lambda job_id: events.append(f"start {job_id}"),
                                  on_result=lambda r: events.append(f"end {r.job_id}")))
    assert report.count(JobState.COMPLETED) == 3
    assert sorted(events) == sorted(f"{e} r-seed{s}" for e in ("start", "end") for s in range(3))
    for seed in range(3):
        assert events.index(f"start r-seed{seed}") < events.index(f"end r-seed{seed}")


def test_mle_run_prints_plain_progress_lines_off_a_terminal(project: Path) -> None:
    result = run_mle("run", "meta.yaml", cwd=project)
    assert result.returncode == 0, result.stderr
    line = re.compile(r"^\[(\d)/4\] completed (a|b)-seed[01] \d+\.\ds  \| (\d) queued, (\d) "
                      r"running, (\d) completed, 0 failed \| 0:\d\d elapsed, ETA (\?|\d+:\d\d)$")
    found = [m for m in map(line.match, result.stdout.splitlines()) if m]
    assert [int(m.group(1)) for m in found] == [1, 2, 3, 4]
    for match in found:
        done, queued, running, completed = (int(match.group(i)) for i in (1, 3, 4, 5))
        assert completed == done and queued + running + completed == 4
    last = found[-1].group(0)
    assert "  | 0 queued, 0 running, 4 completed, 0 failed | " in last
    assert last.endswith(" elapsed, ETA 0:00")
    assert "\r" not in result.stdout


def test_live_line_is_cut_to_the_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    out = io.StringIO()
    with Progress(total=3, stream=out, live=True, clock=Clock()) as progress:
        progress.started("a-seed0")
    drawn = out.getvalue().split(CLEAR_LINE)[1:]
    assert drawn[:2] == ["[0/3] 3 queued, 0 running, 0 completed,",  # 39 characters
                         "[0/3] 2 queued, 1 running, 0 completed,"]
    assert all(len(line.rstrip("\n")) == 39 for line in drawn)


def test_without_the_context_manager_lines_are_plain_even_on_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(total=1, stream=out, live=True, clock=Clock())
    progress.started("a-seed0")
    progress(_result("a-seed0", JobState.COMPLETED, took=0.5))
    assert out.getvalue() == ("[1/1] completed a-seed0 0.5s  | 0 queued, 0 running, "
                              "1 completed, 0 failed | 0:00 elapsed, ETA 0:00\n")
