"""Linear regression on y = X w + noise: closed form (ridge) or gradient descent.

Run the sweep:   mle run experiments/regression/meta.yaml
Run one job:     python train.py -config configs/closed_form.json -seed 0 -exp_dir /tmp/reg
The numpy code lives in experiments/_lib (copy it along with this folder).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_lib"))

import numpy as np
from linreg import LinearModel, fit_closed_form, gradient_step, mse, r2_score
from synthetic import make_regression, train_test_split

from mle_toolbox import MLExperiment


def main() -> None:
    mle = MLExperiment(config_fname="configs/closed_form.json")
    cfg = mle.train_config
    x, y, _ = make_regression(n_samples=cfg.n_samples, n_features=cfg.n_features,
                              n_informative=cfg.n_informative, noise=cfg.noise,
                              seed=mle.seed_id)
    x_train, y_train, x_test, y_test = train_test_split(x, y, test_fraction=cfg.test_fraction)

    def log(step: int, model: LinearModel) -> None:
        test_pred = model.predict(x_test)
        stats = {"train_mse": mse(y_train, model.predict(x_train)),
                 "test_mse": mse(y_test, test_pred), "test_r2": r2_score(y_test, test_pred)}
        mle.log.update({"step": step}, stats, save=True)

    if cfg.solver == "closed_form":
        model = fit_closed_form(x_train, y_train, l2=cfg.l2)
        log(0, model)
    else:
        model = LinearModel(weights=np.zeros(cfg.n_features))
        for step in range(cfg.num_steps):
            gradient_step(model, x_train, y_train, lrate=cfg.lrate, l2=cfg.l2)
            if mle.ready_to_log(step) or step == cfg.num_steps - 1:
                log(step, model)
                # every log_config.model_ckpt_every_k_steps; the top_k by test_mse are kept
                mle.log.save_checkpoint(model.params(), step)
    mle.log.save_model(model.params())


if __name__ == "__main__":
    main()
