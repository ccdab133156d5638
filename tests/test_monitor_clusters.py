"""``mle monitor --once`` during a sweep on the real Grid Engine and the real Slurm: its
queued / running counts equal what ``qstat`` / ``squeue`` say about the same jobs.

Other sessions share these daemons, so only our own jobs (by their native ids in the
experiment's job table) are compared. The queue is read before and after the monitor;
a comparison counts only when the two readings agree (a job may start in between).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_mle, write

HAVE_SGE = shutil.which("qstat") is not None and bool(os.environ.get("SGE_ROOT"))
HAVE_SLURM = shutil.which("sbatch") is not None and shutil.which("squeue") is not None
if not HAVE_SGE and os.environ.get("MLE_REQUIRE_SGE") == "1":
    raise RuntimeError("MLE_REQUIRE_SGE=1 but no SGE here: run scripts/sge-local.sh")
if not HAVE_SLURM and os.environ.get("MLE_REQUIRE_SLURM") == "1":
    raise RuntimeError("MLE_REQUIRE_SLURM=1 but no Slurm here: run scripts/slurm-local.sh")
pytestmark = pytest.mark.timeout(240)

SLEEPER = ("import time\nfrom mle_toolbox import MLExperiment\n"
           "mle = MLExperiment()\nmle.log.update({'step': 0}, {'loss': 1.0}, save=True)\n"
           "time.sleep(120)\n")
TRIES = 10


def _project(root: Path, name: str) -> Path:
    write(root / "train.py", SLEEPER)
    write(root / "configs" / "a.json", '{"train_config": {"lrate": 0.1}}\n')
    write(root / "configs" / "b.json", '{"train_config": {"lrate": 0.2}}\n')
    write(root / "meta.yaml", f"""\
        meta_job_args:
          project_name: {name}
          experiment_type: multiple-configs
          base_train_fname: train.py
          experiment_dir: out
        multi_config_args:
          config_fnames: [configs/a.json, configs/b.json]
          num_seeds: 3
        """)
    return root


def _native_ids(exp: Path) -> set[str]:
    with sqlite3.connect(f"{(exp / '.mle' / 'jobs.sqlite').as_uri()}?mode=ro", uri=True) as db:
        return {row[0] for row in db.execute("SELECT native_id FROM jobs") if row[0]}


def _sge_counts(ours: set[str]) -> Counter[str]:
    """Our tasks by state from ``qstat -g d`` (every array task on its own line)."""
    numbers = {n.split(".")[0] for n in ours}
    out = subprocess.run(["qstat", "-u", "*", "-g", "d"], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    counts: Counter[str] = Counter()
    for line in out.splitlines()[2:]:
        fields = line.split()
        if fields and fields[0] in numbers:
            counts["running" if fields[4] in ("r", "t", "Rr") else "queued"] += 1
    return counts


def _slurm_counts(ours: set[str]) -> Counter[str]:
    """Our tasks by state from ``squeue -r`` asked about our array ids only."""
    arrays = sorted({n.split("_")[0] for n in ours})
    out = subprocess.run(["squeue", "-h", "-r", "-j", ",".join(arrays), "-o", "%i %T"],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    counts: Counter[str] = Counter()
    for line in out.splitlines():
        _, state = line.split()
        counts["running" if state in ("RUNNING", "COMPLETING") else "queued"] += 1
    return counts


def _monitor_counts(out: str, name: str) -> Counter[str]:
    """QUEUED and RUN of our experiment's row in the experiments panel."""
    row = next(line for line in out.splitlines() if f" {name} " in line)
    fields = row[1:].split()  # ID NAME PURPOSE BACKEND STATE QUEUED RUN DONE FAILED ...
    return Counter({"queued": int(fields[5]), "running": int(fields[6])})


def _watch(tmp_path: Path, *, backend: str,
           queue: Callable[[set[str]], Counter[str]]) -> None:
    name = f"monwatch_{uuid.uuid4().hex[:8]}"
    project = _project(tmp_path, name)
    exp = project / "out"
    launched = run_mle("run", "meta.yaml", "--backend", backend, "--detach",
                       "--purpose", "q", cwd=project, timeout=150)
    try:
        assert launched.returncode == 0, launched.stdout + launched.stderr
        ours = _native_ids(exp)
        assert len(ours) == 6, ours
        for _ in range(TRIES):
            before = queue(ours)
            done = run_mle("monitor", "--once", cwd=project, timeout=60)
            after = queue(ours)
            assert done.returncode == 0, done.stderr
            if before == after:
                break
            time.sleep(1)
        else:
            pytest.fail(f"the queue never held still for one monitor call ({TRIES} tries)")
        shown = _monitor_counts(done.stdout, name)
        assert +shown == +before, (shown, before, done.stdout)
        assert sum(before.values()) == 6  # every job still in the queue (they sleep 120 s)
        detail = f"jobs: {before['queued']} queued, {before['running']} running, " \
                 "0 completed, 0 failed"
        assert detail in done.stdout
        scheduler = "Grid Engine" if backend == "sge" else "Slurm"
        assert f"{scheduler}: " in done.stdout and "cannot be asked" not in done.stdout
    finally:
        run_mle("cancel", str(exp), "--force", cwd=project, timeout=120)


@pytest.mark.sge
@pytest.mark.skipif(not HAVE_SGE, reason="no Grid Engine (qstat, SGE_ROOT)")
def test_once_matches_qstat_during_an_sge_sweep(tmp_path: Path) -> None:
    _watch(tmp_path, backend="sge", queue=_sge_counts)


@pytest.mark.slurm
@pytest.mark.skipif(not HAVE_SLURM, reason="no Slurm (sbatch, squeue)")
def test_once_matches_squeue_during_a_slurm_sweep(tmp_path: Path) -> None:
    _watch(tmp_path, backend="slurm", queue=_slurm_counts)
