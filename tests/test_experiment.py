"""MLExperiment: argument parsing, config access, seeding, logging and the status file."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from mle_toolbox import MLExperiment, experiment
from mle_toolbox.job.job_config import parse_job_args
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


def test_config_fname_default_and_seeding(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    config = write(tmp_path / "c.json", CONFIG)
    first = MLExperiment(config_fname=str(config), argv=[], experiment_dir=str(tmp_path))
    draw = random.random()
    second = MLExperiment(config_fname=str(config), argv=[], experiment_dir=str(tmp_path))
    assert random.random() == draw  # same seed, same stream
    assert first.seed_id == second.seed_id == 0
    first.finish()
    second.finish()
    # No config: mle-toolbox's defaults and a warning, not an exit (the run still logs).
    monkeypatch.chdir(tmp_path)
    with pytest.warns(UserWarning, match="no config given .* running with an empty config"):
        bare = MLExperiment(argv=[])
    bare.finish()
    assert (bare.config, bare.train_config, bare.seed_id) == ({}, {"seed_id": 0}, 0)
    assert _status(tmp_path / "experiments", 0)["state"] == "completed"


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


@pytest.fixture(autouse=True)
def _restore_excepthook(monkeypatch: pytest.MonkeyPatch) -> None:
    # MLExperiment chains sys.excepthook; put the original back after each test.
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)


def _status(run_dir: Path, seed: int) -> dict[str, object]:
    return dict(json.loads((run_dir / "jobs" / f"seed_{seed}" / "status.json").read_text()))


def _script(tmp_path: Path, body: str, *args: str) -> tuple[subprocess.CompletedProcess[str],
                                                            Path]:
    config = write(tmp_path / "c.json", CONFIG)
    script = write(tmp_path / "train.py", "import sys\n"
                   "from mle_toolbox import MLExperiment, experiment\n" + body)
    run_dir = tmp_path / "run"
    done = subprocess.run([sys.executable, str(script), "-config", str(config),
                           "-exp_dir", str(run_dir), *args], capture_output=True, text=True,
                          timeout=60, check=False, cwd=tmp_path)
    return done, run_dir


@pytest.mark.parametrize("argv", [
    ["-config", "{c}", "-seed", "2", "-exp_dir", "{d}"],
    ["--config", "{c}", "--seed", "2", "--exp_dir", "{d}"],
    ["--config={c}", "-seed=2", "--exp_dir={d}"],
    ["-config_fname", "{c}", "-seed_id", "2", "-experiment_dir", "{d}"],
])
def test_every_spelling_of_the_three_job_flags(tmp_path: Path, argv: list[str]) -> None:
    config = write(tmp_path / "c.json", CONFIG)
    run_dir = tmp_path / "run"
    mle = MLExperiment(argv=[a.format(c=config, d=run_dir) for a in argv])
    mle.finish()
    assert (mle.config_filename, mle.seed_id, mle.experiment_dir) == (str(config), 2,
                                                                      str(run_dir))
    assert mle.extra_args == {}
    assert _status(run_dir, 2)["state"] == "completed"


def test_extra_arguments_stay_strings_in_any_form(tmp_path: Path) -> None:
    config = write(tmp_path / "c.json", CONFIG)
    mle = MLExperiment(argv=["-config", str(config), "-exp_dir", str(tmp_path / "r"),
                             "--lrate=0.01", "-n", "3", "--tag", "-1", "--empty="])
    mle.finish()
    assert mle.extra_args == {"lrate": "0.01", "n": "3", "tag": "-1", "empty": ""}


def test_argv_wins_over_the_keyword_defaults(tmp_path: Path) -> None:
    default = write(tmp_path / "default.json", '{"train_config": {"which": "default"}}')
    given_config = write(tmp_path / "given.json", '{"train_config": {"which": "given"}}')
    mle = MLExperiment(config_fname=str(default), seed_id=9, experiment_dir=str(tmp_path / "k"),
                       argv=["-config", str(given_config), "-seed", "1",
                             "-exp_dir", str(tmp_path / "a")])
    mle.finish()
    assert (mle.train_config.which, mle.seed_id, mle.experiment_dir) == (
        "given", 1, str(tmp_path / "a"))
    kept = MLExperiment(config_fname=str(default), seed_id=9, argv=[],
                        experiment_dir=str(tmp_path / "k"))
    kept.finish()
    assert (kept.train_config.which, kept.seed_id, kept.experiment_dir) == (
        "default", 9, str(tmp_path / "k"))
    assert _status(tmp_path / "k", 9)["config"] == str(default)


def test_experiment_dir_falls_back_to_log_config_then_experiments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    with_dir = write(tmp_path / "a.json", '{"log_config": {"experiment_dir": "from_log"}}')
    plain = write(tmp_path / "b.json", "{}")
    first = MLExperiment(config_fname=str(with_dir), argv=[])
    second = MLExperiment(config_fname=str(plain), argv=[])
    first.finish()
    second.finish()
    assert (first.experiment_dir, second.experiment_dir) == ("from_log", "experiments")
    assert (tmp_path / "from_log" / "jobs" / "seed_0" / "status.json").is_file()
    assert (tmp_path / "experiments" / "jobs" / "seed_0" / "status.json").is_file()
    assert second.train_config == {"seed_id": 0} and second.model_config == {}


def test_config_sections_attribute_access_get_and_plain_dict(tmp_path: Path) -> None:
    config = write(tmp_path / "c.json", json.dumps({
        "train_config": {"lrate": 0.1, "layers": [{"width": 8}, {"width": 4}], "ids": [1, 2]},
        "net_config": {"depth": 3}, "log_config": {"print_every_k_updates": 10}}))
    mle = MLExperiment(config_fname=str(config), argv=[], experiment_dir=str(tmp_path / "r"))
    mle.finish()
    assert mle.train_config.layers[1].width == 4  # dicts in lists too, as DotMap does
    assert mle.train_config.ids == [1, 2]
    assert mle.net_config.depth == 3 and mle.model_config is mle.net_config
    assert mle.log_config.get("print_every_k_updates") == 10
    assert mle.log_config.get("verbose", False) is False
    assert mle.config.train_config.lrate == 0.1
    assert isinstance(mle.train_config, dict)
    assert json.loads(json.dumps(mle.train_config)) == {
        "lrate": 0.1, "layers": [{"width": 8}, {"width": 4}], "ids": [1, 2], "seed_id": 0}
    assert dict(**mle.train_config)["lrate"] == 0.1
    mle.train_config.lrate = 0.5  # attribute assignment sets the key
    assert mle.train_config["lrate"] == 0.5
    assert mle.log.print_every == 10
    with pytest.raises(AttributeError) as caught:
        _ = mle.model_config.width
    assert str(caught.value) == "config has no key 'width'"
    assert not hasattr(mle.log_config, "anything")


def test_ready_to_log_defaults_to_every_step(tmp_path: Path) -> None:
    config = write(tmp_path / "c.json", '{"train_config": {}}')
    mle = MLExperiment(config_fname=str(config), argv=[], experiment_dir=str(tmp_path / "r"))
    mle.finish()
    assert all(mle.ready_to_log(s) for s in range(5))


def test_status_is_running_until_finish_then_completed_once(tmp_path: Path) -> None:
    config = write(tmp_path / "c.json", CONFIG)
    run_dir = tmp_path / "run"
    mle = MLExperiment(argv=["-config", str(config), "-seed", "3", "-exp_dir", str(run_dir)])
    running = _status(run_dir, 3)
    assert running["state"] == "running" and "end" not in running and "error" not in running
    assert running["seed"] == 3 and running["config"] == str(config)
    assert isinstance(running["pid"], int) and isinstance(running["host"], str)
    mle.finish()
    done = _status(run_dir, 3)
    assert done["state"] == "completed" and done["start"] == running["start"]
    assert isinstance(done["end"], float) and done["end"] >= done["start"]  # type: ignore[operator]
    mle.finish(error="too late")  # idempotent: the first end stands
    assert _status(run_dir, 3) == done


def test_context_manager_records_the_exception(tmp_path: Path) -> None:
    config = write(tmp_path / "c.json", CONFIG)
    run_dir = tmp_path / "run"
    with pytest.raises(ValueError, match="bad batch"), \
            MLExperiment(argv=["-config", str(config), "-exp_dir", str(run_dir)]) as mle:
        mle.log.update({"step": 0}, {"loss": 1.0})
        raise ValueError("bad batch")
    status = _status(run_dir, 0)
    assert status["state"] == "failed" and status["error"] == "ValueError: bad batch"
    assert (run_dir / "logs" / "seed_0.jsonl").read_text().count("\n") == 1


@pytest.mark.parametrize(("code", "state"), [(None, "completed"), (0, "completed"),
                                             (2, "failed")])
def test_sys_exit_inside_the_context_manager(tmp_path: Path, code: int | None,
                                             state: str) -> None:
    config = write(tmp_path / "c.json", CONFIG)
    with pytest.raises(SystemExit), \
            MLExperiment(argv=["-config", str(config), "-exp_dir", str(tmp_path / "r")]):
        sys.exit(code)
    status = _status(tmp_path / "r", 0)
    assert status["state"] == state
    assert status.get("error") == (None if state == "completed" else "SystemExit: 2")


def test_a_bad_seed_is_a_clear_exit_message(tmp_path: Path) -> None:
    config = write(tmp_path / "c.json", CONFIG)
    with pytest.raises(SystemExit, match="MLExperiment: -seed must be an integer, got 'x1'"):
        MLExperiment(argv=["-config", str(config), "-seed", "x1"])


def test_random_is_seeded_with_the_seed_id(tmp_path: Path) -> None:
    config = write(tmp_path / "c.json", CONFIG)
    draws = {}
    for seed in (5, 6):
        mle = MLExperiment(argv=["-config", str(config), "-seed", str(seed),
                                 "-exp_dir", str(tmp_path / "r")])
        draws[seed] = [random.random() for _ in range(3)]
        mle.finish()
        expected = random.Random(seed)
        assert draws[seed] == [expected.random() for _ in range(3)]
    assert draws[5] != draws[6]


def test_a_script_that_finishes_records_completed_and_its_metrics(tmp_path: Path) -> None:
    done, run_dir = _script(tmp_path, "mle = MLExperiment()\n"
                            "for s in range(7):\n"
                            "    if mle.ready_to_log(s):\n"
                            "        mle.log.update({'step': s}, {'lr': mle.train_config.lrate})\n"
                            "print(sorted(k for k in sys.modules if k in ('numpy', 'yaml')))\n",
                            "-seed", "4")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"  # nothing heavy imported by a job
    assert _status(run_dir, 4)["state"] == "completed"
    rows = [json.loads(line) for line in (run_dir / "logs" / "seed_4.jsonl").read_text()
            .splitlines()]
    # log_every_j_steps is 3; the rows were buffered and written at exit
    assert rows == [{"time": {"step": s}, "stats": {"lr": 0.1}} for s in (0, 3, 6)]


def test_numpy_is_seeded_only_when_the_script_imported_it(tmp_path: Path) -> None:
    done, _ = _script(tmp_path, "import numpy as np\nmle = MLExperiment()\n"
                      "print(np.random.rand() == np.random.RandomState(11).rand())\n",
                      "-seed", "11")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


def test_decorated_main_gets_argv_and_records_failures(tmp_path: Path) -> None:
    done, run_dir = _script(tmp_path, "@experiment()\n"
                            "def main(mle):\n"
                            "    print('seed', mle.seed_id, mle.train_config.lrate)\n"
                            "    raise KeyError('no such layer')\n"
                            "main()\n", "-seed", "2")
    assert done.returncode == 1
    assert done.stdout == "seed 2 0.1\n"
    assert "KeyError: 'no such layer'" in done.stderr
    assert _status(run_dir, 2) | {"start": 0, "end": 0, "pid": 0, "host": ""} == {
        "state": "failed", "error": "KeyError: 'no such layer'", "seed": 2, "attempt": 1,
        "config": str(tmp_path / "c.json"), "start": 0, "end": 0, "pid": 0, "host": ""}


def test_decorated_main_that_calls_sys_exit_zero_is_completed(tmp_path: Path) -> None:
    done, run_dir = _script(tmp_path, "@experiment()\n"
                            "def main(mle):\n"
                            "    sys.exit(0)\n"
                            "main()\n")
    assert done.returncode == 0, done.stderr
    assert _status(run_dir, 0)["state"] == "completed"


@pytest.mark.xfail(strict=True, reason="known: an atexit handler cannot see the exit code "
                   "of sys.exit(N) outside a with block; exit_code from the wrapper is right")
def test_a_script_that_exits_non_zero_is_not_recorded_as_completed(tmp_path: Path) -> None:
    done, run_dir = _script(tmp_path, "mle = MLExperiment()\nsys.exit(3)\n")
    assert done.returncode == 3
    assert _status(run_dir, 0)["state"] != "completed"
