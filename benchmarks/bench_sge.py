"""Grid Engine figures of issue 3, on a running SGE (scripts/sge-local.sh).

    python benchmarks/bench_sge.py [--jobs 1000] [--wall-jobs 200]

1. Seconds to submit a 1,000-job sweep (validation, planning, writing the job
   files and task lists, the qsub calls and the release of the held arrays), the jobs
   then cancelled (with max_running 1, at most one of them may have started).
2. Wall time of ``mle run`` for 200 no-op jobs, submit to last result.
Exits 1 when submission misses its target (< 2 s).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

META = """\
meta_job_args:
  experiment_type: multiple-configs
  base_train_fname: train.py
  experiment_dir: {exp_dir}
multi_config_args:
  config_fnames: [a.json, b.json]
  num_seeds: {seeds}
single_job_args:
  job_name: bench
"""
NOOP = "from mle_toolbox import MLExperiment\nMLExperiment()\n"


def _project(root: Path, *, jobs: int, exp_dir: str) -> Path:
    (root / "train.py").write_text(NOOP)
    (root / "a.json").write_text('{"train_config": {"x": 1}}')
    (root / "b.json").write_text('{"train_config": {"x": 2}}')
    meta = root / f"{exp_dir}.yaml"
    meta.write_text(META.format(exp_dir=exp_dir, seeds=jobs // 2))
    return meta


def bench_submit(root: Path, *, jobs: int, backend: str = "sge") -> tuple[float, int]:
    """Seconds from meta YAML to every job queued; returns (seconds, submit calls)."""
    from mle_toolbox.backends.commands import Output, run_command
    from mle_toolbox.backends.sge import SgeBackend
    from mle_toolbox.backends.slurm import SlurmBackend
    from mle_toolbox.config.base_configs import load_configs
    from mle_toolbox.config.expand import expand
    from mle_toolbox.config.meta import load_meta
    from mle_toolbox.files.layout import ExperimentLayout
    from mle_toolbox.launcher.prepare import prepare
    from mle_toolbox.launcher.tasks import make_tasks

    calls: list[str] = []

    def counted(argv: list[str] | tuple[str, ...]) -> Output:
        calls.append(argv[0])
        return run_command(argv)

    meta_path = _project(root, jobs=jobs, exp_dir="submit")
    start = time.perf_counter()
    meta = load_meta(meta_path)
    plan = expand(meta, configs=load_configs(meta.config_files))
    layout = ExperimentLayout(meta.experiment_dir)
    prepared = prepare(plan, layout=layout, previous=None, meta_text=meta_path.read_text())
    cluster = SlurmBackend(run=counted) if backend == "slurm" else SgeBackend(run=counted)
    handles = cluster.submit(make_tasks(plan, layout=layout, jobs=prepared.todo),
                             max_running=1)
    cluster.release(handles)  # arrays go in held; the launcher releases them once recorded
    elapsed = time.perf_counter() - start
    cluster.cancel(handles, force=True)
    return elapsed, calls.count("sbatch" if backend == "slurm" else "qsub")


def bench_wall(root: Path, *, jobs: int, backend: str = "sge") -> float:
    """Wall seconds of ``mle run --backend BACKEND`` for ``jobs`` no-op jobs."""
    meta = _project(root, jobs=jobs, exp_dir="wall")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mle_toolbox", "run", str(meta), "--backend",
                    backend], check=True, capture_output=True, timeout=1800)
    return time.perf_counter() - start


def main() -> int:
    """Print both figures; 1 if submission missed its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--wall-jobs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        seconds, qsubs = bench_submit(Path(tmp), jobs=args.jobs)
        print(f"submit {args.jobs} jobs: {seconds:.2f} s with {qsubs} qsub call(s) "
              f"(target < 2 s)")
        wall = bench_wall(Path(tmp), jobs=args.wall_jobs)
        print(f"{args.wall_jobs} no-op jobs, mle run --backend sge: {wall:.1f} s wall")
    return 0 if seconds < 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
