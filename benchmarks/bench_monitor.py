"""Cost of ``mle monitor --once`` over a big history and a 100,000-job experiment (issue 19).

    python benchmarks/bench_monitor.py [--repeats 7] [--json out.json]

History: 1,000 launches; the newest is a running 100,000-job sweep (job table with
90,000 completed, 2,000 failed, 200 running, 7,800 not yet submitted; metrics logs and
stderr files for the jobs the screen shows). A second case has the same sweep on Grid
Engine with all 100,000 tasks waiting in one array (a fake ``qstat`` on PATH prints the
listing). CPU time (user + system; the target applies to its median) and wall time of
a fresh ``mle monitor --once`` process, next to a bare ``python -c pass`` measured in
the same alternating repeats; min / median / max.
Prints one line per figure and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_foundation import print_figures

from mle_toolbox.files.layout import ExperimentLayout
from mle_toolbox.launcher import history
from mle_toolbox.launcher.jobtable import JobTable

JOBS = 100_000
HISTORY = 1_000
TARGETS = {"monitor_once_s": (1.0, "s", "- (no --once; the dashboard loops)"),
           "monitor_once_sge_100k_queued_s": (1.0, "s", "-")}


def _job_rows(backend: str) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for index in range(JOBS - 7_800):
        run_id, seed = f"eval_{index // 2}", index % 2
        if backend == "sge":
            state, native, ended = "pending", f"900.{index + 1}", None
        elif index < 90_000:
            state, native, ended = "completed", str(index), 1000.0 + index
        elif index < 92_000:
            state, native, ended = "failed", str(index), 1000.0 + index
        else:
            state, native, ended = "pending", str(index), None
        rows.append((f"{run_id}-seed{seed}", 1, run_id, seed, "h", backend, native, state,
                     1 if state == "failed" else None, "", 1.0, ended))
    return rows


def build(root: Path, *, backend: str) -> Path:
    """The project folder (history in .mle/) with the big experiment; returns the folder."""
    exp = ExperimentLayout(root / "runs" / "big")
    exp.plan.parent.mkdir(parents=True)
    exp.plan.write_text(json.dumps({"meta_path": str(root / "meta.yaml"), "runs": [],
                                    "jobs": []}))
    exp.meta_copy.write_text("param_search_args:\n  search_logging:\n    eval_metrics: "
                             "[loss]\n")
    JobTable.open(exp.job_table).close()
    with sqlite3.connect(exp.job_table) as db:
        db.executemany("INSERT INTO jobs (job_id, attempt, run_id, seed, config_hash, "
                       "backend, native_id, state, exit_code, reason, submitted, ended) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _job_rows(backend))
    for index in range(89_990, 92_200):  # the last completed, the failed, the running
        run_id, seed = f"eval_{index // 2}", index % 2
        job = exp.job(run_id, seed)
        job.job_dir.mkdir(parents=True, exist_ok=True)
        if 90_000 <= index < 92_000:
            job.stderr.write_text("Traceback (most recent call last):\nValueError: nan\n")
        if index >= 92_000 or index < 90_000:
            job.metrics_log.parent.mkdir(parents=True, exist_ok=True)
            job.metrics_log.write_text("".join(
                json.dumps({"time": {"step": s}, "stats": {"loss": 1 / (s + 1)}}) + "\n"
                for s in range(500)))
    db_path = root / ".mle" / "history.sqlite"
    with history.connect(db_path) as conn:
        for index in range(HISTORY - 1):
            small = root / "runs" / f"small_{index}"
            small.mkdir(parents=True)
            (small / "plan.json").write_text('{"meta_path": "m.yaml"}')
            history.insert(conn, name=f"small_{index}", purpose="sweep", meta_path="m.yaml",
                           meta_hash="0", exp_dir=str(small), backend="local",
                           state="completed", jobs_total=8, jobs_completed=8,
                           started=1000.0 + index, ended=1010.0 + index, host="h", pid=1)
        history.insert(conn, name="big", purpose="100k jobs", meta_path="m.yaml",
                       meta_hash="0", exp_dir=str(exp.root), backend=backend,
                       state="running" if backend == "local" else "detached",
                       jobs_total=JOBS, started=time.time() - 3600, host="h", pid=1)
    return root


def fake_qstat(folder: Path) -> Path:
    """A qstat that prints one pending 100,000-task array of ours."""
    folder.mkdir()
    (folder / "qstat.xml").write_text(
        "<?xml version='1.0'?><job_info><queue_info/><job_info><job_list state='pending'>"
        "<JB_job_number>900</JB_job_number><JB_name>big</JB_name><JB_owner>me</JB_owner>"
        f"<state>qw</state><slots>1</slots><tasks>1-{JOBS - 7_800}:1</tasks></job_list>"
        "</job_info></job_info>\n")
    script = folder / "qstat"
    script.write_text(f"#!/bin/sh\ncat {folder}/qstat.xml\n")
    script.chmod(0o755)
    return folder


def _time(argv: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of ``argv``.

    CPU time is the figure to compare on a shared machine: wall time there mostly
    measures how long the process waited for a core.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False,
                          timeout=120)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed: {done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def measure(project: Path, *, repeats: int, env: dict[str, str],
            ) -> tuple[list[tuple[float, float]], list[tuple[float, float]], str]:
    """Alternating repeats of ``mle monitor --once`` and ``python -c pass``."""
    monitor = [sys.executable, "-m", "mle_toolbox", "monitor", "--once"]
    runs, bare = [], []
    _time(monitor, cwd=project, env=env)  # warm-up: byte code, file cache
    for _ in range(repeats):
        runs.append(_time(monitor, cwd=project, env=env))
        bare.append(_time([sys.executable, "-c", "pass"], cwd=project, env=env))
    screen = subprocess.run(monitor, cwd=project, env=env, capture_output=True, text=True,
                            check=True, timeout=120).stdout
    return runs, bare, screen


def main() -> int:
    """Build both cases, measure, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--show", action="store_true", help="print the screens too")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    env.pop("MLE_HISTORY_DB", None)
    with tempfile.TemporaryDirectory() as tmp:
        # As an installed package runs: byte code cached (in the temp dir, not the tree),
        # warmed by a first run that is not measured.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        for name, backend in (("monitor_once_s", "local"),
                              ("monitor_once_sge_100k_queued_s", "sge")):
            folder = Path(tmp) / backend
            start = time.perf_counter()
            project = build(folder, backend=backend)
            print(f"{backend}: built in {time.perf_counter() - start:.1f} s")
            case_env = dict(env)
            if backend == "sge":
                bin_dir = fake_qstat(folder / "bin")
                case_env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
            runs, bare, screen = measure(project, repeats=args.repeats, env=case_env)
            if args.show:
                print(screen)
            expect = ("jobs: 7800 queued, 200 running, 90000 completed, 2000 failed"
                      if backend == "local" else "jobs: 100000 queued, 0 running")
            if expect not in screen:
                raise SystemExit(f"unexpected screen:\n{screen}")
            walls, cpus = [w for w, _ in runs], [c for _, c in runs]
            figures[name] = statistics.median(cpus)
            figures[f"{name}_cpu_min"] = min(cpus)
            figures[f"{name}_cpu_max"] = max(cpus)
            figures[f"{name}_wall_median"] = statistics.median(walls)
            figures[f"{name}_wall_min"] = min(walls)
            figures[f"{name}_wall_max"] = max(walls)
            figures[f"{name}_python_pass_cpu"] = statistics.median(c for _, c in bare)
            figures[f"{name}_python_pass_wall"] = statistics.median(w for w, _ in bare)
    return print_figures(figures, targets=TARGETS, json_path=args.json)


if __name__ == "__main__":
    sys.exit(main())
