"""``search_log.jsonl``: every proposal and result of a search, one JSON object a line.

Records: ``search`` (header: format, fingerprint), ``proposals`` (batch, evals:
eval_id, params, budget, parent, resume_budget, extra), ``result`` (batch, eval_id,
status, params, seeds, objective, objectives {metric: value}, loss, reason) and
``batch_done`` (batch, best). A ``result`` line holds what mle-toolbox's hyper log
kept per evaluation (run id, params, every eval metric, batch), so a reader of
search logs (``load_hyper_log``) needs no other file.

Lines are appended with one ``write`` on an ``O_APPEND`` descriptor and fsynced, so a
killed launcher leaves at most one torn last line, which reading ignores. A batch
is finished once its ``batch_done`` line is there; a resumed search replays the
finished batches and re-runs the proposals of an unfinished one as logged.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ExperimentDirError
from ..files.atomic import FILE_MODE, dumps_json
from .base import Evaluation, Proposal

LOG_FORMAT = 1


@dataclass
class LoggedBatch:
    """What the log says about one batch."""

    proposals: list[Proposal]
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    finished: bool = False

    def evaluations(self) -> list[Evaluation]:
        """The recorded results of a finished batch, in proposal order."""
        return [Evaluation(proposal=p, loss=self.results[p.eval_id].get("loss"),
                           objective=self.results[p.eval_id].get("objective"),
                           reason=self.results[p.eval_id].get("reason", ""),
                           objectives=self.results[p.eval_id].get("objectives"))
                for p in self.proposals]


class SearchLog:
    """Append-only record of one search."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: dict[str, Any]) -> None:
        """Append one line atomically and durably."""
        line = (dumps_json(record) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self, *, fingerprint: str) -> dict[int, LoggedBatch]:
        """Batches recorded so far; writes the header of a new log."""
        if not self.path.exists():
            self.append({"type": "search", "format": LOG_FORMAT, "fingerprint": fingerprint})
            return {}
        records = _records(self.path)
        header = records[0] if records else {}
        if header.get("type") != "search" or header.get("fingerprint") != fingerprint:
            raise ExperimentDirError(
                f"{self.path} was written by a different search (search settings or base "
                "config changed); choose another experiment_dir to start a new search"
            )
        return _batches(records[1:])

    def proposals(self, batch: int, proposals: list[Proposal]) -> None:
        """Record the proposals of a batch before it runs."""
        self.append({"type": "proposals", "batch": batch,
                     "evals": [p.to_json() for p in proposals]})

    def result(self, batch: int, evaluation: Evaluation, *, seeds: tuple[int, ...]) -> None:
        """Record the outcome of one evaluation."""
        self.append({"type": "result", "batch": batch,
                     "eval_id": evaluation.proposal.eval_id,
                     "status": "failed" if evaluation.failed else "completed",
                     "params": evaluation.proposal.params, "seeds": list(seeds),
                     "objective": evaluation.objective, "objectives": evaluation.objectives,
                     "loss": evaluation.loss, "reason": evaluation.reason})

    def batch_done(self, batch: int, best: dict[str, Any] | None) -> None:
        """Mark a batch finished."""
        self.append({"type": "batch_done", "batch": batch, "best": best})


def _records(path: Path) -> list[dict[str, Any]]:
    out = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # the torn last line of a killed launcher
            if isinstance(record, dict):
                out.append(record)
    return out


def _batches(records: list[dict[str, Any]]) -> dict[int, LoggedBatch]:
    batches: dict[int, LoggedBatch] = {}
    for record in records:
        batch = int(record.get("batch", 0))
        if record["type"] == "proposals":
            batches[batch] = LoggedBatch([Proposal.from_json(p) for p in record["evals"]])
        elif record["type"] == "result" and batch in batches:
            batches[batch].results[str(record["eval_id"])] = record
        elif record["type"] == "batch_done" and batch in batches:
            batches[batch].finished = True
    return batches
