"""Cost of progress display, experiment history and reports (issue 6).

    python benchmarks/bench_results.py [--json results.json]

Prints one line per figure (measured, target) and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_foundation import print_figures

from mle_toolbox import MetricLogger
from mle_toolbox.files.layout import ExperimentLayout

GRID_META = """\
meta_job_args: {experiment_type: hyperparameter-search, base_train_fname: train.py}
param_search_args:
  search_logging: {eval_metrics: [loss], max_objective: false}
"""
RUNS = [(lrate, width) for lrate in (0.001, 0.01, 0.1, 1.0) for width in (8, 16, 32, 64, 128,
                                                                           256)]


def bench_progress() -> dict[str, float]:
    """Per finished job: counting, formatting and writing one plain progress line."""
    from mle_toolbox.launcher.progress import Progress
    from mle_toolbox.spec import JobResult, JobState

    total = 100_000
    progress = Progress(total=total, stream=io.StringIO(), live=False)
    results = [JobResult(job_id=f"run-seed{i}", state=JobState.COMPLETED, exit_code=0,
                         reason="", duration_s=1.0) for i in range(total)]
    start = time.perf_counter()
    for result in results:
        progress.started(result.job_id)
        progress(result)
    return {"progress_us_per_job": (time.perf_counter() - start) / total * 1e6}


def bench_history(repeats: int = 20) -> dict[str, float]:
    """One launch's history: open + insert, then open + update (each a transaction)."""
    from mle_toolbox.launcher import history

    times = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "h.sqlite"
        for index in range(repeats):
            start = time.perf_counter()
            with history.connect(db) as conn:
                entry = history.insert(conn, name="b", meta_path="m", meta_hash="h",
                                       exp_dir=str(index), backend="local", state="running",
                                       jobs_total=8, started=0.0, host="h", pid=0)
            with history.connect(db) as conn:
                history.update(conn, entry, state="completed", jobs_completed=8, ended=1.0)
            times.append(time.perf_counter() - start)
        start = time.perf_counter()
        history.git_commit(Path(tmp))
        git = time.perf_counter() - start
    return {"history_ms_per_launch": statistics.median(times) * 1000,
            "git_commit_lookup_ms": git * 1000}


def _experiment(root: Path, *, seeds: int = 3, steps: int = 200) -> Path:
    layout = ExperimentLayout(root)
    runs = []
    for index, (lrate, width) in enumerate(RUNS):
        run_id = f"eval_{index}"
        runs.append({"run_id": run_id, "params": {"lrate": lrate, "width": width}})
        for seed in range(seeds):
            log = MetricLogger(layout.job(run_id, seed).metrics_log)
            for step in range(steps):
                loss = 1 / (1 + lrate * width * step / 100) + 0.01 * seed
                log.update({"step": step}, {"loss": loss, "acc": 1 - loss, "lr": lrate})
            log.close()
    layout.plan.write_text(json.dumps({"project_name": "bench", "runs": runs,
                                       "seeds": list(range(seeds)), "meta_path": "m"}))
    layout.meta_copy.write_text(GRID_META)
    return root


def _timed_report(exp: Path, *extra: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mle_toolbox", "report", str(exp), *extra],
                   check=True, capture_output=True)
    return time.perf_counter() - start


def bench_report() -> dict[str, float]:
    """`mle report` of 24 runs x 3 seeds x 200 steps, 3 metrics, a 4 x 6 grid."""
    with tempfile.TemporaryDirectory() as tmp:
        exp = _experiment(Path(tmp) / "exp")
        tables = statistics.median(_timed_report(exp, "--no-figures") for _ in range(3))
        full = statistics.median(_timed_report(exp) for _ in range(2))
        count = len(list((exp / "figures").iterdir()))
    assert count == len(RUNS) + 1
    return {"report_tables_s": tables, "report_with_25_figures_s": full}


TARGETS = {  # figure: (target, unit, what mle-toolbox 0.3.5 measured)
    "progress_us_per_job": (100.0, "us", "-"),
    "history_ms_per_launch": (100.0, "ms", "-"),
    "report_tables_s": (1.0, "s", "-"),
    "report_with_25_figures_s": (10.0, "s", "-"),
}


def main() -> int:
    """Run every benchmark, print the table, return 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    for bench in (bench_progress, bench_history, bench_report):
        figures.update(bench())
    return print_figures(figures, targets=TARGETS, json_path=args.json)


if __name__ == "__main__":
    sys.exit(main())
