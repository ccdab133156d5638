"""Nevergrad's optimisers (CMA, NGOpt, ... any name of its registry), batched.

mle-hyperopt's options (either dialect; the older ``nevergrad_config`` block too):
``optimizer`` (default NGOpt), ``budget_size`` (default: every evaluation of the
search) and ``num_workers`` (default ``num_evals_per_batch``). With several
``eval_metrics`` and no ``metric_to_model`` the search is multi-objective: each
result is told as the vector of its metrics' losses, and the launcher writes the
Pareto front (``pareto.py``). Nevergrad is an optional extra (``nevergrad``),
imported when such a search starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config.meta_types import SearchConfig
from ..config.search_space import SearchParam
from ..errors import ConfigError
from .base import Evaluation, Proposal, Strategy
from .options import OptionSource, SearchOptions
from .registry import SearchType

OPTION_KEYS = ("optimizer", "budget_size", "num_workers", "metric_to_model")


@dataclass(frozen=True, slots=True)
class NevergradOptions(SearchOptions):
    """The optimiser's name, budget and parallelism."""

    optimizer: str = "NGOpt"
    budget_size: int | None = None
    num_workers: int | None = None


def parse_options(src: OptionSource, *, row: SearchType,
                  params: tuple[SearchParam, ...]) -> NevergradOptions:
    """Read either dialect; batches are required."""
    del row, params
    src.check_keys(OPTION_KEYS)
    batches, per_batch = src.require_batches("nevergrad")
    return NevergradOptions(
        num_batches=batches, evals_per_batch=per_batch, upstream=src.upstream,
        metric_to_model=src.string("metric_to_model"),
        optimizer=src.string("optimizer") or "NGOpt",
        budget_size=src.integer("budget_size", default=batches * per_batch, minimum=1),
        num_workers=src.integer("num_workers", default=per_batch, minimum=1))


def multi_objective(search: SearchConfig) -> bool:
    """True when every eval metric is an objective (several metrics, none singled out)."""
    return len(search.eval_metrics) > 1 and search.options.metric_to_model is None


class NevergradStrategy(Strategy):
    """Ask ``num_evals_per_batch`` candidates, tell their losses (a vector when multi)."""

    def __init__(self, search: SearchConfig) -> None:
        super().__init__(search)
        import nevergrad as ng
        import numpy as np
        assert isinstance(self.options, NevergradOptions)
        self.opts: NevergradOptions = self.options
        parametrization = ng.p.Dict(**{p.name: _parameter(ng, p) for p in search.params})
        parametrization.random_state = np.random.RandomState(search.sampler_seed)
        registry = ng.optimizers.registry
        if self.opts.optimizer not in registry:
            raise ConfigError(f"{self.opts.optimizer!r} is not a nevergrad optimizer; e.g. "
                              "NGOpt, CMA, OnePlusOne, DE, PSO, TwoPointsDE",
                              key="param_search_args.search_config.optimizer")
        self.optimizer = registry[self.opts.optimizer](
            parametrization=parametrization, budget=self.opts.budget_size,
            num_workers=self.opts.num_workers)
        self.multi = multi_objective(search)
        self.candidates: dict[str, Any] = {}

    def propose(self, batch: int) -> list[Proposal]:
        """The next candidates of the optimiser."""
        assert self.opts.num_batches is not None and self.opts.evals_per_batch is not None
        if batch > self.opts.num_batches:
            return []
        out = []
        for _ in range(self.opts.evals_per_batch):
            candidate = self.optimizer.ask()
            proposal = Proposal(eval_id=self.new_id(batch), params=_plain(candidate.value))
            self.candidates[proposal.eval_id] = candidate
            out.append(proposal)
        return out

    def observe(self, evaluations: list[Evaluation]) -> None:
        """Tell each result; a failed evaluation is not told (nevergrad allows that)."""
        for evaluation in evaluations:
            candidate = self.candidates.pop(evaluation.proposal.eval_id)
            if evaluation.loss is None:
                continue
            if self.multi and evaluation.objectives is not None:
                sign = -1.0 if self.search.max_objective else 1.0
                losses = [sign * evaluation.objectives[m] for m in self.search.eval_metrics]
                self.optimizer.tell(candidate, losses)
            else:
                self.optimizer.tell(candidate, evaluation.loss)


def _parameter(ng: Any, param: SearchParam) -> Any:
    if param.kind == "categorical":
        return ng.p.Choice(list(param.values))
    assert param.begin is not None and param.end is not None
    if param.prior == "log-uniform":
        scalar = ng.p.Log(lower=float(param.begin), upper=float(param.end))
    else:
        scalar = ng.p.Scalar(lower=float(param.begin), upper=float(param.end))
    return scalar.set_integer_casting() if param.kind == "integer" else scalar


def _plain(value: dict[str, Any]) -> dict[str, Any]:
    """numpy scalars to JSON-ready Python values."""
    out = {}
    for key, item in value.items():
        out[key] = item.item() if hasattr(item, "item") else item
    return out
