"""An mle-toolbox 0.3.x train.py (update_log, model_ckpt, save_plot, **mle.train_config,
TensorBoard on) runs unchanged on the real Grid Engine."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, run_mle
from tests.upstream_project import check_upstream_results, make_project

HAVE_SGE = shutil.which("qstat") is not None and bool(os.environ.get("SGE_ROOT"))
if not HAVE_SGE and os.environ.get("MLE_REQUIRE_SGE") == "1":
    raise RuntimeError("MLE_REQUIRE_SGE=1 but no SGE here: run scripts/sge-local.sh")
pytestmark = [pytest.mark.sge, pytest.mark.timeout(240),
              pytest.mark.skipif(not HAVE_SGE, reason="no Grid Engine (qstat, SGE_ROOT)")]


def test_an_upstream_train_script_runs_unchanged_on_sge(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    # qsub passes no PYTHONPATH: the script's folder comes first on sys.path, so the job
    # imports this checkout's mle_toolbox (not whichever one is installed).
    (project / "mle_toolbox").symlink_to(REPO / "mle_toolbox")
    result = run_mle("run", "meta.yaml", "--backend", "sge", cwd=project, timeout=200)
    assert result.returncode == 0, result.stdout + result.stderr
    check_upstream_results(project / "experiments")
