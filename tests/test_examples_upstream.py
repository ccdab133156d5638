"""The examples/ folder (mle-toolbox 0.3.x layout) runs as its Readme says:
``cd examples && mle run <topic>/<yaml>``, with 0.3.x flags, into one shared
``experiments/`` folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import REPO, run_mle

EXAMPLES = REPO / "examples"


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "examples"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns("experiments", "data"))
    return target


def test_every_example_runs_from_the_examples_folder(tmp_path: Path) -> None:
    here = _copy(tmp_path)
    single = run_mle("run", "toy_single/single.yaml", "-nw", cwd=here)
    assert single.returncode == 0, single.stdout + single.stderr
    multi = run_mle("run", "toy_multi/multi.yaml", "-p", "two", "configs", "-np", cwd=here)
    assert multi.returncode == 0, multi.stdout + multi.stderr
    grid = run_mle("run", "toy_search/grid.yaml", cwd=here)
    assert grid.returncode == 0, grid.stdout + grid.stderr
    pre_post = run_mle("run", "toy_pre_post/pre_post.yaml", "-resource", "local", cwd=here)
    assert pre_post.returncode == 0, pre_post.stdout + pre_post.stderr
    shared = here / "experiments"
    assert sorted(p.name for p in shared.iterdir()) == [
        "toy_multi", "toy_pre_post", "toy_search", "toy_single"]
    assert (shared / "toy_single" / "base_config" / "logs" / "seed_0.jsonl").is_file()
    assert len(list((shared / "toy_multi").glob("config_*/logs/seed_*.jsonl"))) == 4
    # one grid of 3 points per base config, 2 seeds each; loss is minimised here
    runs = json.loads((shared / "toy_search" / "plan.json").read_text())["runs"]
    assert sorted(r["run_id"] for r in runs) == sorted(
        f"{cfg}_b_1_eval_{i}" for cfg in ("base_short", "base_long") for i in range(3))
    best = json.loads((shared / "toy_search" / "best_config.json").read_text())
    assert best["max_objective"] is False and best["params"] == {"lrate": 0.4}
    assert "objective loss: minimise (max_objective: false)" in grid.stdout
    # pre-processing wrote its data before the jobs, post-processing read every seed after
    assert json.loads((here / "data" / "toy_pre_post" / "targets.json").read_text())[
        "prepared_for"] == str(shared / "toy_pre_post")
    finals = json.loads((shared / "toy_pre_post" / "figures_post" / "final_losses.json")
                        .read_text())
    assert sorted(finals) == ["base_config/logs/seed_0.jsonl", "base_config/logs/seed_1.jsonl"]


def test_examples_dry_run_from_the_repository_root(tmp_path: Path) -> None:
    # Upstream-style paths are relative to examples/: from another folder they name
    # nothing (neither there nor beside the YAML), and the message says where it looked.
    here = _copy(tmp_path)
    result = run_mle("run", here / "toy_single" / "single.yaml", "--dry-run", cwd=tmp_path)
    assert result.returncode == 2
    assert "train script 'toy_single/train.py' does not exist in the working directory" \
        in result.stderr
    assert not (tmp_path / "experiments").exists()
