"""The JSON documents of an experiment directory, as typed objects.

``plan.json`` (every run and job, and the objective), ``<run_id>/summary.json``
(metrics merged over seeds) and ``report.json`` (the outcome of the last launch).
Each is a frozen dataclass with ``to_json`` (a JSON-ready dict) and ``from_json``;
each carries a ``format`` number. Files written before a format number existed
(or before a field did) still read: a missing field takes its default.
``from_json`` expects a document whose shape was checked where it was read
(``expdir.read_plan`` for plan.json); the launcher itself writes the others.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from ..records import field, record
from ..spec import JobSpec

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import Any

PLAN_FORMAT = 2  # 2: with "objective"
SUMMARY_FORMAT = 1
REPORT_FORMAT = 1


@record
class Objective:
    """The metric that ranks runs (the first of ``metrics``): final value, mean over seeds."""

    metrics: tuple[str, ...]
    maximize: bool

    @property
    def metric(self) -> str:
        """The metric runs are ranked by."""
        return self.metrics[0]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"metrics": list(self.metrics), "maximize": self.maximize}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Objective:
        """The objective of a plan.json."""
        return cls(metrics=tuple(doc["metrics"]), maximize=doc.get("maximize") is True)


@record
class PlannedRun:
    """One run of plan.json: its config's origin and hash, and the searched params."""

    run_id: str
    source: str = ""
    config_hash: str = ""
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"run_id": self.run_id, "source": self.source, "config_hash": self.config_hash,
                "params": self.params}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> PlannedRun:
        """A run entry of plan.json."""
        return cls(run_id=doc["run_id"], source=str(doc.get("source", "")),
                   config_hash=str(doc.get("config_hash", "")),
                   params=dict(doc.get("params") or {}))


@record
class PlanDocument:
    """plan.json: what an experiment directory holds and which meta YAML it belongs to."""

    meta_path: str | None
    runs: tuple[PlannedRun, ...]
    jobs: tuple[JobSpec, ...]
    seeds: tuple[int, ...] = ()
    project_name: str | None = None
    experiment_type: str | None = None
    train_script: str | None = None
    objective: Objective | None = None
    mle_toolbox: str | None = None  # the version that wrote it
    # How the launch read its YAML (config/paths.py): mle resume / eval read it the same way.
    work_dir: str | None = None
    project_dir: str | None = None
    overrides: dict[str, Any] | None = None  # 0.3.x command-line paths (-exp_dir, ...)
    code_hash: str | None = None  # of the training script: changed code makes results stale
    format: int = PLAN_FORMAT

    def config_hashes(self) -> dict[str, str]:
        """Config hash of every planned job, by job id."""
        return {job.job_id: job.config_hash for job in self.jobs}

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form, as plan.json is written."""
        return {
            "format": self.format, "mle_toolbox": self.mle_toolbox, "meta_path": self.meta_path,
            "project_name": self.project_name, "experiment_type": self.experiment_type,
            "train_script": self.train_script, "seeds": list(self.seeds),
            "objective": None if self.objective is None else self.objective.to_json(),
            "work_dir": self.work_dir, "project_dir": self.project_dir,
            "overrides": self.overrides, "code_hash": self.code_hash,
            "runs": [run.to_json() for run in self.runs],
            "jobs": [{"job_id": j.job_id, "run_id": j.run_id, "seed": j.seed,
                      "config_hash": j.config_hash} for j in self.jobs],
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> PlanDocument:
        """A plan.json of any format (checked by ``expdir.read_plan`` first)."""
        objective = doc.get("objective")
        return cls(
            meta_path=doc.get("meta_path"),
            runs=tuple(PlannedRun.from_json(run) for run in doc.get("runs", [])),
            jobs=tuple(JobSpec(run_id=j["run_id"], seed=j["seed"],
                               config_hash=j["config_hash"]) for j in doc.get("jobs", [])),
            seeds=tuple(doc.get("seeds", [])), project_name=doc.get("project_name"),
            experiment_type=doc.get("experiment_type"), train_script=doc.get("train_script"),
            objective=Objective.from_json(objective) if isinstance(objective, dict) else None,
            mle_toolbox=doc.get("mle_toolbox"), work_dir=_text(doc.get("work_dir")),
            project_dir=_text(doc.get("project_dir")), code_hash=_text(doc.get("code_hash")),
            overrides=dict(doc["overrides"]) if isinstance(doc.get("overrides"), dict) else None,
            format=int(doc.get("format", 1)))


@record
class SummaryDocument:
    """summary.json of a run: final and best value of each metric, per seed and over seeds.

    ``metrics`` is ``{name: {"final"|"best": {"mean", "std", "per_seed": {seed: v}}}}``
    (results/merge.summarize_run); ``eval`` holds the same for ``mle eval``'s metrics.
    """

    run_id: str
    seeds: tuple[int, ...]
    metrics: dict[str, Any] = field(compare=False, hash=False)
    eval: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    format: int = SUMMARY_FORMAT

    def final(self, metric: str) -> dict[str, Any] | None:
        """Statistics of the final value of ``metric`` (None when no seed logged it)."""
        stat = self.metrics.get(metric, {}).get("final")
        return stat if isinstance(stat, dict) else None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        doc: dict[str, Any] = {"format": self.format, "run_id": self.run_id,
                               "seeds": list(self.seeds), "metrics": self.metrics}
        if self.eval is not None:
            doc["eval"] = self.eval
        return doc

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> SummaryDocument:
        """A summary.json (or what summarize_run returns)."""
        return cls(run_id=str(doc.get("run_id", "")), seeds=tuple(doc.get("seeds", [])),
                   metrics=dict(doc.get("metrics") or {}), eval=doc.get("eval"),
                   format=int(doc.get("format", SUMMARY_FORMAT)))


def read_summary(path: Path) -> SummaryDocument | None:
    """The summary.json at ``path``; None when there is none (or it cannot be read)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return SummaryDocument.from_json(doc) if isinstance(doc, dict) else None


@record
class JobOutcome:
    """One job of report.json: how it ended and, if it failed, the tail of its stderr."""

    job_id: str
    state: str
    exit_code: int | None = None
    reason: str = ""
    duration_s: float | None = None
    stderr_tail: str = ""  # `mle report` lists failed jobs with it long after the launch

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"job_id": self.job_id, "state": self.state, "exit_code": self.exit_code,
                "reason": self.reason, "duration_s": self.duration_s,
                "stderr_tail": self.stderr_tail}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> JobOutcome:
        """A job entry of report.json."""
        return cls(job_id=str(doc["job_id"]), state=str(doc.get("state", "")),
                   exit_code=doc.get("exit_code"), reason=str(doc.get("reason") or ""),
                   duration_s=doc.get("duration_s"),
                   stderr_tail=str(doc.get("stderr_tail") or ""))


@record
class ReportDocument:
    """report.json: the outcome of the last launch."""

    backend: str
    finished: float
    elapsed_s: float
    counts: dict[str, int] = field(compare=False, hash=False)
    jobs: tuple[JobOutcome, ...] = ()
    skipped: tuple[str, ...] = ()  # completed in an earlier launch
    detached: tuple[str, ...] = ()  # left running on the scheduler
    interrupted: bool = False
    format: int = REPORT_FORMAT

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form, as report.json is written."""
        return {"format": self.format, "backend": self.backend, "finished": self.finished,
                "elapsed_s": self.elapsed_s, "interrupted": self.interrupted,
                "counts": self.counts, "skipped": list(self.skipped),
                "detached": list(self.detached), "jobs": [j.to_json() for j in self.jobs]}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ReportDocument:
        """A report.json of any format."""
        return cls(backend=str(doc.get("backend", "?")),
                   finished=float(doc.get("finished", 0.0)),
                   elapsed_s=float(doc.get("elapsed_s", 0.0)),
                   counts={str(k): int(v) for k, v in (doc.get("counts") or {}).items()},
                   jobs=tuple(JobOutcome.from_json(j) for j in doc.get("jobs", [])),
                   skipped=tuple(doc.get("skipped", [])),
                   detached=tuple(doc.get("detached", [])),
                   interrupted=bool(doc.get("interrupted", False)),
                   format=int(doc.get("format", REPORT_FORMAT)))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def code_hash(script: Path) -> str | None:
    """sha256 of a training script, as plan.json records it: a job's identity includes
    the code it ran (a changed script makes earlier results stale)."""
    from ..digest import sha256_hex

    try:
        return sha256_hex(script.read_bytes())[:16]
    except OSError:
        return None  # gone since validation: nothing to compare against
