"""plan.json, summary.json and report.json as typed documents (files/documents.py)."""

from __future__ import annotations

import json
from pathlib import Path

from mle_toolbox.files.documents import (
    PLAN_FORMAT,
    JobOutcome,
    Objective,
    PlanDocument,
    PlannedRun,
    ReportDocument,
    SummaryDocument,
    read_summary,
)
from mle_toolbox.files.expdir import read_plan
from mle_toolbox.spec import JobSpec


def _plan() -> PlanDocument:
    return PlanDocument(
        meta_path="/p/meta.yaml", project_name="p", experiment_type="hyperparameter-search",
        train_script="/p/train.py", seeds=(0, 1), mle_toolbox="0.0.1",
        objective=Objective(metrics=("loss", "acc"), maximize=False),
        runs=(PlannedRun(run_id="r", source="/p/base.json", config_hash="h",
                         params={"lr": 0.1}),),
        jobs=(JobSpec(run_id="r", seed=0, config_hash="h"),
              JobSpec(run_id="r", seed=1, config_hash="h")))


def test_a_plan_round_trips_through_plan_json(tmp_path: Path) -> None:
    plan = _plan()
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan.to_json()))
    back = read_plan(path)
    assert back == plan and back.runs[0].params == {"lr": 0.1}
    assert json.loads(path.read_text())["format"] == PLAN_FORMAT
    assert back.config_hashes() == {"r-seed0": "h", "r-seed1": "h"}
    assert back.objective is not None and back.objective.metric == "loss"


def test_an_old_plan_without_format_or_objective_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({
        "meta_path": "/p/meta.yaml", "seeds": [3],
        "runs": [{"run_id": "a"}],
        "jobs": [{"job_id": "a-seed3", "run_id": "a", "seed": 3, "config_hash": "x"}]}))
    plan = read_plan(path)
    assert (plan.format, plan.objective, plan.project_name) == (1, None, None)
    assert plan.jobs == (JobSpec(run_id="a", seed=3, config_hash="x"),)
    assert plan.runs == (PlannedRun(run_id="a"),)


def test_report_and_summary_round_trip_and_old_files_read(tmp_path: Path) -> None:
    report = ReportDocument(backend="local", finished=1.5, elapsed_s=2.0,
                            counts={"completed": 1, "failed": 1}, skipped=("s-seed0",),
                            jobs=(JobOutcome(job_id="a-seed0", state="failed", exit_code=3,
                                             reason="exit code 3", duration_s=0.5,
                                             stderr_tail="boom"),))
    assert ReportDocument.from_json(json.loads(json.dumps(report.to_json()))) == report
    old = {"backend": "sge", "finished": 1, "elapsed_s": 2, "counts": {"completed": 2},
           "jobs": [{"job_id": "b-seed1", "state": "completed"}]}
    assert ReportDocument.from_json(old).jobs == (JobOutcome(job_id="b-seed1",
                                                             state="completed"),)
    summary = SummaryDocument(run_id="a", seeds=(0,), metrics={
        "loss": {"final": {"mean": 1.0, "std": 0.0, "per_seed": {"0": 1.0}}}})
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(summary.to_json()))
    back = read_summary(path)
    assert back == summary and back is not None and back.final("loss") == {
        "mean": 1.0, "std": 0.0, "per_seed": {"0": 1.0}}
    assert back.final("acc") is None and "eval" not in summary.to_json()
    assert read_summary(tmp_path / "missing.json") is None
