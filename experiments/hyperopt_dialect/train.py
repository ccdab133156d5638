"""A training script in mle-toolbox 0.3's style, for the mle-hyperopt search YAMLs here.

The synthetic objective of ../adaptive_search (optimum lr = 0.5, x = 0.5) with the
hand-off mle-toolbox gives a searched script: the searched values in
``train_config`` (Halving, Hyperband and PBT nest them in ``train_config.params``),
the steps to add in ``train_config.extra`` (``sh_num_add_iters`` /
``pbt_num_add_iters``) and the checkpoint to continue from (``mle.model_ckpt``;
older jobs: the path in ``train_config.extra.sh_ckpt`` / ``pbt_ckpt``). It logs
``loss`` and, for the multi-objective search, ``objective_1`` / ``objective_2``
(pulling x towards +0.5 and -0.5). The model is saved with ``mle.log.update(...,
model=..., save=True)`` as the final checkpoint.
"""

import json
import random

from mle_toolbox import MLExperiment


def next_error(error: float, lr: float) -> float:
    """One training step."""
    return error * abs(1.0 - 2.0 * lr)


def loss(error: float, x: float, *, seed: int, step: int) -> float:
    """Loss after ``step`` steps; the noise depends only on seed and step."""
    noise = random.Random(f"{seed}-{step}").gauss(0.0, 0.001)
    return error**2 + (x - 0.5) ** 2 + noise


def objectives(error: float, x: float) -> tuple[float, float]:
    """Two conflicting objectives: x = 0.5 is best for one, x = -0.5 for the other."""
    return error**2 + (x - 0.5) ** 2, error**2 + (x + 0.5) ** 2


def start_state(mle: MLExperiment, extra: dict) -> dict:
    """The checkpoint to continue from (error, step), or a fresh model."""
    state = getattr(mle, "model_ckpt", None)
    path = extra.get("sh_ckpt") or extra.get("pbt_ckpt")
    if not isinstance(state, dict) and path:
        with open(path, encoding="utf-8") as handle:
            state = json.load(handle)
    return dict(state) if isinstance(state, dict) else {"error": 1.0, "step": 0}


def main() -> None:
    mle = MLExperiment()
    cfg = mle.train_config
    params = cfg.get("params") or cfg
    extra = cfg.get("extra") or {}
    state = start_state(mle, extra)
    add = extra.get("sh_num_add_iters", extra.get("pbt_num_add_iters", cfg.num_steps))
    error, step = state["error"], state["step"]
    for step in range(state["step"] + 1, state["step"] + add + 1):
        error = next_error(error, params["lr"])
        first, second = objectives(error, params["x"])
        model = {"error": error, "step": step}
        mle.log.update({"step": step},
                       {"loss": loss(error, params["x"], seed=mle.seed_id, step=step),
                        "objective_1": first, "objective_2": second},
                       model=model, save=True)


if __name__ == "__main__":
    main()
