"""A toy training loop: a noisy quadratic whose loss falls with the learning rate."""

import random

from mle_toolbox import MLExperiment


def train(mle: MLExperiment) -> None:
    cfg = mle.train_config
    rng = random.Random(mle.seed_id)
    loss = float(cfg.start_loss)
    for step in range(int(cfg.num_steps)):
        loss *= 1.0 - float(cfg.lrate)
        noisy = loss + rng.gauss(0.0, float(cfg.noise))
        mle.log.update({"step": step}, {"loss": noisy, "accuracy": 1.0 / (1.0 + loss)},
                       save=True)


if __name__ == "__main__":
    train(MLExperiment())
