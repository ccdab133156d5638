"""An mle-toolbox 0.3.x example with mle-scheduler's single_job_args on the real
Slurm: log_file / err_file name the scheduler's logs, memory_per_cpu, "dd:hh:mm".
Skipped where no Slurm runs, unless MLE_REQUIRE_SLURM=1 (CI sets it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, run_mle

HAVE_SLURM = shutil.which("sbatch") is not None and shutil.which("squeue") is not None
if not HAVE_SLURM and os.environ.get("MLE_REQUIRE_SLURM") == "1":
    raise RuntimeError("MLE_REQUIRE_SLURM=1 but no Slurm here: run scripts/slurm-local.sh")
pytestmark = [pytest.mark.slurm, pytest.mark.timeout(180),
              pytest.mark.skipif(not HAVE_SLURM, reason="no Slurm (sbatch, squeue)")]


def test_upstream_example_with_scheduler_options_runs_on_slurm(tmp_path: Path) -> None:
    here = tmp_path / "examples"
    shutil.copytree(REPO / "examples", here,
                    ignore=shutil.ignore_patterns("experiments", "data"))
    meta = here / "toy_single" / "single.yaml"
    meta.write_text(meta.read_text().replace('job_name: "toy"', 'job_name: "toy-slurm-upstream"')
                    + '    memory_per_cpu: 100\n')
    result = run_mle("run", "toy_single/single.yaml", "-resource", "slurm-cluster", "-nw",
                     cwd=here, timeout=150)
    assert result.returncode == 0, result.stdout + result.stderr
    root = here / "experiments" / "toy_single"
    assert (root / "base_config" / "jobs" / "seed_0" / "exit_code").read_text() == "0\n"
    script = next((root / ".mle" / "slurm").glob("*.sh")).read_text()
    assert "#SBATCH --time=00:05:00\n" in script  # "00:00:05" is five minutes
    assert "#SBATCH --mem-per-cpu=100M\n" in script
    logs = sorted(p.name for p in (root / ".mle" / "slurm" / "out").iterdir())
    assert [n.split("_")[0] for n in logs] == ["err-toy", "log-toy"], logs
    assert logs[0].endswith("_0.err") and logs[1].endswith("_0.txt")


def test_pre_and_post_processing_jobs_run_on_slurm(tmp_path: Path) -> None:
    here = tmp_path / "examples"
    shutil.copytree(REPO / "examples", here,
                    ignore=shutil.ignore_patterns("experiments", "data"))
    result = run_mle("run", "toy_pre_post/pre_post.yaml", "-resource", "slurm-cluster",
                     cwd=here, timeout=150)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mle: pre-processing job: preprocess.py on slurm\n" in result.stdout
    assert "mle: post-processing job: postprocess.py on slurm\n" in result.stdout
    root = here / "experiments" / "toy_pre_post"
    for stage in ("pre_processing", "post_processing"):
        assert (root / stage / "jobs" / "seed_0" / "exit_code").read_text() == "0\n"
    # each ran as its own array on the scheduler
    scripts = sorted(p.name for p in (root / ".mle" / "slurm").glob("*.sh"))
    assert any("pre_processing" in name for name in scripts), scripts
    assert any("post_processing" in name for name in scripts), scripts
    assert (here / "data" / "toy_pre_post" / "targets.json").is_file()
    assert (root / "figures_post" / "final_losses.json").is_file()
