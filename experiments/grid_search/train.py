"""Grid search example: linear regression on synthetic data, trained with numpy SGD.

Run by `mle run experiments/grid_search/meta.yaml`, or by hand:
    python train.py -config base_config.json -seed 0 -exp_dir /tmp/qs
"""

import numpy as np

from mle_toolbox import MLExperiment


def main() -> None:
    mle = MLExperiment(config_fname="base_config.json")
    cfg = mle.train_config
    rng = np.random.default_rng(mle.seed_id)
    true_w = np.arange(1.0, cfg.num_features + 1.0)
    x = rng.normal(size=(cfg.num_samples, cfg.num_features))
    y = x @ true_w + cfg.noise * rng.normal(size=cfg.num_samples)
    w = np.zeros(cfg.num_features)
    for epoch in range(cfg.num_epochs):
        for start in range(0, cfg.num_samples, cfg.batch_size):
            xb, yb = x[start:start + cfg.batch_size], y[start:start + cfg.batch_size]
            w -= cfg.lrate * 2.0 * xb.T @ (xb @ w - yb) / len(yb)
        if mle.ready_to_log(epoch) or epoch == cfg.num_epochs - 1:
            mse = float(np.mean((x @ w - y) ** 2))
            err = float(np.linalg.norm(w - true_w))
            mle.log.update({"epoch": epoch}, {"train_mse": mse, "weight_error": err}, save=True)


if __name__ == "__main__":
    main()
