"""Search spaces of ``param_search_args`` and the grid / random samplers over them."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

from ..records import record
from .schema import CONFIG_KEY, Node, describe, over_cap

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    import random
    from typing import Any

KINDS = ("real", "integer", "categorical")
PRIORS = ("uniform", "log-uniform")


@record
class SearchParam:
    """One searched hyperparameter."""

    name: str
    kind: str  # one of KINDS
    begin: float | None = None
    end: float | None = None
    bins: int | None = None
    prior: str = "uniform"
    values: tuple[Any, ...] = ()

    def grid(self) -> tuple[Any, ...]:
        """The values of this parameter on a grid."""
        if self.kind == "categorical":
            return self.values
        assert self.begin is not None and self.end is not None and self.bins is not None
        points = _linspace(self.begin, self.end, self.bins, log=self.prior == "log-uniform")
        if self.kind == "integer":
            return tuple(dict.fromkeys(round(p) for p in points))
        return tuple(points)

    def sample(self, rng: random.Random) -> Any:
        """One random value of this parameter."""
        if self.kind == "categorical":
            return self.values[rng.randrange(len(self.values))]
        assert self.begin is not None and self.end is not None
        if self.prior == "log-uniform":
            value = math.exp(rng.uniform(math.log(self.begin), math.log(self.end)))
            # exp(log(x)) may miss x by a rounding error: keep the value inside the range.
            # An integer on a log scale is rounded, as its grid points are.
            if self.kind == "integer":
                return min(max(round(value), int(self.begin)), int(self.end))
            return min(max(value, float(self.begin)), float(self.end))
        if self.kind == "integer":
            return rng.randint(int(self.begin), int(self.end))
        return rng.uniform(self.begin, self.end)


def _linspace(begin: float, end: float, bins: int, *, log: bool) -> list[float]:
    if bins == 1:
        return [begin]
    if log:
        lo, hi = math.log(begin), math.log(end)
        points = [math.exp(lo + (hi - lo) * i / (bins - 1)) for i in range(bins)]
    else:
        points = [begin + (end - begin) * i / (bins - 1) for i in range(bins)]
    # 12 significant digits: 0.001 stays 0.001 instead of 0.0010000000000000002.
    return [float(f"{p:.12g}") for p in points]


def grid_points(params: tuple[SearchParam, ...]) -> Iterator[dict[str, Any]]:
    """Cartesian product of every parameter's grid, first parameter slowest."""
    names = [p.name for p in params]
    for combo in itertools.product(*(p.grid() for p in params)):
        yield dict(zip(names, combo, strict=True))


def grid_size(params: tuple[SearchParam, ...]) -> int:
    """Number of points of the grid without building it."""
    return math.prod(len(p.grid()) for p in params)


def random_points(params: tuple[SearchParam, ...], *, count: int,
                  seed: int) -> list[dict[str, Any]]:
    """``count`` random points from a generator seeded with ``seed`` (deterministic)."""
    import random  # here: a grid or config sweep never samples (~2 ms of every launch)

    rng = random.Random(seed)
    return [{p.name: p.sample(rng) for p in params} for _ in range(count)]


def parse_search_params(node: Node, *, search_type: str) -> tuple[SearchParam, ...]:
    """Read ``search_config.search_params`` into SearchParams, validating each."""
    node.check_keys(KINDS)
    params: list[SearchParam] = []
    for kind in KINDS:
        group = node.section(kind)
        if group is None:
            continue
        for name in group.data:
            if not CONFIG_KEY.fullmatch(str(name)):
                raise group.error(str(name), "a search parameter is a config key: letters, "
                                  "digits, _ and -, dotted for a nested key "
                                  "(model_config.width)")
            params.append(_parse_param(group, str(name), kind=kind, search_type=search_type))
    if not params:
        raise node.error(None, "no parameters to search: give real, integer or categorical")
    names = [p.name for p in params]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise node.error(None, f"parameter {dup!r} is defined twice")
    return tuple(params)


def _parse_param(group: Node, name: str, *, kind: str, search_type: str) -> SearchParam:
    if kind == "categorical":
        values = group.data[name]
        if not isinstance(values, list) or not values:
            raise group.error(name, f"expected a non-empty list of values, got {describe(values)}")
        return SearchParam(name=name, kind=kind, values=tuple(values))
    spec = group.section(name, required=True)
    assert spec is not None
    spec.check_keys(("begin", "end", "bins", "prior"))
    begin, end = spec.number("begin", required=True), spec.number("end", required=True)
    assert begin is not None and end is not None
    if kind == "integer" and (begin != int(begin) or end != int(end)):
        raise spec.error(None, f"integer range needs whole numbers, got {begin} .. {end}")
    if begin > end or (kind == "real" and begin == end):
        raise spec.error("end", f"must be greater than begin ({begin}), got {end}")
    prior = spec.string("prior", choices=PRIORS) or "uniform"
    if prior == "log-uniform" and begin <= 0:
        raise spec.error("begin", f"log-uniform prior needs begin > 0, got {begin}")
    bins = spec.integer("bins", minimum=1)
    refusal = over_cap(bins or 0, what="this")
    if refusal:
        raise spec.error("bins", refusal)
    if search_type in ("grid", "coordinate") and bins is None:
        raise spec.error("bins", f"{search_type} search needs the number of grid points "
                         "(bins)")
    return SearchParam(name=name, kind=kind, begin=begin, end=end, bins=bins, prior=prior)
