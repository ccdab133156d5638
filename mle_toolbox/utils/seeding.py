"""mle-toolbox's ``set_random_seeds``: seed every generator a training script may use.

As mle-toolbox 0.3.5 does: ``PYTHONHASHSEED`` (for child processes), ``random``, numpy's
global generator, torch (CPU, every CUDA device, and deterministic cuDNN) and old gym's
``spaces.prng``, each only when installed; ``return_key=True`` gives a jax PRNG key.
mle-toolbox imported numpy, torch, gym and jax when ``mle_toolbox.utils`` was imported;
here they are imported when the seeds are set, so a script that never seeds pays nothing.
"""

from __future__ import annotations

import os
import random
import sys
from typing import Any

from ..job.seeds import seed_numpy, seed_torch


def set_random_seeds(seed_id: int | None, return_key: bool = False,
                     verbose: bool = False) -> Any:
    """Seed random, numpy, torch and gym (those installed) with ``seed_id``.

    ``seed_id=None`` changes nothing and says so. ``return_key``: return
    ``jax.random.PRNGKey(seed_id)`` (ValueError when jax is not installed), else None.
    """
    if seed_id is None:
        print("set_random_seeds: seed_id is None: the generators keep their own seeds")
        return None
    os.environ["PYTHONHASHSEED"] = str(seed_id)
    random.seed(seed_id)
    seeded = ["random"]
    numpy = installed_module("numpy")
    if numpy is not None:
        seed_numpy(numpy, seed_id)
        seeded.append("numpy")
    torch = installed_module("torch")
    if torch is not None:
        _seed_torch(torch, seed_id)
        seeded.append("torch")
    gym = installed_module("gym")
    if gym is not None:
        prng = getattr(getattr(gym, "spaces", None), "prng", None)
        if prng is not None:  # gym before 0.10 shared one generator for its spaces
            prng.seed(seed_id)
        seeded.append("gym")
    if verbose:
        print(f"set_random_seeds: seeded {', '.join(seeded)} with {seed_id}")
    if not return_key:
        return None
    jax = installed_module("jax")
    if jax is None:
        raise ValueError("set_random_seeds(return_key=True) makes a jax PRNG key: "
                         "install jax (pip install jax)")
    return jax.random.PRNGKey(seed_id)


def _seed_torch(torch: Any, seed_id: int) -> None:
    seed_torch(torch, seed_id)  # what MLExperiment does too
    if torch.cuda.is_available():  # mle-toolbox seeds the devices explicitly as well
        torch.cuda.manual_seed_all(seed_id)


def installed_module(name: str) -> Any:
    """The module ``name`` when it is installed (imported now if need be), else None
    (also for one that is installed but fails to import)."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    import importlib.util

    if importlib.util.find_spec(name) is None:
        return None
    try:
        return __import__(name)
    except ImportError:  # installed but broken (a missing native library): not seeded
        return None
