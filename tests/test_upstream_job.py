"""Training scripts written for mle-toolbox 0.3.x / mle-logging run unchanged: the
MLExperiment surface, MLELogger with mle-logging's constructor, the trackers."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mle_toolbox import MLELogger, MLExperiment, experiment, load_log, load_model
from mle_toolbox.job.trackers import MissingExtra
from tests.conftest import REPO, run_mle, write
from tests.upstream_project import (
    check_upstream_results,
    make_project,
    tboard_scalars,
    wandb_history,
)

CONFIG = {"train_config": {"lrate": 0.1, "num_epochs": 3},
          "model_config": {"width": 8},
          "device_config": {"num_gpus": 0},
          "log_config": {"time_to_track": ["num_updates"],
                         "what_to_track": ["train_loss", "test_loss"]}}


def _config(tmp_path: Path, data: dict | None = None, name: str = "base.json") -> Path:  # type: ignore[type-arg]
    return write(tmp_path / name, json.dumps(data or CONFIG))


def _mle(tmp_path: Path, *argv: str, **kwargs: object) -> MLExperiment:
    config = _config(tmp_path)
    return MLExperiment(str(config), argv=["-exp_dir", str(tmp_path / "run"), *argv],
                        **kwargs)  # type: ignore[arg-type]


def test_seed_id_goes_into_train_config_so_that_star_star_train_config_works(
    tmp_path: Path,
) -> None:
    def train_your_net(lrate: float, num_epochs: int, seed_id: int) -> tuple[float, int, int]:
        return lrate, num_epochs, seed_id

    mle = _mle(tmp_path, "-seed", "3")
    mle.finish()
    assert train_your_net(**mle.train_config) == (0.1, 3, 3)
    assert mle.seed_id == mle.train_config.seed_id == 3
    assert mle.log_config.seed_id == "seed_3"
    assert mle.config_fname == str(tmp_path / "base.json")
    assert mle.log_config.config_fname == str(tmp_path / "base.json")
    assert mle.model_config.width == 8 and mle.device_config.num_gpus == 0


def test_a_seed_in_the_config_is_used_and_no_seed_at_all_warns_and_uses_the_default(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path, {"train_config": {"seed_id": 7}}, "seeded.json")
    seeded = MLExperiment(str(config), argv=["-exp_dir", str(tmp_path / "a")])
    seeded.finish()
    assert (seeded.seed_id, seeded.train_config.seed_id) == (7, 7)
    with pytest.warns(UserWarning, match=r"no seed given \(-seed N\): using 5"):
        unseeded = MLExperiment(str(_config(tmp_path)), default_seed=5,
                                argv=["-exp_dir", str(tmp_path / "b")])
    unseeded.finish()
    assert (unseeded.seed_id, unseeded.train_config.seed_id) == (5, 5)


def test_update_log_and_log_update_keywords_save_model_figure_and_extra(
    tmp_path: Path,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    mle = _mle(tmp_path, "-seed", "1")
    fig = Figure()
    fig.add_subplot().plot([1, 2])
    mle.update_log({"num_updates": 1}, {"train_loss": 0.5, "test_loss": 0.7},
                   model={"w": np.ones(2)}, plot_fig=fig, extra_obj={"a": 1}, save=True)
    mle.log.update({"num_updates": 2}, {"train_loss": 0.25, "test_loss": 0.5, "other": 9},
                   model=None, plot_fig=None, extra_obj=None, save=True)
    mle.log.save_plot(fig, "named.png")
    mle.log.save_extra([1, 2], fname="named.pkl")
    with pytest.raises(ValueError, match=r"'\.\./x\.png': a file name inside"):
        mle.log.save_plot(fig, "../x.png")
    mle.finish()
    run = tmp_path / "run"
    assert (run / "figures" / "named.png").is_file()
    assert pickle.loads((run / "extra" / "named.pkl").read_bytes()) == [1, 2]
    rows = [json.loads(line) for line in (run / "logs" / "seed_1.jsonl").read_text().splitlines()]
    # "other" is not in what_to_track and kept all the same (mle-logging drops it)
    assert rows == [{"time": {"num_updates": 1}, "stats": {"train_loss": 0.5, "test_loss": 0.7}},
                    {"time": {"num_updates": 2},
                     "stats": {"train_loss": 0.25, "test_loss": 0.5, "other": 9}}]
    assert mle.log.stats_log.what_to_track == ["train_loss", "test_loss", "other"]
    assert (run / "figures" / "fig_1_seed_1.png").read_bytes()[:4] == b"\x89PNG"
    assert pickle.loads((run / "extra" / "extra_1_seed_1.pkl").read_bytes()) == {"a": 1}
    assert np.array_equal(load_model(run, seed=1)["w"], [1.0, 1.0])
    meta = json.loads((run / "logs" / "seed_1.meta.json").read_text())
    assert meta["fig_storage_paths"] == [str(run / "figures" / "fig_1_seed_1.png"),
                                         str(run / "figures" / "named.png")]
    assert meta["extra_storage_paths"] == [str(run / "extra" / "extra_1_seed_1.pkl"),
                                           str(run / "extra" / "named.pkl")]
    assert meta["model_ckpt"] == str(run / "checkpoints" / "seed_1" / "final.npz")
    log = load_log(run)
    assert log.meta.fig_storage_paths == meta["fig_storage_paths"]  # one seed: shallow
    np.testing.assert_array_equal(log.stats.train_loss, [0.5, 0.25])


def test_stats_tracked_extend_tracking_and_a_missing_tracked_name(tmp_path: Path) -> None:
    mle = _mle(tmp_path)
    mle.log.update({"num_updates": 1}, {"train_loss": 1.0, "test_loss": 2.0})
    mle.log.extend_tracking(["acc"])
    mle.log.update({"num_updates": 2}, {"train_loss": 0.5, "test_loss": 1.0, "acc": 0.9})
    stats = mle.log.stats_log
    assert stats.stats_tracked == {"train_loss": [1.0, 0.5], "test_loss": [2.0, 1.0],
                                   "acc": [None, 0.9]}
    assert stats.clock_tracked == {"num_updates": [1, 2]}
    assert stats.what_to_track == ["train_loss", "test_loss", "acc"]
    assert stats.stats_update_counter == 2
    mle.log.update({"num_updates": 3}, {"train_loss": 0.1})  # missing: stored as missing
    assert stats.stats_tracked["acc"] == [None, 0.9, None]
    mle.finish()
    log = load_log(tmp_path / "run")
    np.testing.assert_array_equal(log.stats.test_loss, [2.0, 1.0, np.nan])
    assert log.stats_vars == ["train_loss", "test_loss", "acc"]


def test_stats_to_track_and_clock_to_track_are_older_mle_loggings_dataframes(
        tmp_path: Path) -> None:
    mle = _mle(tmp_path)
    mle.log.update({"num_updates": 1}, {"train_loss": 1.0, "test_loss": 2.0})
    mle.log.update({"num_updates": 2}, {"train_loss": 0.5})  # test_loss missing
    stats, clock = mle.log.stats_log.stats_to_track, mle.log.stats_log.clock_to_track
    assert list(stats.columns) == ["train_loss", "test_loss"]
    assert stats.train_loss.tolist() == [1.0, 0.5]
    assert stats["test_loss"].iloc[0] == 2.0 and np.isnan(stats["test_loss"].iloc[1])
    assert clock["num_updates"].tolist() == [1, 2]
    mle.log.update({"num_updates": 3}, {"train_loss": 0.25, "test_loss": 0.5})
    assert mle.log.stats_log.stats_to_track.shape == (3, 2)  # read afresh each time
    mle.finish()


def test_stats_to_track_without_pandas_names_the_pip_line_and_the_lists(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mle = _mle(tmp_path)
    mle.log.update({"num_updates": 1}, {"train_loss": 1.0, "test_loss": 2.0})
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
    with pytest.raises(MissingExtra, match=r"stats_to_track \(a DataFrame; "
                       r"stats_log\.stats_tracked\[name\] holds the same values as lists\) "
                       r"needs the pandas package: pip install 'mle_toolbox\[pandas\]'"):
        _ = mle.log.stats_log.stats_to_track
    with pytest.raises(MissingExtra, match=r"stats_log\.clock_tracked\[name\]"):
        _ = mle.log.stats_log.clock_to_track
    assert mle.log.stats_log.stats_tracked["train_loss"] == [1.0]
    mle.finish()


# The toy objective of mle-toolbox's example gallery, in its dialect: @experiment with a
# default config, ready_to_log, and the loss curve read back from older mle-logging's
# DataFrame attribute (what the gallery's script plots).
TOY_TRAIN = """\
import json, pathlib
from mle_toolbox import experiment


@experiment("toy/base.yaml")
def main(mle):
    for epoch in range(1, 5):
        loss = (mle.train_config.lrate - 0.2) ** 2 + 1.0 / epoch + mle.seed_id
        if mle.ready_to_log(epoch):
            mle.log.update({"num_epochs": epoch}, {"train_loss": loss}, save=True)
    curve = mle.log.stats_log.stats_to_track.train_loss
    epochs = mle.log.stats_log.clock_to_track.num_epochs
    pathlib.Path(mle.experiment_dir, f"curve_{mle.seed_id}.json").write_text(json.dumps(
        {"loss": [float(v) for v in curve], "epochs": [int(v) for v in epochs]}))


if __name__ == "__main__":
    main()
"""


def test_the_gallery_toy_script_reading_stats_to_track_runs_under_mle_run(
        tmp_path: Path) -> None:
    write(tmp_path / "toy" / "train.py", TOY_TRAIN)
    write(tmp_path / "toy" / "base.yaml", "train_config:\n  lrate: 0.3\nlog_config:\n"
          "  time_to_track: [num_epochs]\n  what_to_track: [train_loss]\n"
          "  log_every_j_steps: 2\n")
    write(tmp_path / "toy" / "single.yaml", "meta_job_args:\n  project_name: examples\n"
          "  experiment_type: single-config\n  base_train_fname: toy/train.py\n"
          "  base_train_config: toy/base.yaml\n  experiment_dir: experiments/toy\n")
    result = run_mle("run", "toy/single.yaml", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    [curve] = (tmp_path / "experiments" / "toy").rglob("curve_*.json")
    # ready_to_log(2) and (4): every log_every_j_steps-th epoch
    assert json.loads(curve.read_text()) == {
        "loss": [(0.3 - 0.2) ** 2 + 1.0 / e for e in (2, 4)], "epochs": [2, 4]}


def test_ready_to_log_log_every_j_steps_and_printing(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    data = {**CONFIG, "log_config": {**CONFIG["log_config"], "log_every_j_steps": 5,
                                     "verbose": True, "print_every_k_updates": 2,
                                     "time_to_print": ["num_updates"],
                                     "what_to_print": ["test_loss"]}}
    mle = MLExperiment(str(_config(tmp_path, data)), argv=["-exp_dir", str(tmp_path / "r")])
    assert [s for s in range(12) if mle.ready_to_log(s)] == [0, 5, 10]
    assert [s for s in range(12) if mle.log.ready_to_log(s)] == [0, 5, 10]
    for step in (1, 2, 3):
        mle.log.update({"num_updates": step}, {"train_loss": step, "test_loss": 10 * step})
    mle.finish()
    assert capsys.readouterr().out.splitlines() == ["num_updates: 2 | test_loss: 20"]


def test_save_every_k_and_top_k_checkpoints_through_save_model(tmp_path: Path) -> None:
    data = {**CONFIG, "log_config": {**CONFIG["log_config"], "save_every_k_ckpt": 2,
                                     "save_top_k_ckpt": 1, "top_k_metric_name": "test_loss",
                                     "top_k_minimize_metric": True}}
    mle = MLExperiment(str(_config(tmp_path, data)), argv=["-exp_dir", str(tmp_path / "r")])
    for step, loss in enumerate([3.0, 1.0, 2.0, 0.5], start=1):
        mle.update_log({"num_updates": step}, {"train_loss": loss, "test_loss": loss},
                       model={"w": np.full(2, float(step))})
    mle.log.save_init_model({"w": np.zeros(2)})
    mle.finish()
    folder = tmp_path / "r" / "checkpoints" / "seed_0"
    # every 2nd save_model is due; top-1 by test_loss keeps the best of them (step 4)
    assert sorted(p.name for p in folder.glob("*.npz")) == ["final.npz", "init.npz",
                                                             "step_4.npz"]
    assert np.array_equal(load_model(tmp_path / "r", name="best")["w"], [4.0, 4.0])
    assert np.array_equal(load_model(tmp_path / "r", name="init")["w"], [0.0, 0.0])


def test_overwrite_experiment_dir_starts_the_seed_log_afresh(tmp_path: Path) -> None:
    data = {**CONFIG, "log_config": {**CONFIG["log_config"], "overwrite_experiment_dir": True}}
    config = _config(tmp_path, data)
    for value in (1.0, 2.0):
        mle = MLExperiment(str(config), argv=["-exp_dir", str(tmp_path / "r")])
        mle.update_log({"num_updates": 1}, {"train_loss": value, "test_loss": value}, save=True)
        mle.finish()
    lines = (tmp_path / "r" / "logs" / "seed_0.jsonl").read_text().splitlines()
    assert [json.loads(line)["stats"]["train_loss"] for line in lines] == [2.0]


def test_auto_setup_false_lets_the_script_edit_configs_before_setup(tmp_path: Path) -> None:
    mle = _mle(tmp_path, "-seed", "2", auto_setup=False)
    assert not hasattr(mle, "log")
    mle.log_config["what_to_track"] = ["train_loss"]
    mle.setup()
    mle.update_log({"num_updates": 0}, {"train_loss": 1.0}, save=True)
    mle.finish()
    status = json.loads((tmp_path / "run" / "jobs" / "seed_2" / "status.json").read_text())
    assert status["state"] == "completed"


def test_create_jax_prng_without_jax_names_the_pip_line(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(MissingExtra, match=r"create_jax_prng=True needs jax: pip install jax"):
        _mle(tmp_path, create_jax_prng=True)


def test_model_ckpt_and_extra_values_a_search_hands_the_job(tmp_path: Path) -> None:
    first = _mle(tmp_path)
    first.log.save_model({"w": np.array([4.0, 5.0])})
    first.finish()
    ckpt = tmp_path / "run" / "checkpoints" / "seed_0" / "final.npz"
    data = {**CONFIG, "extra": {"resume_step": 10},
            "train_config": {**CONFIG["train_config"], "extra": {"budget": 3}}}
    config = _config(tmp_path, data, "handed.json")
    second = MLExperiment(str(config), argv=["-exp_dir", str(tmp_path / "r2"), "-model_ckpt",
                                             str(ckpt), "-lrate_scale", "0.5", "-tag", "x"])
    second.finish()
    assert np.array_equal(second.model_ckpt["w"], [4.0, 5.0])  # loaded, as mle-toolbox does
    assert second.model_ckpt_path == str(ckpt)
    assert second.train_config.model_ckpt == str(ckpt)
    assert second.train_config.extra == {"budget": 3}
    assert second.extra_config == {"resume_step": 10, "budget": 3, "lrate_scale": 0.5,
                                   "tag": "x"}


@pytest.mark.parametrize("where", ["sh_ckpt", "pbt_ckpt", "ckpt"])
def test_the_checkpoint_mle_hyperopt_hands_over_in_train_config_is_loaded(
    tmp_path: Path, where: str,
) -> None:
    parent = _mle(tmp_path)
    parent.log.save_model({"w": np.array([1.5])})
    parent.finish()
    ckpt = str(tmp_path / "run" / "checkpoints" / "seed_0" / "final.npz")
    train = {"lrate": 0.1, "extra": {where: ckpt, "sh_num_add_iters": 2}} if where != "ckpt" \
        else {"lrate": 0.1, "ckpt": ckpt}
    child = MLExperiment(str(_config(tmp_path, {"train_config": train}, "child.json")),
                         argv=["-exp_dir", str(tmp_path / "child")])
    child.finish()
    assert child.model_ckpt_path == ckpt
    assert np.array_equal(child.model_ckpt["w"], [1.5])
    other = MLExperiment(str(_config(tmp_path, {"train_config": {"lrate": 0.1}}, "o.json")),
                         argv=["-exp_dir", str(tmp_path / "o"), "--model_ckpt_path", ckpt])
    other.finish()
    assert np.array_equal(other.model_ckpt["w"], [1.5])


def test_config_sections_given_as_arguments_replace_the_files(tmp_path: Path) -> None:
    mle = MLExperiment(str(_config(tmp_path)), None, None, True, False, {"lrate": 0.5},
                       {"what_to_track": ["acc"]}, {"depth": 2}, {"num_gpus": 1},
                       argv=["-seed", "1", "-exp_dir", str(tmp_path / "r")])
    mle.update_log({"step": 0}, {"loss": 1.0, "acc": 0.9}, save=True)
    mle.finish()
    assert mle.train_config == {"lrate": 0.5, "seed_id": 1}
    assert (mle.model_config, mle.device_config) == ({"depth": 2}, {"num_gpus": 1})
    assert mle.log_config.what_to_track == ["acc"]
    assert mle.log.stats_log.what_to_track == ["acc", "loss"]  # tracked names first


def test_the_experiment_decorator_passes_the_experiment_and_the_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = _config(tmp_path)
    monkeypatch.setattr(sys, "argv", ["nb", "-exp_dir", str(tmp_path / "e")])

    @experiment(str(config), seed_id=3)
    def train(mle: MLExperiment, scale: float, *, shift: float = 0.0) -> float:
        return float(mle.train_config.lrate * scale + shift + mle.seed_id)

    assert train(10.0, shift=1.0) == pytest.approx(5.0)
    assert train.__name__ == "train"


def test_the_experiment_decorator_with_a_default_config(tmp_path: Path) -> None:
    config = _config(tmp_path)
    seen = {}

    @experiment(str(config))
    def main(mle: MLExperiment) -> None:
        seen.update(mle.train_config)

    old = sys.argv
    sys.argv = ["train.py", "-seed", "4", "-exp_dir", str(tmp_path / "d")]
    try:
        main()
    finally:
        sys.argv = old
    assert seen == {"lrate": 0.1, "num_epochs": 3, "seed_id": 4}


def test_mle_logger_standalone_makes_mle_loggings_dated_folder(tmp_path: Path) -> None:
    config = _config(tmp_path, name="my_config.json")
    log = MLELogger(time_to_track=["num_updates"], what_to_track=["loss"],
                    experiment_dir=str(tmp_path / "exps"), config_fname=str(config),
                    seed_id=1, model_type="numpy")
    for step in range(3):
        log.update({"num_updates": step}, {"loss": 1.0 / (step + 1)}, save=True)
    log.close()
    folder = Path(log.experiment_dir)
    assert folder.parent == tmp_path / "exps" and folder.name.endswith("_my_config")
    assert (folder / f"{folder.name}.json").read_text() == config.read_text()
    assert log.seed_id == "seed_1"
    back = load_log(folder)
    np.testing.assert_allclose(back.stats.loss, [1.0, 0.5, 1 / 3])
    assert back.time_vars == ["num_updates"] and back.stats_vars == ["loss"]
    again = MLELogger(["num_updates"], ["loss"], experiment_dir=str(tmp_path / "exps"),
                      config_fname=str(config), seed_id=1, reload=True)
    assert again.experiment_dir == log.experiment_dir


def test_use_tboard_writes_scalars_tensorboard_reads(tmp_path: Path) -> None:
    log = MLELogger(["num_updates"], ["loss"], experiment_dir=str(tmp_path), seed_id=0,
                    use_tboard=True)
    for step in (10, 20):
        log.update({"num_updates": step}, {"loss": step / 10})
    log.close()
    scalars = tboard_scalars(tmp_path / "tboards" / "seed_0")
    assert scalars["stats/loss"] == [(10, 1.0), (20, 2.0)]
    assert scalars["time/num_updates"] == [(10, 10.0), (20, 20.0)]


def test_use_wandb_logs_every_update_offline(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_SILENT", "true")
    log = MLELogger(["num_updates"], ["loss"], experiment_dir=str(tmp_path), seed_id=2,
                    use_wandb=True, config_dict={"lrate": 0.1},
                    wandb_config={"project": "p", "group": "g", "mode": "offline"})
    for step in (1, 2):
        log.update({"num_updates": step}, {"loss": 1.0 / step})
    log.close()
    [run_file] = (tmp_path / "wandb").glob("offline-run-*/run-*.wandb")
    rows = wandb_history(run_file, within=30)
    assert [(r["_step"], r["stats/loss"], r["time/num_updates"]) for r in rows] == [
        (0, 1.0, 1), (1, 0.5, 2)]


@pytest.mark.parametrize(("flag", "module", "extra"), [
    ("use_tboard", "tensorboardX", "tboard"), ("use_wandb", "wandb", "wandb")])
def test_a_missing_tracker_extra_is_one_clear_message(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     flag: str, module: str,
                                                     extra: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingExtra) as caught:
        MLELogger(["t"], ["loss"], experiment_dir=str(tmp_path), **{flag: True})
    assert str(caught.value) == (f"{flag} needs the {module} package: pip install "
                                 f"'mle_toolbox[{extra}]' (or pip install {module})")


def test_an_upstream_train_script_runs_unchanged_under_mle_run(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    result = run_mle("run", "meta.yaml", cwd=project, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    check_upstream_results(project / "experiments")


def test_the_example_script_resumes_from_model_ckpt_given_on_the_command_line(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path)
    first = subprocess.run([sys.executable, "train.py", "-seed", "0", "-exp_dir", "first"],
                           cwd=project, capture_output=True, text=True, timeout=60,
                           env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    assert first.returncode == 0, first.stderr
    ckpt = project / "first" / "checkpoints" / "seed_0" / "final.npz"
    second = subprocess.run([sys.executable, "train.py", "-seed", "0", "-exp_dir", "second",
                             "-model_ckpt", str(ckpt)], cwd=project, capture_output=True,
                            text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO)},
                            check=False)
    assert second.returncode == 0, second.stderr
    before = load_log(project / "first").stats.train_loss[-1]
    after = load_log(project / "second").stats.train_loss
    assert after[0] < before  # training went on from the checkpoint, not from scratch
    np.testing.assert_allclose(after[0], before * 0.8 ** 2)


def test_load_model_puts_the_state_into_a_given_model(tmp_path: Path) -> None:
    class Net:
        """Stands in for a torch module: load_state_dict is all load_model uses."""

        def __init__(self) -> None:
            self.state: dict[str, object] = {}

        def load_state_dict(self, state: dict[str, object]) -> None:
            self.state = state

    path = write(tmp_path / "ckpt.json", '{"w": [1, 2]}')
    net = Net()
    assert load_model(str(path), "torch", model=net) is net
    assert net.state == {"w": [1, 2]}
    assert load_model(str(path), "jax") == {"w": [1, 2]}  # no model: the state itself


def test_wandb_project_group_and_name_from_the_command_line(tmp_path: Path) -> None:
    data = {**CONFIG, "log_config": {**CONFIG["log_config"], "use_wandb": True,
                                     "wandb_config": {"project": "kept"}}}
    mle = MLExperiment(str(_config(tmp_path, data)), auto_setup=False,
                       argv=["-exp_dir", str(tmp_path / "r"), "-wb_project", "cli",
                             "-wb_group", "sweep", "-wb_name", "run1"])
    assert mle.log_config.wandb_config == {"project": "kept", "group": "sweep",
                                           "name": "run1"}
    assert mle.extra_config == {}
