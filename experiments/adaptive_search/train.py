"""Synthetic objective for the adaptive search examples (and tests): fast, pure Python.

A "model" whose error shrinks by |1 - 2 lr| per step; the loss adds a penalty for x
away from 0.5 and a little seeded noise. The optimum is lr = 0.5, x = 0.5, loss ~ 0.
The script reads its budget from ``train_config.num_steps`` and, when a search gives
it one, continues from the checkpoint in ``mle_search.resume_from``; it saves its
state to ``mle_search.checkpoint_dir``. Run by hand:
    python train.py -config base_config.json -seed 0 -exp_dir /tmp/as
"""

import json
import os
import random
import sys

from mle_toolbox import MLExperiment


def next_error(error: float, lr: float) -> float:
    """One training step."""
    return error * abs(1.0 - 2.0 * lr)


def loss(error: float, x: float, *, seed: int, step: int) -> float:
    """Loss after ``step`` steps; the noise depends only on seed and step."""
    noise = random.Random(f"{seed}-{step}").gauss(0.0, 0.001)
    return error**2 + (x - 0.5) ** 2 + noise


def final_loss(lr: float, x: float, *, steps: int, seed: int) -> float:
    """The last logged loss of an uninterrupted run of ``steps`` steps."""
    error = 1.0
    for _ in range(steps):
        error = next_error(error, lr)
    return loss(error, x, seed=seed, step=steps)


def main() -> None:
    mle = MLExperiment(config_fname="base_config.json")
    cfg = mle.train_config
    search = mle.config.get("mle_search") or {}
    if cfg.x > cfg.get("fail_above_x", float("inf")):
        print(f"diverged: x={cfg.x} is above fail_above_x", file=sys.stderr)
        sys.exit(3)
    error, start = 1.0, 0
    checkpoint = f"seed_{mle.seed_id}.json"
    resume = search.get("resume_from")
    if resume and os.path.isfile(os.path.join(resume, checkpoint)):
        with open(os.path.join(resume, checkpoint), encoding="utf-8") as handle:
            state = json.load(handle)
        error, start = state["error"], state["step"]
    for step in range(start + 1, cfg.num_steps + 1):
        error = next_error(error, cfg.lr)
        mle.log.update({"step": step}, {"loss": loss(error, cfg.x, seed=mle.seed_id, step=step)},
                       save=True)
    if search.get("checkpoint_dir"):
        os.makedirs(search["checkpoint_dir"], exist_ok=True)
        with open(os.path.join(search["checkpoint_dir"], checkpoint), "w",
                  encoding="utf-8") as handle:
            json.dump({"error": error, "step": cfg.num_steps}, handle)


if __name__ == "__main__":
    main()
