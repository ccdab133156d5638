"""The one registry of search types: every name a meta YAML may give, and what runs it.

A row says how a search type is spelt (mle-hyperopt's name first, then the older
lowercase names and our own), whether it runs as the batched propose/observe loop
(``adaptive``), whether its runs get a budget and may continue from a parent's
checkpoint (``budgeted``), the module whose ``Strategy`` class runs it and whose
``parse_options`` reads its options, and the optional extra it needs.

A new strategy is one module in ``search/`` (an options dataclass, ``parse_options``
and a ``Strategy`` subclass named in the row) and one row here. Nothing here
imports a strategy module: ``load`` does, when that type is used.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import MleError
from ..records import record


class MissingExtra(MleError):  # noqa: N818 - reads as the condition it reports
    """An optional dependency of the chosen search type is not installed."""

    exit_code = 2


@record
class SearchType:
    """One row of the registry."""

    name: str  # as mle-hyperopt writes it
    aliases: tuple[str, ...]  # other accepted spellings (matched case-insensitively)
    adaptive: bool  # runs as the propose/observe loop (Random: only with refine_after)
    budgeted: bool  # runs get a budget and continue from a parent's checkpoint
    module: str  # mle_toolbox.search.<module>: parse_options and the strategy class
    strategy: str | None  # class name in that module (None: a pure expansion, expand.py)
    requires: tuple[str, ...] = ()  # importable modules it needs
    extra: str | None = None  # the pip extra that installs them

    @property
    def spellings(self) -> tuple[str, ...]:
        """Every accepted spelling, the upstream name first."""
        return (self.name, *self.aliases)

    def load(self) -> Any:
        """The strategy's module (imported now)."""
        return importlib.import_module(f"mle_toolbox.search.{self.module}")

    def check_installed(self, needs: tuple[tuple[str, str], ...] | None = None) -> None:
        """Refuse a search whose optional library is missing, naming the pip line.

        ``needs`` (module, extra) pairs replace the row's own when the options choose
        another library (SMBO with ``sampler``: Optuna).
        """
        pairs = needs if needs is not None else tuple((m, self.extra or m)
                                                      for m in self.requires)
        for module, extra in pairs:
            try:  # imported now: the search needs it next anyway
                importlib.import_module(module)
            except ImportError as err:
                raise MissingExtra(f"search_type {self.name} needs {module}: "
                                   f"pip install 'mle_toolbox[{extra}]'") from err


REGISTRY: tuple[SearchType, ...] = (
    SearchType(name="Random", aliases=("random",), adaptive=False, budgeted=False,
               module="random_search", strategy="RandomStrategy"),
    SearchType(name="Grid", aliases=("grid",), adaptive=False, budgeted=False,
               module="random_search", strategy=None),
    SearchType(name="Coordinate", aliases=("coordinate",), adaptive=True, budgeted=False,
               module="coordinate", strategy="CoordinateStrategy"),
    SearchType(name="SMBO", aliases=("smbo",), adaptive=True, budgeted=False,
               module="smbo", strategy="make_strategy", requires=("sklearn",),
               extra="smbo"),
    SearchType(name="Nevergrad", aliases=("nevergrad",), adaptive=True, budgeted=False,
               module="nevergrad_search", strategy="NevergradStrategy",
               requires=("nevergrad",), extra="nevergrad"),
    SearchType(name="Halving", aliases=("halving", "successive-halving",
                                        "successive_halving"),
               adaptive=True, budgeted=True, module="halving", strategy="HalvingStrategy"),
    SearchType(name="Hyperband", aliases=("hyperband",), adaptive=True, budgeted=True,
               module="halving", strategy="HalvingStrategy"),
    SearchType(name="PBT", aliases=("pbt",), adaptive=True, budgeted=True,
               module="pbt", strategy="PbtStrategy"),
)
_BY_SPELLING = {s.lower(): row for row in REGISTRY for s in row.spellings}


def lookup(name: str) -> SearchType | None:
    """The row of a search type by any of its spellings (case-insensitive)."""
    return _BY_SPELLING.get(name.strip().lower())


def get(name: str) -> SearchType:
    """The row of a search type by its registry name (``SearchConfig.search_type``)."""
    row = lookup(name)
    if row is None:
        raise KeyError(name)
    return row


def supported() -> str:
    """Every search type for an error message: ``Random (random), Grid (grid), ...``."""
    return ", ".join(f"{r.name} ({', '.join(r.aliases)})" for r in REGISTRY)
