"""Launcher overhead of the adaptive search loop, per batch.

    python benchmarks/bench_search.py [--json results.json]

Runs each example of experiments/adaptive_search with every batch fully parallel
and reports: wall time of ``mle run``, the jobs' critical path (sum over batches of
the longest job), the time of ``mle run --dry-run`` (interpreter, imports, meta
validation) and what is left per batch: writing configs, the search log,
summaries, objectives and the next proposal. Exits 1 when the target is missed.
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
EXAMPLE = REPO / "experiments" / "adaptive_search"
FILES = ("smbo", "successive_halving", "hyperband", "pbt")
TARGET_MS_PER_BATCH = 150.0


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, timeout=300)
    return time.perf_counter() - start


def measure(name: str, root: Path) -> dict[str, float]:
    """Figures of one example search run in a fresh copy under ``root``."""
    exp = root / name
    shutil.copytree(EXAMPLE, exp, ignore=shutil.ignore_patterns("runs"))
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
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in FILES:
            figures[name] = measure(name, Path(tmp))
            f = figures[name]
            print(f"{name:<19} {f['jobs']:>3.0f} jobs {f['batches']:>2.0f} batches  "
                  f"wall {f['wall_s']:.2f}s  dry-run {f['dry_run_s']:.2f}s  critical path "
                  f"{f['critical_path_s']:.2f}s  overhead {f['overhead_ms_per_batch']:.0f} "
                  f"ms/batch (target < {TARGET_MS_PER_BATCH:.0f})")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    worst = max(f["overhead_ms_per_batch"] for f in figures.values())
    return 0 if worst < TARGET_MS_PER_BATCH else 1


if __name__ == "__main__":
    sys.exit(main())
