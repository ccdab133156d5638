"""Options of the adaptive strategies in ``search_config``, validated by key path."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..config.schema import CONFIG_KEY, Node, describe, finite_number

SAMPLERS = ("tpe", "gp")
OPTION_KEYS = (
    "sampler", "num_startup_evals", "budget_key", "min_budget", "max_budget", "eta",
    "steps_per_generation", "truncation", "perturb_factors", "resample_probability",
)


@dataclass(frozen=True, slots=True)
class StrategyOptions:
    """Everything an adaptive strategy needs besides the search space.

    ``num_batches`` and ``evals_per_batch`` come from ``search_resources``; for
    successive halving ``evals_per_batch`` is the number of configs of the first rung,
    for PBT the population size (and ``num_batches`` the number of generations).
    """

    num_batches: int | None = None
    evals_per_batch: int | None = None
    sampler: str = "tpe"
    num_startup_evals: int | None = None
    budget_key: str = "num_steps"
    min_budget: int | None = None
    max_budget: int | None = None
    eta: int = 3
    steps_per_generation: int | None = None
    truncation: float = 0.25
    perturb_factors: tuple[float, ...] = (0.8, 1.2)
    resample_probability: float = 0.25

    def budgets(self) -> tuple[int, ...]:
        """Rung budgets of successive halving: min_budget * eta**k, the last one max_budget."""
        assert self.min_budget is not None and self.max_budget is not None
        rungs = math.floor(math.log(self.max_budget / self.min_budget, self.eta) + 1e-9)
        out = [self.min_budget * self.eta ** k for k in range(rungs)]
        return (*out, self.max_budget)


def parse_options(cfg: Node, res: Node, *, search_type: str) -> StrategyOptions:
    """Read and check the options that ``search_type`` uses; others are ignored."""
    batches = res.integer("num_search_batches", minimum=1)
    per_batch = res.integer("num_evals_per_batch", minimum=1)
    opts = StrategyOptions(
        num_batches=batches, evals_per_batch=per_batch,
        sampler=(cfg.string("sampler", choices=SAMPLERS) or "tpe"),
        num_startup_evals=cfg.integer("num_startup_evals", minimum=1),
        budget_key=_budget_key(cfg),
        min_budget=cfg.integer("min_budget", minimum=1),
        max_budget=cfg.integer("max_budget", minimum=1),
        eta=cfg.integer("eta", default=3, minimum=2) or 3,
        steps_per_generation=cfg.integer("steps_per_generation", minimum=1),
        truncation=_fraction(cfg, "truncation", default=0.25, high=0.5),
        perturb_factors=_factors(cfg),
        resample_probability=_fraction(cfg, "resample_probability", default=0.25, high=1.0),
    )
    _require(opts, cfg, res, search_type=search_type)
    return opts


def _require(opts: StrategyOptions, cfg: Node, res: Node, *, search_type: str) -> None:
    if search_type in ("smbo", "pbt"):
        for key, value in (("num_search_batches", opts.num_batches),
                           ("num_evals_per_batch", opts.evals_per_batch)):
            if value is None:
                raise res.error(key, f"{search_type} search needs {key}")
    if search_type == "pbt":
        if opts.steps_per_generation is None:
            raise cfg.error("steps_per_generation", "pbt needs steps_per_generation "
                            "(the budget each generation trains for)")
        if (opts.evals_per_batch or 0) < 2:
            raise res.error("num_evals_per_batch", "pbt needs a population of at least 2")
    if search_type in ("successive-halving", "hyperband"):
        if search_type == "successive-halving" and opts.evals_per_batch is None:
            raise res.error("num_evals_per_batch", "successive-halving needs "
                            "num_evals_per_batch (the number of configs of the first rung)")
        for key in ("min_budget", "max_budget"):
            if not cfg.has(key):
                raise cfg.error(key, f"{search_type} needs {key}")
        assert opts.min_budget is not None and opts.max_budget is not None
        if opts.min_budget >= opts.max_budget:
            raise cfg.error("max_budget", f"must be greater than min_budget "
                            f"({opts.min_budget}), got {opts.max_budget}")
        if opts.min_budget * opts.eta > opts.max_budget:
            raise cfg.error("eta", f"min_budget * eta ({opts.min_budget} * {opts.eta}) is "
                            f"above max_budget ({opts.max_budget}): there would be nothing "
                            "to halve; lower eta or widen the budgets")


def _budget_key(cfg: Node) -> str:
    key = cfg.string("budget_key") or "num_steps"
    if not CONFIG_KEY.fullmatch(key):
        raise cfg.error("budget_key", f"expected a config key (letters, digits, _ and -, "
                        f"dotted for a nested key), got {describe(key)}")
    return key


def _fraction(cfg: Node, key: str, *, default: float, high: float) -> float:
    value = cfg.number(key)
    if value is None:
        return default
    if not 0.0 < value <= high:
        raise cfg.error(key, f"must be in (0, {high}], got {describe(cfg.data[key])}")
    return value


def _factors(cfg: Node) -> tuple[float, ...]:
    value = cfg.data.get("perturb_factors")
    if value is None:
        return (0.8, 1.2)
    if (not isinstance(value, list) or not value or not all(
            finite_number(v) is not None and not isinstance(v, str) and v > 0
            for v in value)):
        raise cfg.error("perturb_factors", f"expected a list of positive numbers, "
                        f"got {describe(value)}")
    return tuple(float(v) for v in value)
