"""The best evaluation of a search so far: printed, and written to best_config.json."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..files.atomic import write_json_atomic
from ..files.documents import read_summary
from .base import Evaluation, Proposal
from .objective import objective

if TYPE_CHECKING:
    from ..config.expand import Plan
    from ..config.meta_types import SearchConfig
    from ..files.layout import ExperimentLayout
    from ..launcher.run_types import RunReport


def write_best(evaluations: Sequence[Evaluation], *, search: SearchConfig,
               configs: Mapping[str, dict[str, Any]],
               layout: ExperimentLayout) -> dict[str, Any] | None:
    """Best evaluation at the largest budget run so far (smaller budgets compare badly).

    Writes best_config.json atomically and returns its content; None when no
    evaluation succeeded.
    """
    good = [e for e in evaluations if e.loss is not None]
    if not good:
        return None
    top = max((e.proposal.budget or 0) for e in good)
    best = min((e for e in good if (e.proposal.budget or 0) == top),
               key=lambda e: e.loss if e.loss is not None else float("inf"))
    run_id = best.proposal.eval_id
    document = {
        "eval_id": run_id, "metric": search.eval_metrics[0], "objective": best.objective,
        "max_objective": search.max_objective, "params": best.proposal.params,
        "budget": best.proposal.budget, "config_path": str(layout.run_config(run_id)),
        "config": configs[run_id],
    }
    write_json_atomic(layout.best_config, document)
    return document


def print_best(best: Mapping[str, Any] | None) -> None:
    """One line: the best evaluation so far."""
    if best is None:
        print("mle: best so far: none (no evaluation succeeded yet)", flush=True)
        return
    print(f"mle: best so far: {best['eval_id']} {best['metric']}={best['objective']:.6g} "
          f"params={best['params']}", flush=True)


def loss_of(value: float | None, search: SearchConfig) -> float | None:
    """The minimised loss of an objective value (negated when maximised)."""
    if value is None:
        return None
    return -value if search.max_objective else value


def report_best(plan: Plan, *, layout: ExperimentLayout, report: RunReport) -> None:
    """best_config.json of a grid or random search, from the summaries of its runs."""
    search = plan.meta.search
    if search is None or not search.eval_metrics:
        return
    failed_jobs = {r.job_id for r in report.failed}
    failed = {j.run_id for j in plan.jobs if j.job_id in failed_jobs}
    evaluations = []
    for run in plan.runs:
        proposal = Proposal(eval_id=run.run_id, params=run.params)
        summary = None if run.run_id in failed else read_summary(layout.summary(run.run_id))
        if summary is None:
            evaluations.append(Evaluation(proposal=proposal, loss=None, objective=None))
            continue
        value, _ = objective(summary, search=search, seeds=plan.meta.seeds)
        evaluations.append(Evaluation(proposal=proposal, loss=loss_of(value, search),
                                      objective=value))
    configs = {run.run_id: run.config for run in plan.runs}
    print_best(write_best(evaluations, search=search, configs=configs, layout=layout))
