"""Training script of a new mle_toolbox project (created by `mle init`).

mle runs it once per config and seed as
    python train.py -config CONFIG -seed SEED -exp_dir RUN_DIR
Run it by hand with the base config:  python train.py -seed 0 -exp_dir runs/by_hand
Replace the model and data below with your own; keep the MLExperiment calls.
"""

import numpy as np

from mle_toolbox import MLExperiment


def make_data(cfg, seed):
    """Synthetic regression data, the same for the same seed (eval.py rebuilds it)."""
    rng = np.random.default_rng(seed)
    true_w = rng.normal(size=cfg.num_features)
    x = rng.normal(size=(cfg.num_samples, cfg.num_features))
    y = x @ true_w + cfg.noise * rng.normal(size=cfg.num_samples)
    cut = int(0.8 * cfg.num_samples)
    return x[:cut], y[:cut], x[cut:], y[cut:]


def main():
    mle = MLExperiment(config_fname="configs/base.json")
    cfg = mle.train_config
    x_train, y_train, x_test, y_test = make_data(cfg, mle.seed_id)
    w = np.zeros(cfg.num_features)
    for epoch in range(cfg.num_epochs):
        for start in range(0, len(x_train), cfg.batch_size):
            xb = x_train[start:start + cfg.batch_size]
            yb = y_train[start:start + cfg.batch_size]
            w -= cfg.lrate * 2.0 * xb.T @ (xb @ w - yb) / len(yb)
        if mle.ready_to_log(epoch) or epoch == cfg.num_epochs - 1:
            train_mse = float(np.mean((x_train @ w - y_train) ** 2))
            test_mse = float(np.mean((x_test @ w - y_test) ** 2))
            mle.log.update({"epoch": epoch}, {"train_mse": train_mse, "test_mse": test_mse},
                           save=True)
            # kept every log_config.model_ckpt_every_k_steps epochs, the top_k by test_mse
            mle.log.save_checkpoint({"w": w}, epoch)
    mle.log.save_model({"w": w})  # the final model, for `mle eval`


if __name__ == "__main__":
    main()
