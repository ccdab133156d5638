"""Successive halving and Hyperband: many configs on a small budget, the best go on.

Each rung is one batch. A promoted config continues from the checkpoints of its
previous rung (``parent``) and trains up to the next rung's budget. Hyperband runs
successive-halving brackets from the most aggressive to plain full-budget runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..config.meta import SearchConfig
from .base import Evaluation, Proposal, Strategy, rank_key


@dataclass
class _Bracket:
    """One successive-halving bracket: ``size`` configs starting at rung ``first``."""

    first: int
    size: int
    rung: int = -1
    last: list[Evaluation] = field(default_factory=list)


class HalvingStrategy(Strategy):
    """Successive halving (one bracket) or Hyperband (all brackets, in order)."""

    def __init__(self, search: SearchConfig) -> None:
        super().__init__(search)
        self.budgets = self.options.budgets()
        top = len(self.budgets) - 1
        eta = self.options.eta
        if search.search_type == "hyperband":
            self.brackets = [
                _Bracket(first=top - s, size=math.ceil((top + 1) / (s + 1) * eta ** s))
                for s in range(top, -1, -1)
            ]
        else:
            assert self.options.evals_per_batch is not None
            self.brackets = [_Bracket(first=0, size=self.options.evals_per_batch)]

    def propose(self, batch: int) -> list[Proposal]:
        """The next rung of the current bracket (or the first rung of the next)."""
        while self.brackets:
            bracket = self.brackets[0]
            proposals = self._next_rung(bracket, batch)
            if proposals:
                return proposals
            self.brackets.pop(0)
        return []

    def _next_rung(self, bracket: _Bracket, batch: int) -> list[Proposal]:
        if bracket.rung < 0:
            bracket.rung = bracket.first
            budget = self.budgets[bracket.rung]
            return [Proposal(eval_id=self.new_id(batch), params=self.sample(), budget=budget)
                    for _ in range(bracket.size)]
        if bracket.rung + 1 >= len(self.budgets):
            return []
        survivors = [e for e in sorted(bracket.last, key=rank_key) if not e.failed]
        keep = survivors[:max(1, len(bracket.last) // self.options.eta)]
        if not keep:
            return []
        bracket.rung += 1
        return [
            Proposal(eval_id=self.new_id(batch), params=e.proposal.params,
                     budget=self.budgets[bracket.rung], parent=e.proposal.eval_id,
                     resume_budget=e.proposal.budget)
            for e in keep
        ]

    def observe(self, evaluations: list[Evaluation]) -> None:
        """Remember the rung's results: the next rung promotes the best of them."""
        self.brackets[0].last = list(evaluations)
