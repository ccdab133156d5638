"""An mle-toolbox 0.3.x project, written as its users write them, and readers of what
it leaves: TensorBoard event files and W&B offline run files."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np

from mle_toolbox import load_log, load_meta_log
from tests.conftest import write

# The dialect of mle-toolbox 0.3.x examples: **mle.train_config (with seed_id),
# update_log with a model and a figure, mle.model_ckpt, mle.log.save_plot.
TRAIN_PY = '''\
"""Fit w to a target by gradient steps (an mle-toolbox 0.3.x style script)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from mle_toolbox import MLExperiment


def train_your_net(num_epochs, lrate, seed_id, mle, model_ckpt=None):
    rng = np.random.default_rng(seed_id)
    params = mle.model_ckpt if mle.model_ckpt is not None else {"w": rng.normal(size=3)}
    target = np.array([1.0, -2.0, 0.5])
    losses = []
    for epoch in range(int(num_epochs)):
        params = {"w": params["w"] - lrate * 2 * (params["w"] - target)}
        loss = float(np.sum((params["w"] - target) ** 2))
        losses.append(loss)
        if mle.log.ready_to_log(epoch):
            mle.update_log({"num_epochs": epoch + 1},
                           {"train_loss": loss, "test_loss": 1.5 * loss},
                           model=params, save=True)
    fig, ax = plt.subplots()
    ax.plot(losses)
    mle.log.save_plot(fig, "loss_curve.png")
    return params


def main():
    mle = MLExperiment(config_fname="configs/base_config.json")
    train_your_net(**mle.train_config, mle=mle)


if __name__ == "__main__":
    main()
'''

BASE_CONFIG = {
    "train_config": {"num_epochs": 4, "lrate": 0.1},
    "model_config": {"num_layers": 1},
    "log_config": {
        "time_to_track": ["num_epochs"], "what_to_track": ["train_loss", "test_loss"],
        "time_to_print": ["num_epochs"], "what_to_print": ["train_loss"],
        "print_every_k_updates": 1, "verbose": True, "overwrite_experiment_dir": True,
        "model_type": "numpy", "use_tboard": True, "ckpt_time_to_track": "num_epochs",
        "save_every_k_ckpt": 2,
    },
}

META_YAML = """\
meta_job_args:
  project_name: upstream_style
  experiment_type: multiple-configs
  base_train_fname: train.py
  experiment_dir: experiments
multi_config_args:
  config_fnames: [configs/base_config.json]
  num_seeds: 2
"""


def make_project(root: Path) -> Path:
    """train.py, configs/base_config.json and meta.yaml (1 config x 2 seeds) in ``root``."""
    write(root / "train.py", TRAIN_PY)
    write(root / "configs" / "base_config.json", json.dumps(BASE_CONFIG, indent=2))
    write(root / "meta.yaml", META_YAML)
    return root


def expected_losses(seed: int, epochs: int = 4, lrate: float = 0.1) -> list[float]:
    """What train.py logs for ``seed``: computed here again, step by step."""
    import numpy as np

    w = np.random.default_rng(seed).normal(size=3)
    target = np.array([1.0, -2.0, 0.5])
    out = []
    for _ in range(epochs):
        w = w - lrate * 2 * (w - target)
        out.append(float(np.sum((w - target) ** 2)))
    return out


def tfrecords(path: Path) -> list[bytes]:
    """Payloads of a TFRecord file (TensorBoard events): length, crc, data, crc."""
    raw = path.read_bytes()
    out, pos = [], 0
    while pos < len(raw):
        (length,) = struct.unpack("<Q", raw[pos:pos + 8])
        out.append(raw[pos + 12:pos + 12 + length])
        pos += 12 + length + 4
    return out


def tboard_scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """tag -> [(step, value)] of every scalar in the event files of ``folder``."""
    from tensorboardX.proto import event_pb2

    scalars: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        for payload in tfrecords(path):
            event = event_pb2.Event()
            event.ParseFromString(payload)
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars


def wandb_history(run_file: Path, *, within: float = 0) -> list[dict[str, Any]]:
    """History rows of an offline W&B run file (a leveldb-style log of protobuf records).

    wandb's core process may still be writing after ``finish()`` returns: waits up to
    ``within`` seconds for the run's exit record.
    """
    deadline = time.monotonic() + within
    rows, done = _wandb_records(run_file)
    while not done and time.monotonic() < deadline:
        time.sleep(0.2)
        rows, done = _wandb_records(run_file)
    return rows


def _wandb_records(run_file: Path) -> tuple[list[dict[str, Any]], bool]:
    from wandb.proto import wandb_internal_pb2

    done = False
    raw = run_file.read_bytes()
    block, pos, pending, rows = 32768, 7, b"", []  # 7: the ':W&B' file header
    while pos + 7 <= len(raw):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", raw[pos:pos + 7])
        data, pos = raw[pos + 7:pos + 7 + length], pos + 7 + length
        if kind in (1, 4):  # full record, or the last piece of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending + data)
            pending = b""
            done = done or record.WhichOneof("record_type") == "exit"
            if record.WhichOneof("record_type") == "history":
                rows.append({i.key or "/".join(i.nested_key): json.loads(i.value_json)
                             for i in record.history.item})
        elif kind in (2, 3):
            pending += data
        else:
            pos += block - pos % block
    return rows, done


def check_upstream_results(exp: Path) -> None:
    """What the 0.3.x script leaves: logs, checkpoints, figures, TensorBoard events."""
    [run] = [p for p in exp.iterdir() if (p / "logs").is_dir()]
    meta_log = load_meta_log(exp / "meta_log.hdf5")  # an mle-toolbox notebook's path
    for seed in (0, 1):
        want = expected_losses(seed)
        log = load_log(run)[f"seed_{seed}"]
        np.testing.assert_allclose(log.stats.train_loss, want)
        np.testing.assert_allclose(log.stats.test_loss, [1.5 * v for v in want])
        np.testing.assert_array_equal(log.time.num_epochs, [1, 2, 3, 4])
        checkpoints = run / "checkpoints" / f"seed_{seed}"
        assert sorted(p.name for p in checkpoints.glob("*.npz")) == [
            "final.npz", "step_2.npz", "step_4.npz"]
        assert (run / "figures" / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"
        scalars = tboard_scalars(run / "tboards" / f"seed_{seed}")
        assert [step for step, _ in scalars["stats/train_loss"]] == [1, 2, 3, 4]
        np.testing.assert_allclose([v for _, v in scalars["stats/train_loss"]], want,
                                   rtol=1e-6)
        stdout = (run / "jobs" / f"seed_{seed}" / "stdout.log").read_text()
        assert "num_epochs: 1 | train_loss: " in stdout
    agg = meta_log[run.name].stats.train_loss.mean
    np.testing.assert_allclose(agg, np.mean([expected_losses(0), expected_losses(1)], axis=0))
