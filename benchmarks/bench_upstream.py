"""Speed of the mle-toolbox / mle-logging compatible job API.

    python benchmarks/bench_upstream.py [--json results.json] [--repeats 7]

- ``MLELogger.update(..., save=True)``: microseconds per call for the first 1,000 and
  for calls 9,001..10,000 of one log (O(1): the second is no slower), target 50 us.
- ``from mle_toolbox import MLExperiment``: wall time of a fresh interpreter minus a
  bare ``python -c pass`` measured in the same run, target 60 ms; and the package's
  own cumulative ``-X importtime`` (no interpreter start-up in it).
- ``from mle_toolbox.utils import set_random_seeds, load_pkl_object, ...`` (the names a
  0.3.5 train.py imports): wall time over the bare interpreter, same target.

Repeats alternate between the measured command and the bare one; min / median / max
are printed. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mle_toolbox import MLELogger

UPDATE_TARGET_US = 50.0
IMPORT_TARGET_MS = 60.0
UTILS_IMPORT = ("from mle_toolbox.utils import set_random_seeds, load_pkl_object, "
                "save_pkl_object, print_framed, load_job_config, parse_experiment_args")


def _stats(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def update_cost(root: Path, repeats: int) -> dict[str, dict[str, float]]:
    """us per update(save=True): calls 1..1000 and 9001..10000 of one log, per repeat."""
    early, late = [], []
    for index in range(repeats):
        log = MLELogger(["num_updates"], ["train_loss", "test_loss"],
                        experiment_dir=str(root / f"r{index}"), seed_id=0)
        timings = []
        for block in range(10):
            start = time.perf_counter()
            for step in range(block * 1000, (block + 1) * 1000):
                log.update({"num_updates": step},
                           {"train_loss": 1.0 / (step + 1), "test_loss": 2.0 / (step + 1)},
                           save=True)
            timings.append((time.perf_counter() - start) / 1000 * 1e6)
        log.close()
        early.append(timings[0])
        late.append(timings[-1])
    return {"update_save_first_1k_us": _stats(early), "update_save_10th_1k_us": _stats(late)}


# Bytecode is cached (as in an installed package) in a folder of the benchmark's own,
# even where PYTHONDONTWRITEBYTECODE is set: otherwise every run compiles the sources.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="mle-bench-pyc-")


def _wall(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, env=ENV)
    return time.perf_counter() - start


def import_cost(repeats: int) -> dict[str, dict[str, float]]:
    """Interpreter + ``from mle_toolbox import MLExperiment`` vs. a bare interpreter (ms)."""
    bare, full, utils = [], [], []
    _wall("from mle_toolbox import MLExperiment")  # warm the file cache and .pyc files
    _wall(UTILS_IMPORT)
    for _ in range(repeats):
        bare.append(_wall("pass") * 1000)
        full.append(_wall("from mle_toolbox import MLExperiment") * 1000)
        utils.append(_wall(UTILS_IMPORT) * 1000)
    over = [f - b for f, b in zip(full, bare, strict=True)]
    utils_over = [u - b for u, b in zip(utils, bare, strict=True)]
    inside = [_importtime_ms() for _ in range(repeats)]
    return {"bare_python_ms": _stats(bare), "import_mlexperiment_ms": _stats(full),
            "import_over_bare_ms": _stats(over), "importtime_mle_toolbox_ms": _stats(inside),
            "import_utils_over_bare_ms": _stats(utils_over)}


def _importtime_ms() -> float:
    """``-X importtime``'s cumulative time of the mle_toolbox package (no interpreter
    start-up in it: steadier than wall times on a busy machine)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c",
                           "from mle_toolbox import MLExperiment"], capture_output=True,
                          text=True, check=True, timeout=60, env=ENV)
    for line in done.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == "mle_toolbox":
            return int(parts[1]) / 1000
    raise RuntimeError("no mle_toolbox line in -X importtime output")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = {**update_cost(Path(tmp), args.repeats), **import_cost(args.repeats)}
    checks = {"update_save_10th_1k_us": UPDATE_TARGET_US,
              "update_save_first_1k_us": UPDATE_TARGET_US,
              "import_over_bare_ms": IMPORT_TARGET_MS,
              "import_utils_over_bare_ms": IMPORT_TARGET_MS}
    missed = False
    for name, values in figures.items():
        target = checks.get(name)
        verdict = ""
        if target is not None:
            ok = values["median"] <= target
            missed |= not ok
            verdict = f"  target <= {target:g}: {'ok' if ok else 'MISSED'}"
        print(f"{name}: min {values['min']:.1f} median {values['median']:.1f} "
              f"max {values['max']:.1f}{verdict}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
