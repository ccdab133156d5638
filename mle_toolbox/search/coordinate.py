"""Coordinate search: a grid over one variable at a time, the others held fixed.

mle-hyperopt's options (either dialect): ``order`` (the variables, first searched
first; default: the order of ``search_params``) and ``defaults`` (the value each
variable holds while it is not searched; default: the middle of its grid). After a
variable's grid is evaluated, every default moves to the best evaluation so far,
then the next variable is searched. Real variables need ``bins``. A batch holds up to
``num_evals_per_batch`` points of one variable (default: its whole grid); points
evaluated before are skipped; ``num_search_batches`` caps the batches if given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..config.meta_types import SearchConfig
from ..config.search_space import SearchParam
from .base import Evaluation, Proposal, Strategy, rank_key
from .options import OptionSource, SearchOptions
from .registry import SearchType

OPTION_KEYS = ("order", "defaults")


@dataclass(frozen=True, slots=True)
class CoordinateOptions(SearchOptions):
    """The search order and the values held while a variable is not searched."""

    order: tuple[str, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict, hash=False)


def parse_options(src: OptionSource, *, row: SearchType,
                  params: tuple[SearchParam, ...]) -> CoordinateOptions:
    """Check ``order`` names searched variables and ``defaults`` lie in their grids' range."""
    del row
    src.check_keys(OPTION_KEYS)
    names = [p.name for p in params]
    order = src.raw("order")
    if order is None:
        order = names
    if (not isinstance(order, list) or not order or len(set(map(str, order))) != len(order)
            or any(o not in names for o in order)):
        raise src.error("order", message=f"expected a list of the searched variables "
                        f"({', '.join(names)}), each once, got {order!r}")
    given = src.raw("defaults") or {}
    if not isinstance(given, dict) or any(k not in names for k in given):
        raise src.error("defaults", message=f"expected a mapping from searched variables "
                        f"({', '.join(names)}) to values, got {given!r}")
    defaults = {p.name: given.get(p.name, _middle(p)) for p in params}
    batches, per_batch = src.batches()
    return CoordinateOptions(num_batches=batches, evals_per_batch=per_batch,
                             upstream=src.upstream, order=tuple(order), defaults=defaults)


def _middle(param: SearchParam) -> Any:
    grid = param.grid()
    return grid[len(grid) // 2]


class CoordinateStrategy(Strategy):
    """One variable at a time, in ``order``; defaults follow the best evaluation."""

    def __init__(self, search: SearchConfig) -> None:
        super().__init__(search)
        assert isinstance(self.options, CoordinateOptions)
        self.opts: CoordinateOptions = self.options
        self.by_name = {p.name: p for p in search.params}
        self.defaults = dict(self.opts.defaults)
        self.todo = list(self.opts.order)
        self.pending: list[dict[str, Any]] = []
        self.seen: set[str] = set()
        self.done: list[Evaluation] = []
        self.active: str | None = None

    def propose(self, batch: int) -> list[Proposal]:
        """The next points of the active variable's grid (or of the next variable's)."""
        if self.opts.num_batches is not None and batch > self.opts.num_batches:
            return []
        while not self.pending:
            if not self.todo:
                return []
            self._next_variable()
        size = self.opts.evals_per_batch or len(self.pending)
        points, self.pending = self.pending[:size], self.pending[size:]
        for point in points:
            self.seen.add(_key(point))
        return [Proposal(eval_id=self.new_id(batch), params=p) for p in points]

    def _next_variable(self) -> None:
        best = [e for e in sorted(self.done, key=rank_key) if not e.failed]
        if best:
            self.defaults.update(best[0].proposal.params)
        self.active = self.todo.pop(0)
        grid = self.by_name[self.active].grid()
        points = [{**self.defaults, self.active: value} for value in grid]
        self.pending = [p for p in points if _key(p) not in self.seen]

    def observe(self, evaluations: list[Evaluation]) -> None:
        """Remember every result: the best sets the defaults of the next variable."""
        self.done += evaluations


def _key(point: dict[str, Any]) -> str:
    return json.dumps(point, sort_keys=True, default=str)
