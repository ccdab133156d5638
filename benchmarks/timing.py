"""Timing that holds on a shared, noisy machine (issue 18).

Every figure is measured in alternation with a bare interpreter start (``python -c pass``)
in the same run, after one warm-up of each (byte code cached, page cache warm), and is
reported as min / median / max and as a ratio to the bare start's median.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    """One measurement: wall seconds, CPU seconds (when known), peak memory (when known)."""

    wall: float
    cpu: float = 0.0
    rss_mb: float = 0.0


@contextlib.contextmanager
def bytecode_cached(folder: Path) -> Iterator[None]:
    """Bytecode cached (as in an installed package) in ``folder`` for every process started
    here, even where PYTHONDONTWRITEBYTECODE is set (it is on this machine): otherwise each
    process compiles its modules from source at every start, which no user with an
    installed package pays (~0.15 s CPU of a launcher's start here)."""
    saved = {name: os.environ.get(name) for name in ("PYTHONDONTWRITEBYTECODE",
                                                     "PYTHONPYCACHEPREFIX")}
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(folder)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def wall(func: Callable[[], object]) -> Sample:
    """Wall time of one call of ``func``."""
    start = time.perf_counter()
    func()
    return Sample(wall=time.perf_counter() - start)


def child(argv: list[str], *, cwd: Path | None = None,
          env: dict[str, str] | None = None) -> Sample:
    """Run ``argv`` to its end: wall time, CPU time (user + system) and peak resident memory
    of that one child (``os.wait4``), so earlier children do not count. Exits the benchmark
    with the child's stderr if it fails. The stderr goes to a temporary file, not a pipe:
    a child writing more than a pipe holds would otherwise block while it is waited for."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                stderr=errors)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code  # reaped by wait4: Popen must not wait for it again
        if code != 0:
            errors.seek(0)
            raise SystemExit(f"{argv} failed ({code}): {errors.read().decode()}")
    return Sample(wall=elapsed, cpu=usage.ru_utime + usage.ru_stime,
                  rss_mb=usage.ru_maxrss / 1024)


def quiet_machine(*, own: int = 0) -> bool:
    """Whether the machine is quiet enough to judge a target in wall time: a one-minute
    load average of at most half its cores, plus the ``own`` processes a benchmark itself
    keeps running (1 when asked at its end). Not the bare start's time: on a machine whose
    site-packages has a .pth that imports modules at every start, as this one, a bare start
    takes ~70 ms even when idle."""
    return os.getloadavg()[0] <= (os.cpu_count() or 1) / 2 + own


def clean_python(folder: Path) -> str:
    """A plain interpreter of this Python, without this environment's site-packages: a
    virtual environment made in ``folder`` (no pip). A ``.pth`` file in site-packages may
    import modules at every start (this machine's imports pathlib, typing and re through
    certifi, ~40 ms), which a bare start would then already have and an import would then
    not be charged for. Children find the package through PYTHONPATH (``import_path``)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    return str(folder / "bin" / "python")


def import_path() -> dict[str, str]:
    """The environment that lets a clean interpreter import this checkout's package."""
    root = str(Path(__file__).resolve().parent.parent)
    return {**os.environ, "PYTHONPATH": root}


def python(code: str) -> Sample:
    """Wall and CPU time of a fresh ``python -c CODE``."""
    return child([sys.executable, "-c", code])


def bare_start() -> Sample:
    """A bare interpreter start, the yardstick of every figure."""
    return python("pass")


def alternate(measure: Callable[[], Sample], baseline: Callable[[], Sample] = bare_start, *,
              repeats: int) -> tuple[list[Sample], list[Sample]]:
    """(baseline samples, measured samples), alternating, after one warm-up of each."""
    baseline()
    measure()
    base: list[Sample] = []
    runs: list[Sample] = []
    for _ in range(repeats):
        base.append(baseline())
        runs.append(measure())
    return base, runs


def spread(values: list[float]) -> tuple[float, float, float]:
    """(min, median, max)."""
    return min(values), statistics.median(values), max(values)


def describe(name: str, runs: list[Sample], *, bare: list[Sample]) -> tuple[str, dict[str, float]]:
    """A printable line and the figures: min/median/max, bare start, ratio to it."""
    low, mid, high = spread([s.wall for s in runs])
    b_low, b_mid, b_high = spread([s.wall for s in bare])
    figure = {"wall_min_s": low, "wall_median_s": mid, "wall_max_s": high,
              "bare_min_s": b_low, "bare_median_s": b_mid, "bare_max_s": b_high,
              "ratio_to_bare": mid / b_mid}
    line = (f"{name:<24} median {mid:.3f} s (min {low:.3f}, max {high:.3f}); "
            f"python -c pass {b_mid * 1000:.0f} ms (min {b_low * 1000:.0f}, "
            f"max {b_high * 1000:.0f}); ratio {mid / b_mid:.1f}x")
    if any(s.cpu for s in runs):
        c_low, c_mid, c_high = spread([s.cpu for s in runs])
        figure.update({"cpu_min_s": c_low, "cpu_median_s": c_mid, "cpu_max_s": c_high})
        line += f"; CPU {c_mid:.3f} s ({c_low:.3f}-{c_high:.3f})"
        if any(s.cpu for s in bare):
            figure["bare_cpu_median_s"] = statistics.median(s.cpu for s in bare)
            line += f", bare start's CPU {figure['bare_cpu_median_s'] * 1000:.0f} ms"
    return line, figure


def sweep_project(root: Path, *, jobs: int, train: str) -> None:
    """A project of ``jobs`` no-op jobs (2 configs x jobs/2 seeds) in ``root``: train.py
    with the text ``train``, a.json, b.json and meta.yaml (experiment_dir ``out``)."""
    (root / "train.py").write_text(train)
    for config in ("a", "b"):
        (root / f"{config}.json").write_text('{"train_config": {"lrate": 0.1}}')
    (root / "meta.yaml").write_text(
        "meta_job_args:\n  experiment_type: multiple-configs\n  base_train_fname: train.py\n"
        "  experiment_dir: out\nmulti_config_args:\n  config_fnames: [a.json, b.json]\n"
        f"  num_seeds: {jobs // 2}\n")
