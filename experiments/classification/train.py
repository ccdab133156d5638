"""MLP classifier on Gaussian clusters, in numpy.

Run the sweep:        mle run experiments/classification/meta.yaml
Run the grid search:  mle run experiments/classification/meta_grid.yaml
Run one job:          python train.py -config configs/adam_relu.json -seed 0 -exp_dir /tmp/cls
The numpy code lives in experiments/_lib (copy it along with this folder).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_lib"))

import numpy as np
from mlp import MLP, accuracy, init_params, make_optimizer, train_epoch
from synthetic import make_classification, train_test_split

from mle_toolbox import MLExperiment


def load_data(cfg: dict, seed: int) -> tuple[np.ndarray, ...]:  # type: ignore[type-arg]
    """Train and test split of the clusters; eval.py rebuilds the same data."""
    x, y = make_classification(n_samples=cfg["n_samples"], n_features=cfg["n_features"],
                               n_classes=cfg["n_classes"], class_sep=cfg["class_sep"],
                               seed=seed)
    return train_test_split(x, y, test_fraction=cfg["test_fraction"])


def hidden_sizes(model_cfg: dict) -> list[int]:  # type: ignore[type-arg]
    """``hidden_sizes`` as given, or ``depth`` layers of ``width`` units (grid searchable)."""
    if "hidden_sizes" in model_cfg:
        return [int(size) for size in model_cfg["hidden_sizes"]]
    return [int(model_cfg["width"])] * int(model_cfg.get("depth", 1))


def main() -> None:
    mle = MLExperiment(config_fname="configs/adam_relu.json")
    cfg, model_cfg = mle.train_config, mle.model_config
    x_train, y_train, x_test, y_test = load_data(cfg, mle.seed_id)
    rng = np.random.default_rng(mle.seed_id)
    sizes = [cfg.n_features, *hidden_sizes(model_cfg), cfg.n_classes]
    model = MLP(init_params(sizes, init=model_cfg.init, rng=rng),
                activation=model_cfg.activation)
    optimizer = make_optimizer(cfg.optimizer, lrate=cfg.lrate, momentum=cfg.get("momentum", 0.0))
    for epoch in range(cfg.num_epochs):
        loss, grad_norm = train_epoch(model, optimizer, x_train, y_train,
                                      batch_size=cfg.batch_size, clip_norm=cfg.get("clip_norm"),
                                      rng=rng)
        if mle.ready_to_log(epoch) or epoch == cfg.num_epochs - 1:
            mle.log.update({"epoch": epoch},
                           {"train_loss": loss, "grad_norm": grad_norm,
                            "train_acc": accuracy(model, x_train, y_train),
                            "test_acc": accuracy(model, x_test, y_test)}, save=True)
            mle.log.save_checkpoint(model.params, epoch)
    mle.log.save_model(model.params)


if __name__ == "__main__":
    main()
