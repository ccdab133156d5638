"""An adaptive search on the real Grid Engine: batches, checkpoints and results as locally."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mle_toolbox.config.meta import load_meta
from tests.conftest import run_mle
from tests.test_search import EXAMPLE, simulate
from tests.test_sge_real import HAVE_SGE

pytestmark = [pytest.mark.sge, pytest.mark.timeout(240),
              pytest.mark.skipif(not HAVE_SGE, reason="no Grid Engine (qstat, SGE_ROOT)")]


def test_successive_halving_on_sge_matches_the_strategy(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    shutil.copytree(EXAMPLE, exp, ignore=shutil.ignore_patterns("runs"))
    done = run_mle("run", exp / "successive_halving.yaml", "--backend", "sge", timeout=200)
    assert done.returncode == 0, done.stdout + done.stderr
    root = exp / "runs" / "successive_halving"
    records = [json.loads(line) for line in (root / "search_log.jsonl").read_text().splitlines()]
    results = {r["eval_id"]: r["objective"] for r in records if r["type"] == "result"}
    expected = simulate(load_meta(exp / "successive_halving.yaml"), seed=0)
    assert results == pytest.approx({e.proposal.eval_id: e.objective for e in expected},
                                    abs=1e-12)
    assert json.loads((root / "report.json").read_text())["backend"] == "sge"
    assert (root / "b_3_eval_12" / "resume_from" / "seed_0.json").is_file()
