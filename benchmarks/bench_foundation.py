"""Speed of the foundation, measured against the targets of issue 2.

    python benchmarks/bench_foundation.py [--json results.json] [--quick]

Prints one line per figure (measured, target) and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

NOOP_TRAIN = ("from mle_toolbox import MLExperiment\nmle = MLExperiment()\n"
              "mle.log.update({'step': 0}, {'loss': 1.0}, save=True)\n")
SWEEP_META = """\
meta_job_args:
  experiment_type: multiple-configs
  base_train_fname: train.py
  experiment_dir: {exp_dir}
multi_config_args:
  config_fnames: [a.json, b.json]
  num_seeds: 4
"""
BIG_META = """\
meta_job_args:
  experiment_type: hyperparameter-search
  base_train_fname: train.py
  base_train_config: a.json
param_search_args:
  search_resources: {num_seeds_per_eval: 10}
  search_config:
    search_type: grid
    search_params:
      integer: {width: {begin: 1, end: 100, bins: 100}}
      real: {lrate: {begin: 0.0001, end: 1.0, bins: 100, prior: log-uniform}}
"""


def _median_time(func: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _python(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True)


def bench_import(repeats: int) -> dict[str, float]:
    """Fresh-interpreter import of MLExperiment, minus a bare interpreter start."""
    bare = _median_time(lambda: _python("pass"), repeats)
    full = _median_time(lambda: _python("from mle_toolbox import MLExperiment"), repeats)
    return {"import_ms": (full - bare) * 1000, "interpreter_ms": bare * 1000}


def _project(root: Path) -> None:
    (root / "train.py").write_text(NOOP_TRAIN)
    (root / "a.json").write_text('{"train_config": {"lrate": 0.1}}')
    (root / "b.json").write_text('{"train_config": {"lrate": 0.2}}')


def _direct(root: Path, out: Path) -> None:
    commands = [[sys.executable, str(root / "train.py"), "-config", str(root / cfg), "-seed",
                 str(seed), "-exp_dir", str(out / cfg / str(seed))]
                for cfg in ("a.json", "b.json") for seed in range(4)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda argv: subprocess.run(argv, cwd=root, check=True,
                                                  capture_output=True), commands))


def bench_sweep(repeats: int) -> dict[str, float]:
    """8 no-op jobs (2 configs x 4 seeds, 2 at a time): mle run vs the same commands.

    The end-of-sweep report (a fixed cost per sweep, not per job) is left out of the
    overhead with --no-report and timed on its own as ``report_s``.
    """
    mle_times, direct_times, dry_times, report_times = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _project(root)
        for index in range(repeats):
            (root / "meta.yaml").write_text(SWEEP_META.format(exp_dir=f"out{index}"))
            argv = [sys.executable, "-m", "mle_toolbox", "run", "meta.yaml", "--max-running", "2"]
            start = time.perf_counter()
            subprocess.run([*argv, "--dry-run"], cwd=root, check=True, capture_output=True)
            dry_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            subprocess.run([*argv, "--no-report"], cwd=root, check=True, capture_output=True)
            mle_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "mle_toolbox", "report", f"out{index}"],
                           cwd=root, check=True, capture_output=True)
            report_times.append(time.perf_counter() - start)
            shutil.rmtree(root / f"out{index}")
            start = time.perf_counter()
            _direct(root, root / f"direct{index}")
            direct_times.append(time.perf_counter() - start)
    mle, direct = statistics.median(mle_times), statistics.median(direct_times)
    return {"sweep_s": mle, "direct_s": direct, "overhead_ms_per_job": (mle - direct) / 8 * 1000,
            "dry_run_s": statistics.median(dry_times), "report_s": statistics.median(report_times)}


def bench_logging() -> dict[str, float]:
    """1,000 log.update(..., save=True) calls."""
    from mle_toolbox import MetricLogger

    with tempfile.TemporaryDirectory() as tmp:
        log = MetricLogger(Path(tmp) / "seed_0.jsonl")
        start = time.perf_counter()
        for step in range(1000):
            log.update({"step": step}, {"loss": 1.0 / (step + 1), "acc": 0.5}, save=True)
        elapsed = time.perf_counter() - start
        log.close()
    return {"log_1000_saves_s": elapsed}


def bench_planning() -> dict[str, float]:
    """Validate, expand and plan a 100x100 grid x 10 seeds = 100,000 jobs."""
    from mle_toolbox.config.base_configs import load_configs
    from mle_toolbox.config.expand import expand
    from mle_toolbox.config.meta import load_meta
    from mle_toolbox.files.layout import ExperimentLayout
    from mle_toolbox.launcher.prepare import plan_document
    from mle_toolbox.launcher.tasks import make_tasks

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _project(root)
        (root / "meta.yaml").write_text(BIG_META)
        start = time.perf_counter()
        meta = load_meta(root / "meta.yaml")
        plan = expand(meta, configs=load_configs(meta.config_files))
        layout = ExperimentLayout(meta.experiment_dir)
        tasks = make_tasks(plan, layout=layout, jobs=plan.jobs)
        text = json.dumps(plan_document(plan).to_json())
        elapsed = time.perf_counter() - start
    assert len(tasks) == 100_000 and text
    return {"plan_100k_jobs_s": elapsed}


TARGETS = {  # figure: (target, unit, what mle-toolbox 0.3.5 measured)
    "import_ms": (60.0, "ms", "860 ms"),
    "overhead_ms_per_job": (50.0, "ms", "~1000 ms (8 s sweep)"),
    "log_1000_saves_s": (0.05, "s", "23.7 s"),
    "plan_100k_jobs_s": (2.0, "s", "-"),
}


def main() -> int:
    """Run every benchmark, print the table, return 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    repeats = 3 if args.quick else 9
    figures: dict[str, float] = {}
    figures.update(bench_import(repeats * 2))
    figures.update(bench_sweep(max(3, repeats // 2)))
    figures.update(bench_logging())
    figures.update(bench_planning())
    return print_figures(figures, targets=TARGETS, json_path=args.json)


def print_figures(figures: dict[str, float], *, targets: dict[str, tuple[float, str, str]],
                  json_path: Path | None) -> int:
    """Print each figure with its target; 1 when a target is missed (shared by benchmarks)."""
    missed = []
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    for name, value in figures.items():
        target = targets.get(name)
        note = ""
        if target is not None:
            ok = value < target[0]
            missed += [] if ok else [name]
            note = f"target < {target[0]} {target[1]} {'ok' if ok else 'MISSED'}; " \
                   f"mle-toolbox 0.3.5: {target[2]}"
        print(f"{name:<26} {value:10.4f}   {note}")
    if json_path:
        json_path.write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
