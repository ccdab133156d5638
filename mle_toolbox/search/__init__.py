"""Hyperparameter search: the registry of search types, their strategies and the loop.

Grid and plain random search are pure expansions (``config/expand.py``); the
adaptive types (Coordinate, SMBO, Nevergrad, Halving, Hyperband, PBT, and Random
with ``refine_after``) run as a loop of propose -> run -> observe, recorded in
``search_log.jsonl``. Every type is a row of ``registry.py``. Nothing heavy is
imported here: scikit-learn, Optuna or nevergrad only when such a search starts.

Hand-off to the script (what mle-toolbox 0.3 with mle-hyperopt writes into each
run's config, so its scripts run unchanged):

* ``train_config.<name>`` (or the dotted path) for each searched value; for
  Halving / Hyperband / PBT given in mle-hyperopt's nested ``search_config``
  block, ``train_config.params.<name>`` as mle-toolbox wrote them;
* ``train_config.extra`` for budgeted and population strategies:
  ``sh_num_total_iters``, ``sh_num_add_iters``, ``sh_counter`` (``hb_counter``)
  and ``sh_ckpt``; ``pbt_num_total_iters``, ``pbt_num_add_iters``,
  ``pbt_worker_id``, ``pbt_step_counter``, ``pbt_explore``, ``pbt_copy_id`` and
  ``pbt_ckpt``. ``sh_ckpt`` / ``pbt_ckpt`` is the path of the parent run's final
  checkpoint (first seed) and is set only when the parent saved one; the job
  side (``MLExperiment``) loads it as ``mle.model_ckpt``, as mle-toolbox does;
* ``train_config.<budget_key>``: the budget (our dialect; default ``num_steps``);
* ``mle_search``: our block (search type, batch, eval id, budget, checkpoint_dir,
  resume_from, parent), unchanged.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from ..config.meta_types import SearchConfig


def is_adaptive(search: SearchConfig | None) -> bool:
    """True for searches that run as a batched propose/observe loop."""
    if search is None:
        return False
    from .registry import get
    return get(search.search_type).adaptive or search.options.adaptive
