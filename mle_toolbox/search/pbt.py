"""Population-based training: train a population for a few steps, then let the worst
members copy the checkpoints of the best (exploit) and change their hyperparameters
(explore). Each generation is one batch; ``num_search_batches`` generations.

Options, both dialects (mle-hyperopt's in the nested ``search_config`` block):

* population: ``num_workers`` (ours: ``num_evals_per_batch``);
* steps per generation: ``steps_until_ready`` (ours: ``steps_per_generation``);
* ``exploit: {strategy: truncation, selection_percent: 0.2}`` or
  ``{strategy: binary_tournament}`` (ours: ``truncation: 0.25``);
* ``explore: {strategy: perturbation, perturb_coeffs: [0.8, 1.2]}``, ``resampling`` or
  ``{strategy: additive-noise, noise_scale: 0.2}`` (ours: ``perturb_factors``,
  ``resample_probability`` for categoricals).

The script gets ``train_config.extra`` as mle-hyperopt writes it: ``pbt_num_total_iters``,
``pbt_num_add_iters``, ``pbt_worker_id``, ``pbt_step_counter``, ``pbt_explore``,
``pbt_copy_id`` and ``pbt_ckpt`` (the checkpoint to continue from).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config.meta_types import SearchConfig
from ..config.schema import Node, describe
from ..config.search_space import SearchParam
from .base import Evaluation, Proposal, Strategy, rank_key
from .options import OptionSource, SearchOptions
from .registry import SearchType

OPTION_KEYS = ("budget_key", "steps_per_generation", "steps_until_ready", "num_workers",
               "truncation", "perturb_factors", "resample_probability", "explore", "exploit")
EXPLORE = ("perturbation", "resampling", "additive-noise")
EXPLOIT = ("truncation", "binary_tournament")


@dataclass(frozen=True, slots=True)
class PbtOptions(SearchOptions):
    """Population, generation length and the explore / exploit rules."""

    steps: int = 1
    population: int = 2
    explore: str = "perturbation"
    perturb_factors: tuple[float, ...] = (0.8, 1.2)
    resample_probability: float = 0.25
    noise_scale: float = 0.2
    exploit: str = "truncation"
    truncation: float = 0.25


def parse_options(src: OptionSource, *, row: SearchType,
                  params: tuple[SearchParam, ...]) -> PbtOptions:
    """Read either dialect of PBT."""
    del params, row
    src.check_keys(OPTION_KEYS)
    batches, per_batch = src.batches()
    if batches is None:
        raise src.res.error("num_search_batches", "pbt search needs num_search_batches "
                            "(the number of generations)")
    population = src.integer("num_workers", minimum=2) if src.has("num_workers") else per_batch
    if population is None:
        raise src.res.error("num_evals_per_batch", "pbt search needs num_workers (or "
                            "num_evals_per_batch): the population size")
    if population < 2:
        raise src.res.error("num_evals_per_batch", "pbt needs a population of at least 2")
    steps = src.integer("steps_until_ready", "steps_per_generation", minimum=1)
    if steps is None:
        key = "steps_until_ready" if src.upstream else "steps_per_generation"
        raise src.error(key, message=f"pbt needs {key} (the budget each generation "
                        "trains for)")
    explore = _rule(src, "explore", EXPLORE, default="perturbation")
    exploit = _rule(src, "exploit", EXPLOIT, default="truncation")
    return PbtOptions(
        num_batches=batches, evals_per_batch=population,
        budget_key=src.budget_key(budgeted=True), upstream=src.upstream,
        steps=steps, population=population, explore=explore.string("strategy") or "",
        perturb_factors=_factors(src, explore),
        # mle-hyperopt's perturbation resamples every categorical; ours one in four.
        resample_probability=src.fraction("resample_probability",
                                          default=1.0 if src.upstream else 0.25, high=1.0),
        noise_scale=explore.number("noise_scale") or 0.2,
        exploit=exploit.string("strategy") or "",
        truncation=_truncation(src, exploit),
    )


def _rule(src: OptionSource, key: str, choices: tuple[str, ...], *, default: str) -> Node:
    """The ``explore`` / ``exploit`` block (a mapping with ``strategy``, or just its name)."""
    node = src.node(key)
    value = node.data.get(key)
    if value is None or isinstance(value, str):
        data = {"strategy": value or default}
        rule = Node(data, src=node.src, path=(*node.path, key))
    else:
        rule = node.section(key) or Node({}, src=node.src, path=(*node.path, key))
    rule.check_keys(("strategy", "perturb_coeffs", "noise_scale", "selection_percent"))
    rule.string("strategy", choices=choices)
    if not rule.has("strategy"):
        raise rule.error("strategy", f"expected one of {', '.join(choices)}")
    return rule


def _factors(src: OptionSource, explore: Node) -> tuple[float, ...]:
    if explore.has("perturb_coeffs"):
        return OptionSource(explore, src.res).factors("perturb_coeffs", default=(0.8, 1.2))
    return src.factors("perturb_factors", default=(0.8, 1.2))


def _truncation(src: OptionSource, exploit: Node) -> float:
    value = exploit.number("selection_percent")
    if value is None:
        return src.fraction("truncation", default=0.25, high=0.5)
    if not 0.0 < value <= 0.5:
        raise exploit.error("selection_percent", f"must be in (0, 0.5], got "
                            f"{describe(exploit.data['selection_percent'])}")
    return value


class PbtStrategy(Strategy):
    """``population`` members, ``num_search_batches`` generations."""

    CKPT_KEY = "pbt_ckpt"

    def __init__(self, search: SearchConfig) -> None:
        super().__init__(search)
        assert isinstance(self.options, PbtOptions)
        self.opts: PbtOptions = self.options
        self.members: list[Evaluation] = []

    def propose(self, batch: int) -> list[Proposal]:
        """Generation ``batch``: fresh members first, then exploit/explore."""
        opts = self.opts
        assert opts.num_batches is not None
        if batch > opts.num_batches:
            return []
        budget = batch * opts.steps
        if not self.members:
            return [Proposal(eval_id=self.new_id(batch), params=self.sample(), budget=budget,
                             extra=self._extra(batch, worker=w, explore=False, source=None))
                    for w in range(opts.population)]
        ranked = sorted(self.members, key=rank_key)
        # One member at a time (pick a source, then explore), so the draws interleave.
        return [self._next(member, worker=w, batch=batch, budget=budget,
                           source=self._source(member, ranked))
                for w, member in enumerate(self.members)]

    def _source(self, member: Evaluation, ranked: list[Evaluation]) -> Evaluation | None:
        """The member to copy (None: carry on with its own weights)."""
        if self.opts.exploit == "binary_tournament":
            other = self.rng.choice([m for m in self.members if m is not member])
            worse = member.failed or (not other.failed and rank_key(other) < rank_key(member))
            return other if worse else None
        cut = max(1, round(len(ranked) * self.opts.truncation))
        top = [e for e in ranked[:cut] if not e.failed]
        worst = member in ranked[len(ranked) - cut:] or member.failed
        return self.rng.choice(top) if worst and top else None

    def _extra(self, batch: int, *, worker: int, explore: bool,
               source: Evaluation | None) -> dict[str, Any]:
        extra: dict[str, Any] = {
            "pbt_num_total_iters": batch * self.opts.steps,
            "pbt_num_add_iters": self.opts.steps, "pbt_worker_id": worker,
            "pbt_step_counter": batch - 1}
        if batch > 1:
            extra["pbt_explore"] = explore
            if source is not None:
                extra["pbt_copy_id"] = source.proposal.eval_id
        return extra

    def _next(self, member: Evaluation, *, worker: int, batch: int, budget: int,
              source: Evaluation | None) -> Proposal:
        eval_id = self.new_id(batch)
        if source is not None:  # exploit the source's checkpoint, explore around its params
            return Proposal(eval_id=eval_id, params=self._explore(source.proposal.params),
                            budget=budget, parent=source.proposal.eval_id,
                            resume_budget=source.proposal.budget,
                            extra=self._extra(batch, worker=worker, explore=True,
                                              source=source))
        extra = self._extra(batch, worker=worker, explore=False, source=None)
        if member.failed:  # nothing to continue from and nobody to copy: start again
            return Proposal(eval_id=eval_id, params=self.sample(), budget=budget, extra=extra)
        return Proposal(eval_id=eval_id, params=member.proposal.params, budget=budget,
                        parent=member.proposal.eval_id, resume_budget=member.proposal.budget,
                        extra=extra)

    def _explore(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.opts.explore == "resampling":
            return self.sample()
        return {p.name: self._explore_one(p, params[p.name]) for p in self.search.params}

    def _explore_one(self, param: SearchParam, value: Any) -> Any:
        if param.kind == "categorical":
            if self.rng.random() < self.opts.resample_probability:
                return param.sample(self.rng)
            return value
        assert param.begin is not None and param.end is not None
        if self.opts.explore == "additive-noise":
            moved = value + self.rng.gauss(0.0, 1.0) * self.opts.noise_scale
        else:
            moved = value * self.rng.choice(self.opts.perturb_factors)
        # Unlike mle-hyperopt, an explored value stays inside the searched range.
        if param.kind == "integer":
            return int(min(max(round(moved), param.begin), param.end))
        return float(min(max(moved, param.begin), param.end))

    def observe(self, evaluations: list[Evaluation]) -> None:
        """The generation's results become the population the next one starts from."""
        self.members = list(evaluations)
