"""MLExperiment: argument parsing, config access, seeding, logging and the status file."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from mle_toolbox import MLExperiment, experiment
from mle_toolbox.experiment import parse_job_args
from tests.conftest import write

CONFIG = ('// commented JSON, as mle-toolbox configs are\n'
          '{"train_config": {"lrate": 0.1, "opt": {"name": "adam"}},\n'
          ' "model_config": {"width": 8}, "log_config": {"log_every_j_steps": 3}}\n')


def test_parse_job_args_accepts_one_or_two_dashes_and_keeps_extras_as_strings() -> None:
    known, extra = parse_job_args(["--config", "c.json", "-seed", "3", "-exp_dir=out",
                                   "-lr", "0.5", "--flag=x"])
    assert known == {"config": "c.json", "seed": "3", "exp_dir": "out"}
    assert extra == {"lr": "0.5", "flag": "x"}
    with pytest.raises(SystemExit, match="needs a value"):
        parse_job_args(["-config"])
    with pytest.raises(SystemExit, match="unexpected argument 'stray'"):
        parse_job_args(["stray"])


def test_explicit_argv_gives_config_seed_dir_and_attribute_access(tmp_path: Path) -> None:
    config = write(tmp_path / "c.json", CONFIG)
    mle = MLExperiment(argv=["-config", str(config), "-seed", "4",
                             "-exp_dir", str(tmp_path / "run"), "-extra", "1"])
    assert mle.train_config.lrate == 0.1
    assert mle.train_config.opt.name == "adam"
    assert mle.train_config.get("missing", 7) == 7
    assert mle.model_config.width == 8 and mle.net_config is mle.model_config
    assert mle.seed_id == 4 and mle.experiment_dir == str(tmp_path / "run")
    assert mle.extra_args == {"extra": "1"}
    with pytest.raises(AttributeError, match="config has no key 'nope'"):
        _ = mle.train_config.nope
    assert [s for s in range(10) if mle.ready_to_log(s)] == [0, 3, 6, 9]
    mle.log.update({"step": 0}, {"loss": 2.0}, save=True)
    mle.finish()
    row = json.loads((tmp_path / "run" / "logs" / "seed_4.jsonl").read_text())
    assert row == {"time": {"step": 0}, "stats": {"loss": 2.0}}
    status = json.loads((tmp_path / "run" / "jobs" / "seed_4" / "status.json").read_text())
    assert status["state"] == "completed" and status["seed"] == 4 and "end" in status


def test_config_fname_default_and_seeding(tmp_path: Path) -> None:
    config = write(tmp_path / "c.json", CONFIG)
    first = MLExperiment(config_fname=str(config), argv=[], experiment_dir=str(tmp_path))
    draw = random.random()
    second = MLExperiment(config_fname=str(config), argv=[], experiment_dir=str(tmp_path))
    assert random.random() == draw  # same seed, same stream
    assert first.seed_id == second.seed_id == 0
    first.finish()
    second.finish()
    with pytest.raises(SystemExit, match="no config given"):
        MLExperiment(argv=[])


def test_yaml_config_and_decorator(tmp_path: Path) -> None:
    config = write(tmp_path / "c.yaml", "train_config:\n  lrate: 0.3\n")

    @experiment(str(config))
    def main(mle: MLExperiment) -> float:
        return float(mle.train_config.lrate)

    argv = sys.argv
    sys.argv = ["train.py", "-exp_dir", str(tmp_path / "run")]
    try:
        assert main() == 0.3
    finally:
        sys.argv = argv
    status = json.loads((tmp_path / "run" / "jobs" / "seed_0" / "status.json").read_text())
    assert status["state"] == "completed"


def test_a_crashing_script_records_failed_with_the_error(tmp_path: Path) -> None:
    config = write(tmp_path / "c.json", CONFIG)
    script = write(tmp_path / "train.py", "from mle_toolbox import MLExperiment\n"
                   "mle = MLExperiment()\nmle.log.update({'s': 0}, {'x': 1})\n"
                   "raise RuntimeError('diverged at step 0')\n")
    done = subprocess.run([sys.executable, str(script), "-config", str(config), "-seed", "1",
                           "-exp_dir", str(tmp_path / "run")], capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 1
    status = json.loads((tmp_path / "run" / "jobs" / "seed_1" / "status.json").read_text())
    assert status["state"] == "failed"
    assert status["error"] == "RuntimeError: diverged at step 0"
    # the buffered row was flushed at exit, not lost
    assert (tmp_path / "run" / "logs" / "seed_1.jsonl").read_text().count("\n") == 1
