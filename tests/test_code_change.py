"""Changed code is noticed (issue 17, item 7): a job's identity includes the training
script's content; a rerun after an edit runs the stale jobs and says how many."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_mle, write

LEDGER = """\
from mle_toolbox import MLExperiment
mle = MLExperiment()
with open("ledger.txt", "a") as ledger:
    ledger.write(f"VERSION {mle.train_config.lrate}-{mle.seed_id}\\n")
mle.log.update({"step": 0}, {"loss": mle.seed_id}, save=True)
"""


def _ledger(project: Path) -> list[str]:
    return sorted((project / "ledger.txt").read_text().splitlines())


def test_an_edited_training_script_reruns_every_completed_job(project: Path) -> None:
    write(project / "train.py", LEDGER.replace("VERSION", "v1"))
    assert run_mle("run", "meta.yaml", cwd=project).returncode == 0
    unchanged = run_mle("run", "meta.yaml", cwd=project)
    assert "4 of 4 jobs completed earlier with the same config; skipped" in unchanged.stdout
    assert len(_ledger(project)) == 4  # nothing ran again
    write(project / "train.py", LEDGER.replace("VERSION", "v2"))
    dry = run_mle("run", "meta.yaml", "--dry-run", cwd=project)
    assert "the training script changed since the last launch: its 4 completed jobs are " \
        "stale and run again (--keep-stale keeps them)" in dry.stdout
    rerun = run_mle("run", "meta.yaml", cwd=project)
    assert rerun.returncode == 0, rerun.stderr
    assert "4 job(s) completed earlier with an older version of the training script: their " \
        "results are stale, running them again (--keep-stale keeps them)" in rerun.stdout
    assert [line for line in _ledger(project) if line.startswith("v2")] == [
        "v2 0.1-0", "v2 0.1-1", "v2 0.2-0", "v2 0.2-1"]
    archived = list((project / "out").glob("*/jobs/seed_*/attempts/1/exit_code"))
    assert len(archived) == 4  # the stale results are kept, as attempt 1


def test_keep_stale_keeps_results_of_older_code_on_purpose(project: Path) -> None:
    write(project / "train.py", LEDGER.replace("VERSION", "v1"))
    assert run_mle("run", "meta.yaml", cwd=project).returncode == 0
    write(project / "train.py", LEDGER.replace("VERSION", "v2"))
    kept = run_mle("run", "meta.yaml", "--keep-stale", cwd=project)
    assert kept.returncode == 0, kept.stderr
    assert "4 of 4 jobs completed earlier with the same config; skipped" in kept.stdout
    assert not [line for line in _ledger(project) if line.startswith("v2")]
    # The plan now records the new code: a plain rerun keeps them too.
    plain = run_mle("run", "meta.yaml", cwd=project)
    assert "older version of the training script" not in plain.stdout
    assert not [line for line in _ledger(project) if line.startswith("v2")]


def test_a_plan_written_before_code_was_recorded_keeps_its_results(project: Path) -> None:
    write(project / "train.py", LEDGER.replace("VERSION", "v1"))
    assert run_mle("run", "meta.yaml", cwd=project).returncode == 0
    plan_path = project / "out" / "plan.json"
    plan = json.loads(plan_path.read_text())
    assert isinstance(plan.pop("code_hash"), str)
    plan_path.write_text(json.dumps(plan))  # as an older mle_toolbox wrote it
    write(project / "train.py", LEDGER.replace("VERSION", "v2"))
    again = run_mle("run", "meta.yaml", cwd=project)
    assert "4 of 4 jobs completed earlier with the same config; skipped" in again.stdout


def test_keep_stale_with_force_is_refused(project: Path) -> None:
    result = run_mle("run", "meta.yaml", "--force", "--keep-stale", cwd=project)
    assert result.returncode == 2
    assert result.stderr.strip() == ("mle: error: --keep-stale: has no effect with --force, "
                                     "which reruns every job; give one of them")
    assert not (project / "out").exists()
