"""Successive halving and Hyperband: many configs on a small budget, the best go on.

Each rung is one batch. A promoted config continues from the checkpoint of its
previous rung (``parent``) and trains up to the next rung's budget. Hyperband runs
successive-halving brackets from the most aggressive to plain full-budget runs.

Options, both dialects (mle-hyperopt's in the nested ``search_config`` block):

* Halving: ``num_arms`` configs at ``min_budget``; each rung keeps the best
  ``1/halving_coeff`` and multiplies the budget by ``halving_coeff`` (capped at
  ``max_budget`` if given), ``floor(log_c(num_arms) + 1)`` rungs. Ours:
  ``num_evals_per_batch`` configs, budgets ``min_budget * eta**k`` up to ``max_budget``.
* Hyperband: ``max_resource`` R and ``eta``: brackets of budgets ``R * eta**-s``.
  Ours: ``min_budget``, ``max_budget``, ``eta``.

The script gets ``train_config.extra`` as mle-hyperopt writes it: ``sh_num_total_iters``
(the rung's budget), ``sh_num_add_iters`` (to train beyond the checkpoint),
``sh_counter`` (rung), ``hb_counter`` (Hyperband bracket) and ``sh_ckpt``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..config.meta_types import SearchConfig
from ..config.search_space import SearchParam
from .base import Evaluation, Proposal, Strategy, rank_key
from .options import OptionSource, SearchOptions, rung_budgets
from .registry import SearchType

OPTION_KEYS = ("budget_key", "min_budget", "max_budget", "eta", "num_arms", "halving_coeff",
               "max_resource")


@dataclass(frozen=True, slots=True)
class HalvingOptions(SearchOptions):
    """Rung budgets, the first rung's size (None: Hyperband brackets) and the cut."""

    budgets: tuple[int, ...] = ()
    first_size: int | None = None
    eta: int = 3


def parse_options(src: OptionSource, *, row: SearchType,
                  params: tuple[SearchParam, ...]) -> HalvingOptions:
    """Read either dialect of Halving or Hyperband."""
    del params
    src.check_keys(OPTION_KEYS)
    hyperband = row.name == "Hyperband"
    if hyperband and src.has("max_resource"):
        resource = src.integer("max_resource", minimum=2)
        eta = src.integer("eta", default=3, minimum=2) or 3
        assert resource is not None
        s_max = math.floor(math.log(resource) / math.log(eta) + 1e-9)
        budgets = tuple(dict.fromkeys(max(1, int(resource * eta ** -s))
                                      for s in range(s_max, -1, -1)))
        return _options(src, budgets=budgets, first_size=None, eta=eta)
    if not hyperband and src.has("num_arms"):
        arms = src.integer("num_arms", minimum=1)
        coeff = src.integer("halving_coeff", "eta", default=2, minimum=2) or 2
        low = src.integer("min_budget", default=1, minimum=1) or 1
        high = src.integer("max_budget", minimum=1)
        assert arms is not None
        rungs = math.floor(math.log(arms) / math.log(coeff) + 1e-9) + 1
        budgets = tuple(min(low * coeff ** i, high or low * coeff ** i) for i in range(rungs))
        return _options(src, budgets=budgets, first_size=arms, eta=coeff)
    return _ours(src, row=row, first_size=None if hyperband else src.batches()[1])


def _options(src: OptionSource, *, budgets: tuple[int, ...], first_size: int | None,
             eta: int) -> HalvingOptions:
    batches, per_batch = src.batches()
    return HalvingOptions(num_batches=batches, evals_per_batch=per_batch,
                          budget_key=src.budget_key(budgeted=True), upstream=src.upstream,
                          budgets=budgets, first_size=first_size, eta=eta)


def _ours(src: OptionSource, *, row: SearchType, first_size: int | None) -> HalvingOptions:
    name = row.name.lower()
    if row.name == "Halving" and first_size is None:
        raise src.res.error("num_evals_per_batch", f"{name} needs num_evals_per_batch (the "
                            "number of configs of the first rung) or num_arms")
    for key in ("min_budget", "max_budget"):
        if not src.has(key):
            alt = "max_resource" if row.name == "Hyperband" else "num_arms"
            raise src.error(key, message=f"{name} needs {key} (or {alt})")
    low, high = src.integer("min_budget", minimum=1), src.integer("max_budget", minimum=1)
    eta = src.integer("eta", "halving_coeff", default=3, minimum=2) or 3
    assert low is not None and high is not None
    if low >= high:
        raise src.error("max_budget", message=f"must be greater than min_budget ({low}), "
                        f"got {high}")
    if low * eta > high:
        raise src.error("eta", message=f"min_budget * eta ({low} * {eta}) is above max_budget "
                        f"({high}): there would be nothing to halve; lower eta or widen the "
                        "budgets")
    return _options(src, budgets=rung_budgets(low, high, eta), first_size=first_size, eta=eta)


@dataclass
class _Bracket:
    """One successive-halving bracket: ``size`` configs starting at rung ``first``."""

    first: int
    size: int
    rung: int = -1
    last: list[Evaluation] = field(default_factory=list)


class HalvingStrategy(Strategy):
    """Successive halving (one bracket) or Hyperband (all brackets, in order)."""

    CKPT_KEY = "sh_ckpt"

    def __init__(self, search: SearchConfig) -> None:
        super().__init__(search)
        opts = self.options
        assert isinstance(opts, HalvingOptions)
        self.opts = opts
        self.budgets = opts.budgets
        top = len(self.budgets) - 1
        eta = opts.eta
        if opts.first_size is None:
            self.brackets = [
                _Bracket(first=top - s, size=math.ceil((top + 1) / (s + 1) * eta ** s))
                for s in range(top, -1, -1)
            ]
        else:
            self.brackets = [_Bracket(first=0, size=opts.first_size)]
        self.bracket_count = len(self.brackets)

    def propose(self, batch: int) -> list[Proposal]:
        """The next rung of the current bracket (or the first rung of the next)."""
        while self.brackets:
            bracket = self.brackets[0]
            proposals = self._next_rung(bracket, batch)
            if proposals:
                return proposals
            self.brackets.pop(0)
        return []

    def _extra(self, bracket: _Bracket, *, resume: int | None) -> dict[str, int]:
        budget = self.budgets[bracket.rung]
        extra = {"sh_num_total_iters": budget, "sh_num_add_iters": budget - (resume or 0),
                 "sh_counter": bracket.rung - bracket.first}
        if self.opts.first_size is None:
            extra["hb_counter"] = self.bracket_count - len(self.brackets)
        return extra

    def _next_rung(self, bracket: _Bracket, batch: int) -> list[Proposal]:
        if bracket.rung < 0:
            bracket.rung = bracket.first
            budget = self.budgets[bracket.rung]
            return [Proposal(eval_id=self.new_id(batch), params=self.sample(), budget=budget,
                             extra=self._extra(bracket, resume=None))
                    for _ in range(bracket.size)]
        if bracket.rung + 1 >= len(self.budgets):
            return []
        survivors = [e for e in sorted(bracket.last, key=rank_key) if not e.failed]
        keep = survivors[:max(1, len(bracket.last) // self.opts.eta)]
        if not keep:
            return []
        bracket.rung += 1
        return [
            Proposal(eval_id=self.new_id(batch), params=e.proposal.params,
                     budget=self.budgets[bracket.rung], parent=e.proposal.eval_id,
                     resume_budget=e.proposal.budget,
                     extra=self._extra(bracket, resume=e.proposal.budget))
            for e in keep
        ]

    def observe(self, evaluations: list[Evaluation]) -> None:
        """Remember the rung's results: the next rung promotes the best of them."""
        self.brackets[0].last = list(evaluations)
