"""The Pareto front of a search over several eval metrics (multi-objective Nevergrad).

An evaluation is on the front when no other evaluation is at least as good on every
metric and better on one (each metric maximised or minimised as ``max_objective``
says, for all of them, as mle-toolbox does). The launcher writes
``pareto_front.json``; ``mle report`` shows it as a table and a scatter figure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config.meta_types import SearchConfig
from ..files.atomic import write_json_atomic
from ..files.layout import ExperimentLayout
from .base import Evaluation


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """True when loss vector ``a`` is no worse than ``b`` everywhere and better somewhere."""
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(
        x < y for x, y in zip(a, b, strict=True))


def front(evaluations: Sequence[Evaluation], *, search: SearchConfig) -> list[Evaluation]:
    """The non-dominated evaluations, in the order they ran."""
    sign = -1.0 if search.max_objective else 1.0
    scored = [(e, [sign * e.objectives[m] for m in search.eval_metrics])
              for e in evaluations if e.objectives is not None and not e.failed]
    return [e for e, loss in scored
            if not any(dominates(other, loss) for _, other in scored)]


def write_pareto(evaluations: Sequence[Evaluation], *, search: SearchConfig,
                 layout: ExperimentLayout) -> dict[str, Any] | None:
    """pareto_front.json of a search with several eval metrics (None for one metric)."""
    if len(search.eval_metrics) < 2:
        return None
    best = front(evaluations, search=search)
    document = {
        "metrics": list(search.eval_metrics), "max_objective": search.max_objective,
        "front": [_row(e) for e in best],
        "evaluations": [_row(e) for e in evaluations if e.objectives is not None],
    }
    write_json_atomic(layout.pareto_front, document)
    return document


def _row(evaluation: Evaluation) -> dict[str, Any]:
    return {"eval_id": evaluation.proposal.eval_id, "params": evaluation.proposal.params,
            "objectives": evaluation.objectives}


def read_pareto(path: Path) -> dict[str, Any] | None:
    """The document written by ``write_pareto`` (None when absent or unreadable)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("front"), list) else None


def scatter(figure: Any, *, doc: dict[str, Any], path: Path) -> None:
    """Every evaluation on the first two metrics, the front highlighted and joined."""
    x_name, y_name = doc["metrics"][:2]
    everything = doc["evaluations"]
    on_front = sorted(doc["front"], key=lambda r: r["objectives"][x_name])
    fig = figure(figsize=(5.5, 4.2))
    ax = fig.subplots()
    ax.scatter([r["objectives"][x_name] for r in everything],
               [r["objectives"][y_name] for r in everything], s=14, color="0.6",
               label="evaluations")
    ax.plot([r["objectives"][x_name] for r in on_front],
            [r["objectives"][y_name] for r in on_front], "o-", color="C3",
            label="Pareto front")
    ax.set_xlabel(x_name)
    ax.set_ylabel(y_name)
    ax.legend(fontsize="small")
    ax.set_title("maximised" if doc.get("max_objective") else "minimised")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
