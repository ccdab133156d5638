"""Launcher overhead of the adaptive search loop, per batch.

    python benchmarks/bench_search.py [--json results.json]

Runs each example of experiments/adaptive_search and of experiments/hyperopt_dialect
(every mle-hyperopt search type) with every batch fully parallel and reports: wall
time of ``mle run``, the jobs' critical path (sum over batches of the longest job),
the time of ``mle run --dry-run`` (interpreter, imports including the optional
library, meta validation) and what is left per batch: writing configs, the search
log, summaries, objectives and the next proposal (model fits included). The import
of each optional library is reported apart, next to a bare ``python -c pass``
(min / median / max over alternating repeats). Exits 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FILES = (*(("adaptive_search", n) for n in ("smbo", "successive_halving", "hyperband", "pbt")),
         *(("hyperopt_dialect", n) for n in ("random", "coordinate", "smbo", "nevergrad",
                                             "nevergrad_multi", "halving", "hyperband", "pbt")))
IMPORTS = {"python -c pass": "pass",
           "SMBO (scikit-learn)": "import sklearn.gaussian_process, sklearn.ensemble, "
                                  "scipy.stats",
           "SMBO sampler (optuna)": "import optuna",
           "Nevergrad": "import nevergrad"}
TARGET_MS_PER_BATCH = 150.0


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, timeout=300)
    return time.perf_counter() - start


def imports(repeats: int = 3) -> dict[str, list[float]]:
    """Seconds of ``python -c <import>`` per optional library, alternating repeats."""
    times: dict[str, list[float]] = {k: [] for k in IMPORTS}
    for _ in range(repeats):
        for label, code in IMPORTS.items():
            times[label].append(_timed([sys.executable, "-c", code]))
    return times


def measure(folder: str, name: str, root: Path) -> dict[str, float]:
    """Figures of one example search run in a fresh copy under ``root``."""
    exp = root / folder
    if not exp.exists():
        shutil.copytree(REPO / "experiments" / folder, exp,
                        ignore=shutil.ignore_patterns("runs"))
    meta = str(exp / f"{name}.yaml")
    mle = [sys.executable, "-m", "mle_toolbox", "run", meta]
    dry = _timed([*mle, "--dry-run"])
    wall = _timed([*mle, "--max-running", "32"])
    report = json.loads((exp / "runs" / name / "report.json").read_text())
    longest: dict[str, float] = {}
    for job in report["jobs"]:
        batch = job["job_id"].split("_eval_")[0]
        longest[batch] = max(longest.get(batch, 0.0), job["duration_s"] or 0.0)
    critical = sum(longest.values())
    return {"wall_s": wall, "dry_run_s": dry, "critical_path_s": critical,
            "batches": len(longest), "jobs": len(report["jobs"]),
            "overhead_ms_per_batch": 1000 * (wall - dry - critical) / len(longest)}


def main() -> int:
    """Measure every example; print a table; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures: dict[str, dict[str, float]] = {}
    for label, times in imports().items():
        ordered = sorted(times)
        print(f"import {label:<24} min {ordered[0]:.2f}s median {ordered[len(ordered) // 2]:.2f}s"
              f" max {ordered[-1]:.2f}s")
    with tempfile.TemporaryDirectory() as tmp:
        for folder, name in FILES:
            key = f"{folder}/{name}"
            figures[key] = measure(folder, name, Path(tmp))
            f = figures[key]
            print(f"{key:<36} {f['jobs']:>3.0f} jobs {f['batches']:>2.0f} batches  "
                  f"wall {f['wall_s']:.2f}s  dry-run {f['dry_run_s']:.2f}s  critical path "
                  f"{f['critical_path_s']:.2f}s  overhead {f['overhead_ms_per_batch']:.0f} "
                  f"ms/batch (target < {TARGET_MS_PER_BATCH:.0f})")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    worst = max(f["overhead_ms_per_batch"] for f in figures.values())
    return 0 if worst < TARGET_MS_PER_BATCH else 1


if __name__ == "__main__":
    sys.exit(main())
