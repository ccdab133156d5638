"""Slurm figures of issue 5, on a running Slurm (scripts/slurm-local.sh).

    python benchmarks/bench_slurm.py [--jobs 1000] [--wall-jobs 200]

1. Seconds to submit a 1,000-job sweep (validation, planning, writing the job
   files and task lists, the sbatch calls and the release of the held arrays), the jobs
   then cancelled (with max_running 1, at most one of them may have started).
2. Wall time of ``mle run`` for 200 no-op jobs, submit to last result.
Exits 1 when submission misses its target (< 2 s). Shares its workload with
bench_sge.py, so the two backends' figures compare like for like.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sge import bench_submit, bench_wall


def main() -> int:
    """Print both figures; 1 if submission missed its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--wall-jobs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        seconds, calls = bench_submit(Path(tmp), jobs=args.jobs, backend="slurm")
        print(f"submit {args.jobs} jobs: {seconds:.2f} s with {calls} sbatch call(s) "
              f"(target < 2 s)")
        wall = bench_wall(Path(tmp), jobs=args.wall_jobs, backend="slurm")
        print(f"{args.wall_jobs} no-op jobs, mle run --backend slurm: {wall:.1f} s wall")
    return 0 if seconds < 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
