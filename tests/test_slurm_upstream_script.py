"""An mle-toolbox 0.3.x train.py (update_log, model_ckpt, save_plot, **mle.train_config,
TensorBoard on) runs unchanged on the real Slurm."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_mle
from tests.upstream_project import check_upstream_results, make_project

HAVE_SLURM = shutil.which("sbatch") is not None and shutil.which("squeue") is not None
if not HAVE_SLURM and os.environ.get("MLE_REQUIRE_SLURM") == "1":
    raise RuntimeError("MLE_REQUIRE_SLURM=1 but no Slurm here: run scripts/slurm-local.sh")
pytestmark = [pytest.mark.slurm, pytest.mark.timeout(240),
              pytest.mark.skipif(not HAVE_SLURM, reason="no Slurm (sbatch, squeue)")]


def test_an_upstream_train_script_runs_unchanged_on_slurm(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    result = run_mle("run", "meta.yaml", "--backend", "slurm", cwd=project, timeout=200)
    assert result.returncode == 0, result.stdout + result.stderr
    check_upstream_results(project / "experiments")
