"""Speed of the starter kit: gallery sweeps, a scaffolded project, checkpoints, mle eval.

    python benchmarks/bench_starter.py [--json results.json]

Prints one line per figure (measured, target) and exits 1 when a target is missed.
Each gallery sweep runs on a fresh copy in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mle_toolbox.job.checkpoints import CheckpointPolicy, CheckpointStore, load_checkpoint

REPO = Path(__file__).resolve().parent.parent
SWEEP_TARGET_S = 10.0  # "runnable with one mle run in seconds on a laptop"


def _mle(*args: str, cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mle_toolbox", *args], cwd=cwd, check=True,
                   capture_output=True, timeout=300)
    return time.perf_counter() - start


def _example(name: str, root: Path) -> Path:
    ignore = shutil.ignore_patterns("runs", "__pycache__")
    if not (root / "_lib").exists():
        shutil.copytree(REPO / "experiments" / "_lib", root / "_lib", ignore=ignore)
    shutil.copytree(REPO / "experiments" / name, root / name, ignore=ignore)
    return root / name


def sweeps(root: Path) -> dict[str, float]:
    """Wall time of every gallery sweep and of the scaffolded project's sweeps."""
    figures = {
        "regression_sweep_s": _mle("run", "meta.yaml", cwd=_example("regression", root)),
        "classification_sweep_and_eval_s": _mle(
            "run", "meta.yaml", cwd=_example("classification", root)),
    }
    figures["mlp_grid_sweep_s"] = _mle("run", "meta_grid.yaml", cwd=root / "classification")
    figures["mle_eval_4_jobs_s"] = _mle("eval", "runs/classification",
                                        cwd=root / "classification")
    figures["init_s"] = _mle("init", "proj", cwd=root)
    figures["init_seeds_sweep_and_eval_s"] = _mle("run", "meta_seeds.yaml", cwd=root / "proj")
    figures["init_grid_sweep_s"] = _mle("run", "meta_grid.yaml", cwd=root / "proj")
    return figures


def checkpoints(root: Path) -> dict[str, float]:
    """Save / load of an 8 MB model; 1,000 save_checkpoint calls with every_k 10, top_k 3."""
    model = {"W0": np.random.default_rng(0).normal(size=(1000, 1000))}
    store = CheckpointStore(root / "big")
    saves, loads = [], []
    for _ in range(5):
        start = time.perf_counter()
        path = store.save_model(model)
        saves.append(time.perf_counter() - start)
        start = time.perf_counter()
        load_checkpoint(path)
        loads.append(time.perf_counter() - start)
    small = {"w": np.zeros(100)}
    policy = CheckpointPolicy(every_k_steps=10, top_k=3)
    many = CheckpointStore(root / "many", policy=policy)
    start = time.perf_counter()
    for step in range(1000):
        many.save_checkpoint(small, step, objective=float(step % 37))
    return {"save_8mb_model_s": statistics.median(saves),
            "load_8mb_model_s": statistics.median(loads),
            "save_checkpoint_1000_calls_s": time.perf_counter() - start}


TARGETS = {
    "regression_sweep_s": SWEEP_TARGET_S, "classification_sweep_and_eval_s": SWEEP_TARGET_S,
    "mlp_grid_sweep_s": SWEEP_TARGET_S, "mle_eval_4_jobs_s": SWEEP_TARGET_S,
    "init_s": 1.0, "init_seeds_sweep_and_eval_s": SWEEP_TARGET_S,
    "init_grid_sweep_s": SWEEP_TARGET_S, "save_8mb_model_s": 0.5, "load_8mb_model_s": 0.5,
    "save_checkpoint_1000_calls_s": 2.0,
}


def main() -> int:
    """Run every measurement; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = {**sweeps(Path(tmp)), **checkpoints(Path(tmp))}
    missed = 0
    for name, value in figures.items():
        ok = value < TARGETS[name]
        missed += not ok
        print(f"{name:<34} {value:8.3f}   target < {TARGETS[name]:g}  {'ok' if ok else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
