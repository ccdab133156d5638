"""Population-based training: train a population for a few steps, then let the worst
members copy the checkpoints of the best (exploit) and perturb their hyperparameters
(explore). Each generation is one batch.
"""

from __future__ import annotations

from typing import Any

from ..config.meta import SearchConfig
from ..config.search_space import SearchParam
from .base import Evaluation, Proposal, Strategy, rank_key


class PbtStrategy(Strategy):
    """``num_evals_per_batch`` members, ``num_search_batches`` generations."""

    def __init__(self, search: SearchConfig) -> None:
        super().__init__(search)
        assert self.options.steps_per_generation is not None
        self.steps = self.options.steps_per_generation
        self.members: list[Evaluation] = []

    def propose(self, batch: int) -> list[Proposal]:
        """Generation ``batch``: fresh members first, then exploit/explore."""
        opts = self.options
        assert opts.num_batches is not None and opts.evals_per_batch is not None
        if batch > opts.num_batches:
            return []
        budget = batch * self.steps
        if not self.members:
            return [Proposal(eval_id=self.new_id(batch), params=self.sample(), budget=budget)
                    for _ in range(opts.evals_per_batch)]
        ranked = sorted(self.members, key=rank_key)
        cut = max(1, round(len(ranked) * opts.truncation))
        top = [e for e in ranked[:cut] if not e.failed]
        out = []
        for member in self.members:
            worst = member in ranked[len(ranked) - cut:] or member.failed
            out.append(self._next(member, batch=batch, budget=budget,
                                  source=self.rng.choice(top) if worst and top else None))
        return out

    def _next(self, member: Evaluation, *, batch: int, budget: int,
              source: Evaluation | None) -> Proposal:
        eval_id = self.new_id(batch)
        if source is not None:  # exploit the source's checkpoint, explore around its params
            return Proposal(eval_id=eval_id, params=self._perturb(source.proposal.params),
                            budget=budget, parent=source.proposal.eval_id,
                            resume_budget=source.proposal.budget)
        if member.failed:  # nothing to continue from and nobody to copy: start again
            return Proposal(eval_id=eval_id, params=self.sample(), budget=budget)
        return Proposal(eval_id=eval_id, params=member.proposal.params, budget=budget,
                        parent=member.proposal.eval_id, resume_budget=member.proposal.budget)

    def _perturb(self, params: dict[str, Any]) -> dict[str, Any]:
        return {p.name: self._perturb_one(p, params[p.name]) for p in self.search.params}

    def _perturb_one(self, param: SearchParam, value: Any) -> Any:
        if param.kind == "categorical":
            if self.rng.random() < self.options.resample_probability:
                return param.sample(self.rng)
            return value
        assert param.begin is not None and param.end is not None
        moved = value * self.rng.choice(self.options.perturb_factors)
        if param.kind == "integer":
            return int(min(max(round(moved), param.begin), param.end))
        return float(min(max(moved, param.begin), param.end))

    def observe(self, evaluations: list[Evaluation]) -> None:
        """The generation's results become the population the next one starts from."""
        self.members = list(evaluations)
