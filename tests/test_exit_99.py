"""A script's own exit 99 is an ordinary failure, everywhere (issue 17, item 1).

Only a requeue the job asked for (JOB_DIR/requeue) is a requeue. Before, a script that
exited 99 ran 21 times locally, made SGE requeue each task forever and Slurm get 21 arrays.
Here each job must run exactly once, on local, the real SGE and the real Slurm.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import test_sge_real, test_slurm_real
from tests.conftest import run_mle, write

EXITS_99 = """\
import sys
from mle_toolbox import MLExperiment
mle = MLExperiment()
with open("ledger.txt", "a") as ledger:
    ledger.write(f"{mle.train_config.lrate}-{mle.seed_id}\\n")
sys.exit(99)
"""

BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param("sge", marks=[pytest.mark.sge, pytest.mark.skipif(
        not test_sge_real.HAVE_SGE, reason="no Grid Engine")], id="sge"),
    pytest.param("slurm", marks=[pytest.mark.slurm, pytest.mark.skipif(
        not test_slurm_real.HAVE_SLURM, reason="no Slurm")], id="slurm"),
]


def _gone(backend: str, name: str, *, within: float = 60) -> bool:
    """None of our jobs is (still, or again) in the scheduler's queue."""
    drained = {"sge": test_sge_real._drained, "slurm": test_slurm_real._drained}[backend]
    return drained(name, within=within)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_scripts_own_exit_99_runs_once_and_fails(project: Path, backend: str) -> None:
    name = f"own99{backend}"
    write(project / "train.py", EXITS_99)
    meta = project / "meta.yaml"
    meta.write_text(meta.read_text().replace("project_name: demo", f"project_name: {name}"))
    result = run_mle("run", "meta.yaml", "--backend", backend, cwd=project, timeout=150)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.count("exit code 99") >= 4
    assert "requeue" not in result.stdout + result.stderr
    if backend != "local":
        assert _gone(backend, name), "the scheduler must not requeue the tasks"
        arrays = list((project / "out" / ".mle" / backend).glob("*.tasks"))
        assert len(arrays) == 1, arrays  # one submission, never a second one
    assert sorted((project / "ledger.txt").read_text().split()) == [
        "0.1-0", "0.1-1", "0.2-0", "0.2-1"]  # every job ran exactly once
    codes = [p.read_text() for p in (project / "out").glob("*/jobs/seed_*/exit_code")]
    assert codes == ["99\n"] * 4
    assert not list((project / "out").glob("*/jobs/seed_*/attempts"))
    report = json.loads((project / "out" / "report.json").read_text())
    assert report["counts"] == {"failed": 4}
