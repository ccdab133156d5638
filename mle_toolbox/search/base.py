"""The ask/tell interface every adaptive strategy implements, and its value types."""

from __future__ import annotations

import abc
import random
from dataclasses import dataclass, field
from typing import Any

from ..config.meta_types import SearchConfig
from ..errors import ExperimentDirError


@dataclass(frozen=True, slots=True)
class Proposal:
    """One evaluation to run: a point of the space, maybe a budget and a parent.

    ``parent`` is the eval whose checkpoints the run continues from, after training
    ``resume_budget`` steps there; ``budget`` is the total the run trains to.
    """

    eval_id: str
    params: dict[str, Any] = field(compare=False, hash=False)
    budget: int | None = None
    parent: str | None = None
    resume_budget: int | None = None
    # What mle-toolbox hands the script in train_config.extra (sh_num_add_iters, ...).
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form, as written to the search log."""
        out = {"eval_id": self.eval_id, "params": self.params, "budget": self.budget,
               "parent": self.parent, "resume_budget": self.resume_budget}
        if self.extra:
            out["extra"] = self.extra
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Proposal:
        """Inverse of ``to_json``."""
        return cls(eval_id=str(data["eval_id"]), params=dict(data["params"]),
                   budget=data.get("budget"), parent=data.get("parent"),
                   resume_budget=data.get("resume_budget"),
                   extra=dict(data.get("extra") or {}))


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The outcome of one proposal: ``loss`` is minimised; None means it failed."""

    proposal: Proposal
    loss: float | None
    objective: float | None
    reason: str = ""
    # Every eval metric's value (multi-objective searches minimise each, signed as loss).
    objectives: dict[str, float] | None = None

    @property
    def failed(self) -> bool:
        """True when the evaluation gave no objective."""
        return self.loss is None


def rank_key(evaluation: Evaluation) -> float:
    """Sort key: lower is better, failed evaluations last."""
    return float("inf") if evaluation.loss is None else evaluation.loss


class Strategy(abc.ABC):
    """Proposes batches of evaluations and learns from their results.

    Strategies are deterministic given the search config, its seed and the results
    they observed, so that a resumed search can replay its log. ``CKPT_KEY`` names
    the ``train_config.extra`` key that carries the parent's checkpoint path to a
    run that continues training (mle-hyperopt's ``sh_ckpt`` / ``pbt_ckpt``).
    """

    CKPT_KEY: str | None = None

    def __init__(self, search: SearchConfig) -> None:
        self.search = search
        self.options = search.options
        self.rng = random.Random(search.sampler_seed)
        self.count = 0

    @abc.abstractmethod
    def propose(self, batch: int) -> list[Proposal]:
        """The evaluations of batch ``batch`` (1-based); empty when the search is over."""

    @abc.abstractmethod
    def observe(self, evaluations: list[Evaluation]) -> None:
        """Learn from the results of the last proposed batch."""

    def replay(self, batch: int, proposals: list[Proposal]) -> None:
        """Bring the strategy to the state it had after proposing ``proposals``.

        Deterministic strategies propose again and must get the same batch; a
        mismatch means the log belongs to a different search.
        """
        again = self.propose(batch)
        if [p.to_json() for p in again] != [p.to_json() for p in proposals]:
            raise ExperimentDirError(
                f"search_log.jsonl: batch {batch} does not match what this search proposes; "
                "the log belongs to another search: choose another experiment_dir"
            )

    def new_id(self, batch: int) -> str:
        """The next run id, ``b_<batch>_eval_<i>`` as grid and random search name runs."""
        eval_id = f"b_{batch}_eval_{self.count}"
        self.count += 1
        return eval_id

    def sample(self) -> dict[str, Any]:
        """A random point of the search space."""
        return {p.name: p.sample(self.rng) for p in self.search.params}
