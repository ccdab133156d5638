"""The fixed cost of one ``mle run``: the launcher's own CPU, and where its wall time goes
before the first job starts and after the last job ends (issue 18).

    python benchmarks/bench_launch.py [--repeats 7] [--jobs 8] [--json results.json]
    python benchmarks/bench_launch.py --tree /path/to/before --tree .   # side by side

Each round runs, in this order, a bare ``python -c pass``, ``mle run --dry-run``, ``mle
run --no-report`` and the same commands run directly (2 at a time), on a sweep of no-op
jobs whose training script writes when it started and when it ended. Per round:

- ``launcher_cpu``: CPU time of the launcher process itself, its interpreter's shutdown
  included: ``os.wait4``'s figure less the jobs it ran (``RUSAGE_CHILDREN`` at exit);
  ``dry_run_cpu``: the dry run's CPU (``os.wait4``); ``bare_cpu``: a bare interpreter's,
  measured the same way.
- ``head``: launch -> the first job's training script starts; ``direct_head`` the same
  for the direct commands (an interpreter start), so ``head - direct_head`` is what the
  launcher adds before work begins.
- ``tail``: the last job's script ends -> the launcher has exited (``direct_tail``
  likewise: reaping the last process).
- ``stdlib_floor_cpu``: an interpreter that only imports the standard modules that
  launch loaded (those a bare start has not; PyYAML left out: a plain meta YAML does
  not load it). No launcher built on them can start for less.

min / median / max over the rounds, byte code cached (timing.bytecode_cached), printed
next to the bare start of the same run. With ``--tree`` (repeatable) each round runs the
mle_toolbox of each source tree in turn (PYTHONPATH), so before and after are measured
under the same load. Every process of a round (bare start, launcher, jobs, direct
commands) runs under one interpreter: ``--interpreter both`` (the default) alternates a
clean one and this environment's, ``.pth`` included (interpreters.py). A report, not a
judge: exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from interpreters import CONSOLE_SCRIPT, ROOT, Interpreter, chosen
from timing import spread, sweep_project

PARALLEL = 2
# The no-op job of bench_foundation.py, stamping its start and end (one O_APPEND write).
STAMPED_TRAIN = """\
import os, time
_start = time.time()
from mle_toolbox import MLExperiment
mle = MLExperiment()
mle.log.update({'step': 0}, {'loss': 1.0}, save=True)
_fd = os.open(os.environ["STAMPS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
os.write(_fd, f"{_start} {time.time()}\\n".encode())
os.close(_fd)
"""
# The launcher started as the ``mle`` console script starts it (interpreters.CONSOLE_SCRIPT),
# reporting its jobs' CPU time at exit.
# Also lists the modules loaded by then (the floor below imports the standard ones alone).
SELF_CPU = """\
import atexit, os, resource, sys
def _report():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(os.environ["SELF_CPU"], "w") as out:
        out.write(str(usage.ru_utime + usage.ru_stime))
    with open(os.environ["SELF_CPU"] + ".modules", "w") as out:
        out.write(" ".join(sorted(sys.modules)))
atexit.register(_report)
""" + CONSOLE_SCRIPT
# The modules a bare interpreter has loaded by the time it runs -c code.
BARE_MODULES = "import sys; print(' '.join(sorted(sys.modules)))"


def _waited(argv: list[str], *, cwd: Path,
            env: dict[str, str]) -> tuple[float, float, float, float]:
    """(start, end, wall, CPU by wait4) of one process."""
    start = time.time()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    end = time.time()
    assert os.waitstatus_to_exitcode(status) == 0, f"{argv} exited {status}"
    return start, end, end - start, usage.ru_utime + usage.ru_stime


def _stamps(path: Path) -> tuple[float, float]:
    """(first start, last end) of the jobs that wrote to ``path``; clears it."""
    pairs = [tuple(map(float, line.split())) for line in path.read_text().splitlines()]
    path.unlink()
    return min(p[0] for p in pairs), max(p[1] for p in pairs)


def _stdlib_floor(root: Path, self_cpu: Path, *, exe: str, env: dict[str, str]) -> float:
    """CPU of an interpreter that imports, and does nothing else with, the standard
    modules the launch just loaded (those a bare start has not): a floor for any
    launcher built on them (argparse, json, sqlite3, subprocess, pathlib, re, ...)."""
    bare = set(subprocess.run([exe, "-c", BARE_MODULES], env=env, check=True,
                              capture_output=True, text=True).stdout.split())
    loaded = Path(f"{self_cpu}.modules").read_text().split()
    standard = [m for m in loaded if m not in bare and m.split(".")[0] not in (
        "mle_toolbox", "yaml", "_yaml", "cython_runtime") and not m.startswith("_cython")]
    # Some entries (typing.io) are names in sys.modules that cannot be imported as such.
    code = f"for m in {standard!r}:\n try: __import__(m)\n except ImportError: pass"
    return _waited([exe, "-c", code], cwd=root, env=env)[3]


def _round(root: Path, jobs: int, *, tree: str, python: Interpreter) -> dict[str, float]:
    stamps, self_cpu = root / "stamps.txt", root / "self_cpu.txt"
    os.environ.update(STAMPS=str(stamps), SELF_CPU=str(self_cpu))
    env, exe = python.environ(tree), python.python
    figures: dict[str, float] = {}
    _, _, figures["bare_wall"], figures["bare_cpu"] = _waited(
        [exe, "-c", "pass"], cwd=root, env=env)
    _, _, figures["dry_run_wall"], figures["dry_run_cpu"] = _waited(
        python.mle("run", "meta.yaml", "--dry-run"), cwd=root, env=env)
    shutil.rmtree(root / "out", ignore_errors=True)
    start, end, figures["run_wall"], cpu = _waited(
        [exe, "-c", SELF_CPU, "run", "meta.yaml", "--no-report", "--max-running",
         str(PARALLEL)], cwd=root, env=env)
    figures["launcher_cpu"] = cpu - float(self_cpu.read_text())
    figures["stdlib_floor_cpu"] = _stdlib_floor(root, self_cpu, exe=exe, env=env)
    first, last = _stamps(stamps)
    figures["head"], figures["tail"] = first - start, end - last
    commands = [[exe, "train.py", "-config", f"{config}.json", "-seed", str(seed),
                 "-exp_dir", str(root / "direct" / config / str(seed))]
                for config in ("a", "b") for seed in range(jobs // 2)]
    start = time.time()
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        list(pool.map(lambda argv: subprocess.run(argv, cwd=root, env=env, check=True,
                                                  capture_output=True), commands))
    end = time.time()
    first, last = _stamps(stamps)
    figures["direct_wall"] = end - start
    figures["direct_head"], figures["direct_tail"] = first - start, end - last
    figures["overhead_per_job"] = (figures["run_wall"] - figures["direct_wall"]) / jobs
    shutil.rmtree(root / "direct")
    return figures


def main() -> int:
    """Run the rounds, print min / median / max of each figure in ms."""
    from timing import bytecode_cached

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=8, help="jobs per sweep (even)")
    parser.add_argument("--tree", action="append", metavar="DIR",
                        help="a source tree holding mle_toolbox/ (repeat to compare)")
    parser.add_argument("--interpreter", choices=("both", "clean", "site"), default="both",
                        help="clean: a venv without site-packages; site: this environment's "
                        "interpreter with its site .pth (default: both, alternating)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()[0]:.1f}; {args.jobs} jobs, {PARALLEL} at a time")
    trees = [str(Path(t).resolve()) for t in args.tree] if args.tree else [ROOT]
    rounds: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp, bytecode_cached(Path(tmp) / "pycache"):
        pythons = chosen(args.interpreter, Path(tmp) / "clean")
        root = Path(tmp) / "project"
        root.mkdir()
        sweep_project(root, jobs=args.jobs, train=STAMPED_TRAIN)
        for index in range(args.repeats + 1):  # the first round warms up and is not kept
            for python in pythons:
                for tree in trees:
                    figures = _round(root, args.jobs, tree=tree, python=python)
                    if index:
                        rounds.setdefault(f"{python.label}: {tree}", []).append(figures)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for key, kept in rounds.items():
        print(f"--- {key}")
        summary[key] = {}
        for name in kept[0]:
            low, mid, high = spread([r[name] for r in kept])
            summary[key][name] = {"min_s": low, "median_s": mid, "max_s": high}
            print(f"{name:<18} median {mid * 1000:7.1f} ms (min {low * 1000:7.1f}, "
                  f"max {high * 1000:7.1f})")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
