"""Cluster throughput with packing (issue 18): the same no-op sweep on local, SGE, Slurm.

    python benchmarks/bench_cluster.py [--jobs 1000] [--submit-jobs 10000] [--repeats 1]
                                       [--backends local,sge,slurm] [--json out.json]

1. Wall time of ``mle run`` for ``--jobs`` no-op jobs (a train.py that makes an
   MLExperiment and logs one metric) on each backend, measured in one run on the same
   machine; the clusters with ``single_job_args.jobs_per_task: auto`` and a duration
   hint (``job_duration_hint``: the seconds one such job takes, from the local run's
   wall time when there is one). Target: each cluster within 2x the local wall time.
2. Seconds to submit ``--submit-jobs`` jobs: ``mle run --detach`` from meta YAML to
   every job queued (validation, planning, job files, task lists, the submit calls),
   then ``mle cancel``. Target: < 5 s.

Every figure is printed next to a bare ``python -c pass`` measured in the same run
(benchmarks/timing.py), alternating. Exits 1 when a target is missed. Needs the
daemons for sge and slurm (scripts/sge-local.sh, scripts/slurm-local.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import Sample, bare_start, describe, wall

TRAIN = """\
from mle_toolbox import MLExperiment

mle = MLExperiment()
mle.log.update({"step": 0}, {"loss": mle.train_config.x + mle.seed_id}, save=True)
"""
META = """\
meta_job_args:
  experiment_type: multiple-configs
  base_train_fname: train.py
  experiment_dir: {exp_dir}
multi_config_args:
  config_fnames: [a.json, b.json]
  num_seeds: {seeds}
single_job_args:
  job_name: {name}
{packing}"""
WALL_RATIO_TARGET = 2.0
SUBMIT_TARGET_S = 5.0
CLUSTERS = ("sge", "slurm")
DEFAULT_HINT_S = 0.2
LOCAL_PARALLEL = os.cpu_count() or 1  # the local backend's default: one job per core


def project(root: Path, *, jobs: int, exp_dir: str, hint_s: float | None) -> Path:
    """train.py, two configs and a meta YAML of ``jobs`` jobs (packed when ``hint_s``)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "train.py").write_text(TRAIN)
    (root / "a.json").write_text('{"train_config": {"x": 1}}')
    (root / "b.json").write_text('{"train_config": {"x": 2}}')
    packing = ("" if hint_s is None else
               f"  jobs_per_task: auto\n  job_duration_hint: {hint_s:.3f}\n")
    meta = root / f"{exp_dir}.yaml"
    meta.write_text(META.format(exp_dir=exp_dir, seeds=jobs // 2, name=f"bc_{exp_dir}",
                                packing=packing))
    return meta


def mle(*args: str, cwd: Path, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    """``mle ARGS`` in ``cwd``."""
    return subprocess.run([sys.executable, "-m", "mle_toolbox", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, check=False)


def bare_samples(count: int) -> list[Sample]:
    """``count`` bare interpreter starts."""
    return [bare_start() for _ in range(count)]


def run_sweep(root: Path, *, backend: str, jobs: int, hint_s: float | None,
              label: str) -> Sample:
    """Wall time of one ``mle run`` of the sweep; fails loudly when a job fails."""
    meta = project(root / label, jobs=jobs, exp_dir=label, hint_s=hint_s)

    def launch() -> None:
        done = mle("run", meta.name, "--backend", backend, "--no-report", cwd=meta.parent)
        if done.returncode != 0:
            raise SystemExit(f"mle run --backend {backend} failed:\n{done.stdout}\n"
                             f"{done.stderr}")

    return wall(launch)


def submit_only(root: Path, *, backend: str, jobs: int, hint_s: float,
                label: str) -> Sample:
    """Seconds of ``mle run --detach`` (every job queued); the jobs are then cancelled."""
    meta = project(root / label, jobs=jobs, exp_dir=label, hint_s=hint_s)
    start = time.perf_counter()
    done = mle("run", meta.name, "--backend", backend, "--detach", "--no-report",
               cwd=meta.parent)
    elapsed = time.perf_counter() - start
    mle("cancel", label, "--force", cwd=meta.parent)
    if done.returncode != 0:
        raise SystemExit(f"mle run --detach --backend {backend} failed:\n{done.stderr}")
    return Sample(wall=elapsed)


def packing_of(exp_dir: Path, scheduler: str) -> str:
    """How the launch packed: arrays, their task ranges, jobs per task (from the scripts)."""
    texts = [s.read_text() for s in sorted((exp_dir / ".mle" / scheduler).glob("*.sh"))]
    marks = [line for text in texts for line in text.splitlines()
             if line.startswith(("#$ -t ", "#SBATCH --array="))]
    per = next((m.group(1) for text in texts
                if (m := re.search(r"each array task runs (\d+) jobs", text))), "1")
    return f"{len(texts)} array(s), {', '.join(marks) or '-'}; {per} jobs per task"


def wall_figures(root: Path, *, backends: list[str], jobs: int, repeats: int,
                 hint: float | None) -> tuple[dict[str, dict[str, float]], float]:
    """Wall time of the sweep on each backend, alternating; (figures, hint used)."""
    runs: dict[str, list[Sample]] = {b: [] for b in backends}
    bare: dict[str, list[Sample]] = {b: [] for b in backends}
    for repeat in range(repeats):  # alternating: local, sge, slurm, local, ...
        for backend in backends:
            bare[backend] += bare_samples(3)
            label = f"{backend}_{repeat}"
            packed_hint = None if backend == "local" else (hint or DEFAULT_HINT_S)
            runs[backend].append(run_sweep(root, backend=backend, jobs=jobs,
                                           hint_s=packed_hint, label=label))
            if backend == "local" and hint is None:
                # What one job costs with the interpreter start: the local wall time
                # spread over the jobs that ran side by side.
                hint = runs[backend][-1].wall * LOCAL_PARALLEL / jobs
                print(f"one no-op job takes {hint:.3f} s (local wall x {LOCAL_PARALLEL} "
                      f"/ {jobs}): the clusters' job_duration_hint", flush=True)
            if backend in CLUSTERS:
                print(f"  {backend} packing: {packing_of(root / label / label, backend)}",
                      flush=True)
            shutil.rmtree(root / label, ignore_errors=True)
    figures = {}
    for backend in backends:
        line, figures[f"wall_{backend}"] = describe(f"{jobs} jobs {backend}", runs[backend],
                                                    bare=bare[backend])
        print(line)
    return figures, hint or DEFAULT_HINT_S


def ratios(figures: dict[str, dict[str, float]], backends: list[str]) -> list[str]:
    """Print each cluster's wall time over local's; the targets missed."""
    missed = []
    local = figures["wall_local"]["wall_median_s"]
    for backend in (b for b in backends if b != "local"):
        ratio = figures[f"wall_{backend}"]["wall_median_s"] / local
        figures[f"wall_{backend}"]["ratio_to_local"] = ratio
        ok = ratio <= WALL_RATIO_TARGET
        print(f"{backend} / local wall time: {ratio:.2f}x (target <= {WALL_RATIO_TARGET:g}x) "
              f"{'ok' if ok else 'MISSED'}")
        if not ok:
            missed.append(f"{backend} wall ratio")
    return missed


def main() -> int:
    """Print every figure; 1 if a target was missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--submit-jobs", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--backends", default="local,sge,slurm")
    parser.add_argument("--hint", type=float, default=None,
                        help="job_duration_hint for the clusters (default: measured locally)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    backends = args.backends.split(",")
    missed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench_cluster_") as tmp:
        root = Path(tmp)
        figures, hint = wall_figures(root, backends=backends, jobs=args.jobs,
                                     repeats=args.repeats, hint=args.hint)
        if "local" in backends:
            missed += ratios(figures, backends)
        for backend in (b for b in backends if b in CLUSTERS):
            base = bare_samples(3)
            sample = submit_only(root, backend=backend, jobs=args.submit_jobs, hint_s=hint,
                                 label=f"submit_{backend}")
            line, figure = describe(f"submit {args.submit_jobs} {backend}", [sample], bare=base)
            figures[f"submit_{backend}"] = figure
            ok = sample.wall < SUBMIT_TARGET_S
            print(f"{line}; target < {SUBMIT_TARGET_S:g} s {'ok' if ok else 'MISSED'}")
            if not ok:
                missed.append(f"{backend} submission")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"{os.cpu_count()} cores")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2))
    if missed:
        print(f"missed: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
