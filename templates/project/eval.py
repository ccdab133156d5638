"""Evaluation script (created by `mle init`): scores a saved model, no retraining.

`mle eval runs/seeds` (and post_process_args after `mle run meta_seeds.yaml`) runs
    python eval.py -config RUN_CONFIG -seed SEED -exp_dir RUN_DIR/eval \
        -checkpoint CHECKPOINT_FILE -run_dir RUN_DIR [extra_cmd_line_input ...]
Metrics logged here go to RUN_DIR/eval/logs/ and into RUN_DIR/summary.json.
"""

import numpy as np
from train import make_data

from mle_toolbox import MLExperiment, load_checkpoint


def main():
    mle = MLExperiment()
    model = load_checkpoint(mle.extra_args["checkpoint"])  # {"w": array} from train.py
    _, _, x_test, y_test = make_data(mle.train_config, mle.seed_id)
    pred = x_test @ model["w"]
    test_mse = float(np.mean((pred - y_test) ** 2))
    r2 = 1.0 - test_mse / float(np.var(y_test))
    mle.log.update({"step": 0}, {"eval_test_mse": test_mse, "eval_r2": r2}, save=True)


if __name__ == "__main__":
    main()
