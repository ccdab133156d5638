"""Evaluate a saved MLP without retraining (run by `mle eval` and post_process_args).

`mle eval EXP_DIR` runs, for every finished job:
    python eval.py -config RUN_CONFIG -seed S -exp_dir RUN_DIR/eval \
        -checkpoint CHECKPOINT_FILE -run_dir RUN_DIR [extra_cmd_line_input...]
and the metrics logged here land in RUN_DIR/eval/logs/seed_S.jsonl.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_lib"))

import numpy as np
from mlp import MLP, accuracy
from train import load_data

from mle_toolbox import MLExperiment, load_checkpoint


def main() -> None:
    mle = MLExperiment()
    params = load_checkpoint(mle.extra_args["checkpoint"])
    model = MLP(params, activation=mle.model_config.activation)
    _, _, x_test, y_test = load_data(mle.train_config, mle.seed_id)
    probs = model.predict_proba(x_test)
    nll = float(-np.mean(np.log(probs[np.arange(len(y_test)), y_test] + 1e-12)))
    stats = {"test_acc": accuracy(model, x_test, y_test), "test_nll": nll}
    if "noise_std" in mle.extra_args:  # robustness: accuracy on inputs with extra noise
        rng = np.random.default_rng(mle.seed_id)
        noisy = x_test + float(mle.extra_args["noise_std"]) * rng.normal(size=x_test.shape)
        stats["noisy_test_acc"] = accuracy(model, noisy, y_test)
    mle.log.update({"step": 0}, stats, save=True)


if __name__ == "__main__":
    main()
