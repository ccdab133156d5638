"""A search in mle-hyperopt's dialect on the real Slurm: Hyperband, its brackets and
the hand-off (train_config.extra, sh_ckpt) as locally."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_mle
from tests.test_search import simulate
from tests.test_search_dialect import DIALECT, meta_of
from tests.test_slurm_real import HAVE_SLURM

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(300),
              pytest.mark.skipif(not HAVE_SLURM, reason="no Slurm (sbatch, squeue)")]


def test_hyperband_in_mle_toolbox_dialect_on_slurm_matches_the_strategy(
        tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    shutil.copytree(DIALECT, exp, ignore=shutil.ignore_patterns("runs", "__pycache__"))
    done = run_mle("run", exp / "hyperband.yaml", "--backend", "slurm", timeout=280)
    assert done.returncode == 0, done.stdout + done.stderr
    root = exp / "runs" / "hyperband"
    records = [json.loads(line) for line in (root / "search_log.jsonl").read_text().splitlines()]
    results = {r["eval_id"]: r["objective"] for r in records if r["type"] == "result"}
    expected = simulate(meta_of("hyperband"), seed=0)
    assert results == pytest.approx({e.proposal.eval_id: e.objective for e in expected},
                                    abs=1e-12)
    assert json.loads((root / "report.json").read_text())["backend"] == "slurm"
    promoted = next(e for e in expected if e.proposal.parent is not None)
    config = json.loads((root / promoted.proposal.eval_id /
                         f"{promoted.proposal.eval_id}.json").read_text())
    assert Path(config["train_config"]["extra"]["sh_ckpt"]).is_file()
