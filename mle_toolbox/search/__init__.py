"""Adaptive hyperparameter search: batches proposed from the results of earlier ones.

Grid and random search are pure expansions (``expand.py``); the strategies here
(``smbo``, ``successive-halving``, ``hyperband``, ``pbt``) run as a loop of
propose -> run -> observe, recorded in ``search_log.jsonl``. Nothing heavy is
imported here: Optuna is imported only when an SMBO search starts.
"""

from __future__ import annotations

ADAPTIVE_TYPES = ("smbo", "successive-halving", "hyperband", "pbt")
BUDGET_TYPES = ("successive-halving", "hyperband", "pbt")  # they write budget_key


def is_adaptive(search_type: str | None) -> bool:
    """True for search types that run as a batched propose/observe loop."""
    return search_type in ADAPTIVE_TYPES
