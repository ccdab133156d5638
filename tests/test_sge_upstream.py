"""An mle-toolbox 0.3.x example with mle-scheduler's single_job_args on the real Grid
Engine: log_file / err_file name the scheduler's logs, exclude_nodes, "dd:hh:mm".
Skipped where no SGE runs, unless MLE_REQUIRE_SGE=1 (CI sets it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, run_mle

HAVE_SGE = shutil.which("qstat") is not None and bool(os.environ.get("SGE_ROOT"))
if not HAVE_SGE and os.environ.get("MLE_REQUIRE_SGE") == "1":
    raise RuntimeError("MLE_REQUIRE_SGE=1 but no SGE here: run scripts/sge-local.sh")
pytestmark = [pytest.mark.sge, pytest.mark.timeout(180),
              pytest.mark.skipif(not HAVE_SGE, reason="no Grid Engine (qstat, SGE_ROOT)")]


def test_upstream_example_with_scheduler_options_runs_on_sge(tmp_path: Path) -> None:
    here = tmp_path / "examples"
    shutil.copytree(REPO / "examples", here,
                    ignore=shutil.ignore_patterns("experiments", "data"))
    meta = here / "toy_single" / "single.yaml"
    meta.write_text(meta.read_text().replace('job_name: "toy"', 'job_name: "toy-sge-upstream"')
                    + '    exclude_nodes: ["no-such-node"]\n')
    result = run_mle("run", "toy_single/single.yaml", "-resource", "sge-cluster", "-nw",
                     cwd=here, timeout=150)
    assert result.returncode == 0, result.stdout + result.stderr
    root = here / "experiments" / "toy_single"
    assert (root / "base_config" / "jobs" / "seed_0" / "exit_code").read_text() == "0\n"
    script = next((root / ".mle" / "sge").glob("*.sh")).read_text()
    assert "#$ -l h_rt=00:05:00\n" in script  # "00:00:05" is five minutes
    assert "#$ -l 'hostname=!no-such-node'\n" in script
    logs = sorted(p.name for p in (root / ".mle" / "sge" / "out").iterdir())
    assert [n.split(".")[0] for n in logs] == ["err-toy", "log-toy"], logs
    assert logs[0].endswith(".1.err") and logs[1].endswith(".1.txt")


def test_pre_and_post_processing_jobs_run_on_sge(tmp_path: Path) -> None:
    here = tmp_path / "examples"
    shutil.copytree(REPO / "examples", here,
                    ignore=shutil.ignore_patterns("experiments", "data"))
    result = run_mle("run", "toy_pre_post/pre_post.yaml", "-resource", "sge-cluster",
                     cwd=here, timeout=150)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mle: pre-processing job: preprocess.py on sge\n" in result.stdout
    assert "mle: post-processing job: postprocess.py on sge\n" in result.stdout
    root = here / "experiments" / "toy_pre_post"
    for stage in ("pre_processing", "post_processing"):
        assert (root / stage / "jobs" / "seed_0" / "exit_code").read_text() == "0\n"
    # each ran as its own array on the scheduler
    scripts = sorted(p.name for p in (root / ".mle" / "sge").glob("*.sh"))
    assert any("pre_processing" in name for name in scripts), scripts
    assert any("post_processing" in name for name in scripts), scripts
    assert (here / "data" / "toy_pre_post" / "targets.json").is_file()
    assert (root / "figures_post" / "final_losses.json").is_file()
