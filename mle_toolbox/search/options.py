"""What every strategy's options share, and where they are read from.

Options come in two dialects, both accepted for every search type:

* ours: flat keys of ``search_config`` (``min_budget: 1``, ``sampler: tpe``);
* mle-hyperopt's: a nested block ``search_config.search_config`` (older YAMLs:
  ``smbo_config`` / ``nevergrad_config``), e.g. ``{max_resource: 27, eta: 3}``.

``OptionSource`` reads a key from whichever holds it, so an error names the key
path the user wrote. Each strategy module parses and validates its own options
into a subclass of ``SearchOptions`` (``parse_options``).
"""

from __future__ import annotations

import math
from collections.abc import Collection

from ..config.schema import CONFIG_KEY, Node, describe, finite_number
from ..records import record

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import Any

NESTED_KEYS = ("search_config", "smbo_config", "nevergrad_config")


@record
class SearchOptions:
    """Options every search type has.

    ``num_batches`` and ``evals_per_batch`` come from ``search_resources``.
    ``budget_key`` is the config key a budgeted run's budget is written to (None:
    only ``train_config.extra`` carries it, as mle-toolbox does). ``upstream`` is
    True when the options came in mle-hyperopt's nested block: then a budgeted
    run gets its parameters under ``train_config.params`` as mle-toolbox wrote them.
    ``metric_to_model`` is the eval metric a model-based strategy optimises.
    """

    num_batches: int | None = None
    evals_per_batch: int | None = None
    budget_key: str | None = None
    upstream: bool = False
    metric_to_model: str | None = None

    @property
    def adaptive(self) -> bool:
        """Overridden by options that make a plain expansion adaptive (refine_after)."""
        return False

    def needs(self) -> tuple[tuple[str, str], ...] | None:
        """(module, pip extra) pairs when the options pick another library than the row's."""
        return None


class OptionSource:
    """The flat ``search_config`` node, the nested block (if any) and ``search_resources``."""

    def __init__(self, cfg: Node, res: Node) -> None:
        self.cfg = cfg
        self.res = res
        given = [k for k in NESTED_KEYS if cfg.has(k)]
        if len(given) > 1:
            raise cfg.error(given[1], f"give the strategy options in one block, not both "
                            f"{given[0]} and {given[1]}")
        self.inner = cfg.section(given[0]) if given else None

    @property
    def upstream(self) -> bool:
        """True when the options came in mle-hyperopt's nested block."""
        return self.inner is not None

    def check_keys(self, keys: Collection[str]) -> None:
        """Warn about unknown keys of the nested block (the flat ones meta.py checks)."""
        if self.inner is not None:
            self.inner.check_keys(keys)

    def node(self, *keys: str) -> Node:
        """The node holding the first of ``keys`` that is given (nested block first)."""
        for source in (self.inner, self.cfg):
            if source is not None and any(source.has(k) for k in keys):
                return source
        return self.inner if self.inner is not None else self.cfg

    def key(self, *keys: str) -> str:
        """The first of ``keys`` that is given (its spelling in the YAML), else the first."""
        node = self.node(*keys)
        return next((k for k in keys if node.has(k)), keys[0])

    def has(self, *keys: str) -> bool:
        """True when any of ``keys`` is given in either place."""
        return self.node(*keys).has(self.key(*keys))

    def integer(self, *keys: str, default: int | None = None, minimum: int | None = None
                ) -> int | None:
        """A whole number under any of ``keys`` (the alternative spellings of one option)."""
        key = self.key(*keys)
        return self.node(*keys).integer(key, default=default, minimum=minimum)

    def number(self, *keys: str) -> float | None:
        """A finite number under any of ``keys``."""
        key = self.key(*keys)
        return self.node(*keys).number(key)

    def string(self, *keys: str, choices: Collection[str] | None = None) -> str | None:
        """A string under any of ``keys``."""
        key = self.key(*keys)
        return self.node(*keys).string(key, choices=choices)

    def raw(self, *keys: str) -> Any:
        """The value as written (None when absent)."""
        return self.node(*keys).data.get(self.key(*keys))

    def error(self, *keys: str, message: str) -> Exception:
        """A ConfigError at the option (where it is given, or where it belongs)."""
        return self.node(*keys).error(self.key(*keys), message)

    def fraction(self, *keys: str, default: float, high: float) -> float:
        """A number in (0, high]."""
        value = self.number(*keys)
        if value is None:
            return default
        if not 0.0 < value <= high:
            raise self.error(*keys, message=f"must be in (0, {high}], got "
                             f"{describe(self.raw(*keys))}")
        return value

    def factors(self, *keys: str, default: tuple[float, ...]) -> tuple[float, ...]:
        """A non-empty list of positive numbers."""
        value = self.raw(*keys)
        if value is None:
            return default
        if (not isinstance(value, list) or not value or not all(
                finite_number(v) is not None and not isinstance(v, str | bool) and v > 0
                for v in value)):
            raise self.error(*keys, message=f"expected a list of positive numbers, "
                             f"got {describe(value)}")
        return tuple(float(v) for v in value)

    def budget_key(self, *, budgeted: bool) -> str | None:
        """Where a budgeted run's budget goes: ``budget_key``, by default ``num_steps``.

        In mle-hyperopt's dialect the budget travels in ``train_config.extra`` only,
        unless a ``budget_key`` is given.
        """
        if not budgeted:
            return None
        if not self.has("budget_key"):
            return None if self.upstream else "num_steps"
        key = self.string("budget_key") or ""
        if not CONFIG_KEY.fullmatch(key):
            raise self.error("budget_key", message="expected a config key (letters, digits, "
                             "_ and -, dotted for a nested key), got " + describe(key))
        return key

    def batches(self) -> tuple[int | None, int | None]:
        """``num_search_batches`` and ``num_evals_per_batch`` of ``search_resources``."""
        return (self.res.integer("num_search_batches", minimum=1),
                self.res.integer("num_evals_per_batch", minimum=1))

    def require_batches(self, name: str) -> tuple[int, int]:
        """Both batch numbers, or an error naming the missing one."""
        batches, per_batch = self.batches()
        for key, value in (("num_search_batches", batches),
                           ("num_evals_per_batch", per_batch)):
            if value is None:
                raise self.res.error(key, f"{name} search needs {key}")
        assert batches is not None and per_batch is not None
        return batches, per_batch


def rung_budgets(min_budget: int, max_budget: int, eta: int) -> tuple[int, ...]:
    """Rung budgets of successive halving: min_budget * eta**k, the last one max_budget."""
    rungs = math.floor(math.log(max_budget / min_budget, eta) + 1e-9)
    out = [min_budget * eta ** k for k in range(rungs)]
    return (*out, max_budget)
