"""Grid and random search, and random search that refines its space (``refine_after``).

Grid search and plain random search are pure expansions (``config/expand.py``).
With mle-hyperopt's ``refine_after`` (a number of evaluations, or a list of them)
random search runs as the batched loop: once that many evaluations are done, the
space shrinks to what the best ``refine_top_k`` used (real and integer ranges to
their min..max, categoricals to their values) and sampling goes on there.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..config.meta_types import SearchConfig
from ..config.search_space import SearchParam
from .base import Evaluation, Proposal, Strategy, rank_key
from .options import OptionSource, SearchOptions
from .registry import SearchType

OPTION_KEYS = ("refine_after", "refine_top_k")


@dataclass(frozen=True, slots=True)
class RandomOptions(SearchOptions):
    """``refine_after``: evaluation counts after which the space is refined."""

    refine_after: tuple[int, ...] = ()
    refine_top_k: int = 5

    @property
    def adaptive(self) -> bool:
        """Refining needs results, so such a search runs as the batched loop."""
        return bool(self.refine_after)


def parse_options(src: OptionSource, *, row: SearchType,
                  params: tuple[SearchParam, ...]) -> SearchOptions:
    """Grid has no options; Random has ``refine_after`` and ``refine_top_k``."""
    del params
    batches, per_batch = src.batches()
    if row.name == "Grid":
        src.check_keys(())
        return SearchOptions(num_batches=batches, evals_per_batch=per_batch,
                             upstream=src.upstream)
    src.check_keys(OPTION_KEYS)
    refine = _refine_after(src)
    top_k = src.integer("refine_top_k", default=5, minimum=2) or 5
    if refine:
        src.require_batches("random search with refine_after")
    return RandomOptions(num_batches=batches, evals_per_batch=per_batch,
                         upstream=src.upstream, refine_after=refine, refine_top_k=top_k)


def _refine_after(src: OptionSource) -> tuple[int, ...]:
    value = src.raw("refine_after")
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                            for v in items) or sorted(set(items)) != items:
        raise src.error("refine_after", message="expected a positive number of evaluations "
                        f"or an increasing list of them, got {value!r}")
    return tuple(items)


class RandomStrategy(Strategy):
    """Random batches; the space narrows to the top-k after each ``refine_after`` count."""

    def __init__(self, search: SearchConfig) -> None:
        super().__init__(search)
        assert isinstance(self.options, RandomOptions)
        self.opts: RandomOptions = self.options
        self.space = search.params
        self.done: list[Evaluation] = []
        self.refined = 0

    def propose(self, batch: int) -> list[Proposal]:
        """``num_evals_per_batch`` random points of the current space."""
        opts = self.opts
        assert opts.num_batches is not None and opts.evals_per_batch is not None
        if batch > opts.num_batches:
            return []
        return [Proposal(eval_id=self.new_id(batch),
                         params={p.name: p.sample(self.rng) for p in self.space})
                for _ in range(opts.evals_per_batch)]

    def observe(self, evaluations: list[Evaluation]) -> None:
        """Refine when the evaluation count passes the next ``refine_after``."""
        self.done += evaluations
        after = self.opts.refine_after
        while self.refined < len(after) and len(self.done) >= after[self.refined]:
            self.refined += 1
            self.space = self._refine()

    def _refine(self) -> tuple[SearchParam, ...]:
        top = [e for e in sorted(self.done, key=rank_key) if not e.failed]
        top = top[:self.opts.refine_top_k]
        if not top:
            return self.space
        out = []
        for param in self.search.params:
            values = [e.proposal.params[param.name] for e in top]
            if param.kind == "categorical":
                kept = tuple(v for v in param.values if v in values)
                out.append(dataclasses.replace(param, values=kept))
            else:
                out.append(dataclasses.replace(param, begin=min(values), end=max(values)))
        return tuple(out)
