"""Speed of the foundation, measured against the targets of issues 2 and 18.

    python benchmarks/bench_foundation.py [--json results.json] [--quick]

Every figure is measured in alternation with a bare ``python -c pass`` of the same run
and printed as min / median / max, next to the bare start and as a ratio to it (see
timing.py). A ratio target is checked as a ratio; a target on a fresh process (import,
dry run) is checked on its CPU time (user + system, from ``os.wait4``), which waiting for a
core on a busy machine does not inflate; a target in absolute wall time is checked only on a
quiet machine (timing.quiet_machine: load average <= half the cores, at the start and the
end of the run) and otherwise reported. Exits 1 when a checked target
is missed.
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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from interpreters import Interpreter, chosen, this_environment
from interpreters import clean as clean_interpreter
from timing import (
    Sample,
    alternate,
    bytecode_cached,
    child,
    clean_python,
    describe,
    import_path,
    quiet_machine,
)

NOOP_TRAIN = ("from mle_toolbox import MLExperiment\nmle = MLExperiment()\n"
              "mle.log.update({'step': 0}, {'loss': 1.0}, save=True)\n")
SWEEP_META = """\
meta_job_args:
  experiment_type: multiple-configs
  base_train_fname: train.py
  experiment_dir: {exp_dir}
multi_config_args:
  config_fnames: [a.json, b.json]
  num_seeds: {seeds}
"""
# Issue 18 is about sweeps of thousands of short jobs: its per-job overhead is judged on a
# sweep this size, where the launcher's fixed start-up (interpreter, imports, planning:
# ~120 ms per sweep) no longer dominates. The 8-job sweep keeps issue 2's target.
LARGE_SEEDS = 100
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


# The sweep's figures measured with this machine's site .pth (interpreters.py) end in this.
SITE_SUFFIX = "_site_pth"


# What every job needs whatever launched it: json's C code (its config, its metrics),
# random (its seed), signal's C module and atexit (its end recorded): the floor of the
# import figure. ``import json, signal`` themselves cost ~15 ms more here (re, enum,
# functools, collections), which the job side no longer imports (files/jsontext.py).
FLOOR = "import _json, random, _signal, atexit"
# A whole no-op job after the import: config read, seeded, one metrics row, status
# written twice (the import figure alone could hide costs moved into the constructor).
JOB = ("from mle_toolbox import MLExperiment\n"
       "mle = MLExperiment(argv=['-config', 'c.json', '-seed', '1', '-exp_dir', 'run'])\n"
       "mle.log.update({'step': 0}, {'loss': 0.5}, save=True)\nmle.finish()")


def bench_import(repeats: int, *, folder: Path) -> list[tuple[str, list[Sample], list[Sample]]]:
    """Fresh-interpreter import of MLExperiment, alternating with a bare start and with the
    floor's stdlib imports, in a clean interpreter (timing.clean_python)."""
    clean, env = clean_python(folder), import_path()

    def start(code: str) -> Callable[[], Sample]:
        return lambda: child([clean, "-c", code], env=env)

    bare, runs = alternate(start("from mle_toolbox import MLExperiment"), start("pass"),
                           repeats=repeats)
    floor = [start(FLOOR)() for _ in range(repeats)]
    job_dir = folder.parent / "job"
    job_dir.mkdir()
    (job_dir / "c.json").write_text('{"train_config": {"lrate": 0.1}}')
    job_bare, job = alternate(lambda: child([clean, "-c", JOB], env=env, cwd=job_dir),
                              start("pass"), repeats=repeats)
    return [("import", runs, bare), ("import_floor", floor, bare),
            ("noop_job", job, job_bare), *_commented_config(job_dir, clean, env, repeats)]


# A config as mle-toolbox users write them: commentjson's comments and a trailing comma.
COMMENTED = '// step size\n{"train_config": {"lrate": 0.1,}, # small\n "log_config": {}}\n'


def _commented_config(job_dir: Path, clean: str, env: dict[str, str], repeats: int,
                      ) -> list[tuple[str, list[Sample], list[Sample]]]:
    """The no-op job with a commented config (read by files/jsoncomments.py), and, for
    reference, what reading it with commentjson costs (its lark parser is built at import;
    the job side used it until 2026-12-02). commentjson is reached through its
    site-packages folder on PYTHONPATH: no .pth file runs (interpreters.py)."""
    import commentjson  # the test extra installs it

    (job_dir / "cc.json").write_text(COMMENTED)
    code = JOB.replace("c.json", "cc.json")
    site = str(Path(commentjson.__file__).resolve().parent.parent)
    env_site = {**env, "PYTHONPATH": os.pathsep.join((env["PYTHONPATH"], site))}

    def bare() -> Sample:
        return child([clean, "-c", "pass"], env=env)

    job_bare, job = alternate(lambda: child([clean, "-c", code], env=env, cwd=job_dir), bare,
                              repeats=repeats)
    ref_bare, ref = alternate(lambda: child(
        [clean, "-c", "import commentjson; commentjson.loads(open('cc.json').read())"],
        env=env_site, cwd=job_dir), bare, repeats=repeats)
    return [("noop_job_commented_config", job, job_bare),
            ("commentjson_loads_reference", ref, ref_bare)]


def bench_wrapper(repeats: int) -> list[tuple[str, list[Sample], list[Sample]]]:
    """``bash job_wrapper.sh JOB_DIR python -c pass`` against ``python -c pass`` itself:
    what the wrapper adds to every job (a fresh job folder each time)."""
    from mle_toolbox.templates import template_path

    wrapper = str(template_path("job_wrapper.sh"))
    with tempfile.TemporaryDirectory() as tmp:
        folders = iter(range(10**6))

        def wrapped() -> Sample:
            job_dir = Path(tmp) / f"job{next(folders)}"
            job_dir.mkdir()
            start = time.perf_counter()
            subprocess.run(["bash", wrapper, str(job_dir), sys.executable, "-c", "pass"],
                           check=True)
            return Sample(wall=time.perf_counter() - start)

        bare, runs = alternate(wrapped, repeats=repeats)
    overhead = [Sample(wall=w.wall - b.wall) for w, b in zip(runs, bare, strict=True)]
    return [("wrapped_job", runs, bare), ("wrapper_overhead", overhead, bare)]


def _project(root: Path) -> None:
    (root / "train.py").write_text(NOOP_TRAIN)
    (root / "a.json").write_text('{"train_config": {"lrate": 0.1}}')
    (root / "b.json").write_text('{"train_config": {"lrate": 0.2}}')


def _direct(root: Path, out: Path, python: Interpreter, *, seeds: int = 4) -> None:
    commands = [[python.python, str(root / "train.py"), "-config", str(root / cfg), "-seed",
                 str(seed), "-exp_dir", str(out / cfg / str(seed))]
                for cfg in ("a.json", "b.json") for seed in range(seeds)]
    env = python.environ()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda argv: subprocess.run(argv, cwd=root, env=env, check=True,
                                                  capture_output=True), commands))


def _mle(root: Path, python: Interpreter, *args: str) -> Sample:
    start = time.perf_counter()
    subprocess.run(python.mle(*args), cwd=root, check=True,
                   env=python.environ(), capture_output=True)
    return Sample(wall=time.perf_counter() - start)


def _sweep_round(root: Path, index: int, python: Interpreter) -> list[Sample]:
    """bare start, dry run, sweep, report, direct commands: all under ``python`` but the
    report, which needs numpy and matplotlib (not in the clean interpreter): it runs with
    this environment's interpreter whatever ``python`` is."""
    out = f"out{index}_{python.name}"
    (root / "meta.yaml").write_text(SWEEP_META.format(exp_dir=out, seeds=4))
    run = ["run", "meta.yaml", "--max-running", "2"]
    round_ = [child([python.python, "-c", "pass"], env=python.environ()),
              _mle(root, python, *run, "--dry-run"), _mle(root, python, *run, "--no-report"),
              _mle(root, this_environment(), "report", out)]
    shutil.rmtree(root / out)
    start = time.perf_counter()
    _direct(root, root / f"direct{index}_{python.name}", python)
    return [*round_, Sample(wall=time.perf_counter() - start)]


def bench_sweep(repeats: int, *, pythons: list[Interpreter],
                ) -> list[tuple[str, list[Sample], list[Sample]]]:
    """8 no-op jobs (2 configs x 4 seeds, 2 at a time): mle run vs the same commands.

    The end-of-sweep report (a fixed cost per sweep, not per job) is left out of the
    overhead with --no-report and timed on its own as ``report`` (always with this
    environment's interpreter: it needs numpy and matplotlib). Each repeat runs, under
    each interpreter in turn (interpreters.py: launcher, jobs and direct commands alike),
    a bare interpreter start, the dry run, the sweep, the report and the direct commands.
    Figures of the clean interpreter keep their plain names (and are judged); those
    with this machine's site .pth end in ``_site_pth`` (reported, not judged).
    """
    names = ("bare", "dry_run_8_jobs", "sweep_8_jobs", "report", "direct_8_jobs")
    kept: dict[str, dict[str, list[Sample]]] = {
        p.name: {name: [] for name in names} for p in pythons}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _project(root)
        for index in range(repeats + 1):  # the first round warms up and is not kept
            for python in pythons:
                round_ = _sweep_round(root, index, python)
                for name, sample in zip(names, round_, strict=True) if index else ():
                    kept[python.name][name].append(sample)
    results: list[tuple[str, list[Sample], list[Sample]]] = []
    for python in pythons:
        got, suffix = kept[python.name], "" if python.name == "clean" else SITE_SUFFIX
        overhead = [Sample(wall=(m.wall - d.wall) / 8)
                    for m, d in zip(got["sweep_8_jobs"], got["direct_8_jobs"], strict=True)]
        results += [(name + suffix, runs, got["bare"]) for name, runs in (
            ("sweep_8_jobs", got["sweep_8_jobs"]), ("direct_8_jobs", got["direct_8_jobs"]),
            ("overhead_per_job", overhead), ("dry_run_8_jobs", got["dry_run_8_jobs"]))]
    # The report ran with this environment's interpreter in every round: kept once, plain.
    first = kept[pythons[0].name]
    return [*results, ("report", first["report"], first["bare"])]


def bench_large_sweep(repeats: int, *, python: Interpreter,
                      ) -> list[tuple[str, list[Sample], list[Sample]]]:
    """2 configs x LARGE_SEEDS no-op jobs, 2 at a time: mle run vs the same commands run
    directly, alternating (with a bare start each round), under the clean interpreter.
    ``overhead_per_job_large`` is (sweep - direct) / jobs, paired by round."""
    jobs = 2 * LARGE_SEEDS
    sweeps: list[Sample] = []
    direct: list[Sample] = []
    bare: list[Sample] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _project(root)
        for index in range(repeats + 1):  # the first round warms up and is not kept
            out = f"large{index}"
            (root / "meta.yaml").write_text(SWEEP_META.format(exp_dir=out, seeds=LARGE_SEEDS))
            round_ = [child([python.python, "-c", "pass"], env=python.environ()),
                      _mle(root, python, "run", "meta.yaml", "--max-running", "2",
                           "--no-report")]
            shutil.rmtree(root / out)
            start = time.perf_counter()
            _direct(root, root / f"direct_large{index}", python, seeds=LARGE_SEEDS)
            round_.append(Sample(wall=time.perf_counter() - start))
            shutil.rmtree(root / f"direct_large{index}")
            if index:
                bare.append(round_[0])
                sweeps.append(round_[1])
                direct.append(round_[2])
    overhead = [Sample(wall=(m.wall - d.wall) / jobs) for m, d in zip(sweeps, direct,
                                                                       strict=True)]
    return [(f"sweep_{jobs}_jobs", sweeps, bare), (f"direct_{jobs}_jobs", direct, bare),
            ("overhead_per_job_large", overhead, bare)]


def _log_1000_saves() -> Sample:
    from mle_toolbox import MetricLogger

    with tempfile.TemporaryDirectory() as tmp:
        log = MetricLogger(Path(tmp) / "seed_0.jsonl")
        start = time.perf_counter()
        for step in range(1000):
            log.update({"step": step}, {"loss": 1.0 / (step + 1), "acc": 0.5}, save=True)
        elapsed = time.perf_counter() - start
        log.close()
    return Sample(wall=elapsed)


def bench_logging(repeats: int) -> list[tuple[str, list[Sample], list[Sample]]]:
    """1,000 log.update(..., save=True) calls, alternating with a bare start."""
    bare, runs = alternate(_log_1000_saves, repeats=repeats)
    return [("log_1000_saves", runs, bare)]


def bench_planning(repeats: int) -> list[tuple[str, list[Sample], list[Sample]]]:
    """``mle run --dry-run`` of a 100x100 grid x 10 seeds = 100,000 jobs, a fresh process each
    time (bench_planning.py has this case with peak memory, 1,000,000 jobs and 20,000 config
    files)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _project(root)
        (root / "meta.yaml").write_text(BIG_META)
        argv = this_environment().mle("run", "meta.yaml", "--dry-run")
        bare, runs = alternate(lambda: child(argv, cwd=root), repeats=repeats)
    return [("dry_run_100k_jobs", runs, bare)]


# figure: (kind, target, what mle-toolbox 0.3.5 measured). kind "ratio" is the median wall
# time over the bare start's (checked as a ratio: it holds on a loaded machine); "over" the
# median CPU time minus the bare start's median CPU time (ms), and "cpu" the median CPU time
# (s): CPU time is what waiting for a core on a shared machine does not inflate, and on a
# quiet machine it is the wall time; "s" / "ms" the median wall time itself.
TARGETS: dict[str, list[tuple[str, float, str]]] = {
    "import": [("ratio", 2.0, "-"), ("over", 20.0, "860 ms")],
    # Issue 2's target for the 8-job sweep; our own stretch of 10 ms there (set in
    # a7472cc, before issue 18) is out of reach: see benchmarks/README.md.
    "overhead_per_job": [("ms", 50.0, "~1000 ms (8 s sweep)")],
    "overhead_per_job_large": [("ms", 10.0, "-")],
    "wrapped_job": [("ratio", 1.5, "-")],
    "log_1000_saves": [("s", 0.05, "23.7 s")],
    "dry_run_100k_jobs": [("cpu", 1.0, "-")],
}


def _value(kind: str, figure: dict[str, float]) -> float:
    if kind == "ratio":
        return figure["ratio_to_bare"]
    if kind == "over":
        return (figure["cpu_median_s"] - figure["bare_cpu_median_s"]) * 1000
    if kind == "cpu":
        return figure["cpu_median_s"]
    return figure["wall_median_s"] * (1000 if kind == "ms" else 1)


def _judge(name: str, figure: dict[str, float], *, quiet: bool) -> tuple[str, bool]:
    notes, ok = [], True
    for kind, target, upstream in TARGETS.get(name, []):
        value = _value(kind, figure)
        unit = {"ratio": "x", "over": " ms CPU over bare", "cpu": " s CPU", "ms": " ms",
                "s": " s"}[kind]
        checked = kind in ("ratio", "over", "cpu") or quiet
        met = value <= target
        ok = ok and (met or not checked)
        verdict = "ok" if met else ("MISSED" if checked else
                                    "over, not judged: the machine is busy")
        notes.append(f"{value:.3g}{unit} (target <= {target}{unit}: {verdict}; "
                     f"mle-toolbox 0.3.5: {upstream})")
    return "; ".join(notes), ok


def main() -> int:
    """Run every benchmark, print the figures, return 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--sweep-interpreter", choices=("both", "clean", "site"),
                        default="both", help="the sweep's interpreters (interpreters.py): "
                        "clean is judged, site (this machine's .pth) reported")
    args = parser.parse_args()
    repeats = 3 if args.quick else 9
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()[0]:.1f}")
    quiet_before = quiet_machine()
    with tempfile.TemporaryDirectory() as tmp, bytecode_cached(Path(tmp) / "pycache"):
        results = [*bench_import(repeats * 2, folder=Path(tmp) / "venv"),
                   *bench_wrapper(repeats * 2),
                   *bench_sweep(max(3, repeats // 2), pythons=chosen(
                       args.sweep_interpreter, Path(tmp) / "sweep_python")),
                   *bench_large_sweep(max(3, repeats // 3),
                                      python=clean_interpreter(Path(tmp) / "large_python")),
                   *bench_logging(repeats), *bench_planning(max(3, repeats // 3))]
    quiet = quiet_before and quiet_machine(own=1)
    print(f"load average at the end {os.getloadavg()[0]:.1f}: "
          f"{'quiet' if quiet else 'busy'} (wall-time targets {'' if quiet else 'not '}judged)")
    figures: dict[str, dict[str, float]] = {}
    missed = []
    for name, runs, bare in results:
        line, figure = describe(name, runs, bare=bare)
        note, ok = _judge(name, figure, quiet=quiet)
        missed += [] if ok else [name]
        if name.endswith(SITE_SUFFIX):
            note = "with this machine's site .pth (not judged: an artefact of this machine)"
        print(line + (f"\n{'':<25}{note}" if note else ""))
        figures[name] = figure
    if "import_floor" in figures:
        ours = figures["import"]["cpu_median_s"] - figures["import_floor"]["cpu_median_s"]
        print(f"{'':<25}import minus the floor ({FLOOR}): {ours * 1000:.1f} ms CPU")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if missed else 0


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
