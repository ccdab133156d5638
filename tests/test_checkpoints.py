"""Checkpoints: formats, every-k and top-k policy, lookup by name, MLExperiment wiring."""

from __future__ import annotations

import json
import pickle
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mle_toolbox import MLExperiment, load_checkpoint, load_model
from mle_toolbox.job.checkpoints import (
    CheckpointNotFound,
    CheckpointPolicy,
    CheckpointStore,
    detect_format,
    find_checkpoint,
)
from mle_toolbox.job.metrics import MetricLogger
from tests.gallery import lib


def _trained_mlp() -> tuple[Any, np.ndarray]:
    mlp, synthetic = lib("mlp"), lib("synthetic")
    x, y = synthetic.make_classification(n_samples=300, n_features=5, n_classes=3,
                                         class_sep=2.0, seed=1)
    rng = np.random.default_rng(0)
    model = mlp.MLP(mlp.init_params([5, 16, 3], init="he", rng=rng), activation="relu")
    optimizer = mlp.make_optimizer("adam", lrate=0.01)
    for _ in range(5):
        mlp.train_epoch(model, optimizer, x, y, batch_size=32, clip_norm=5.0, rng=rng)
    return model, x


def test_reloaded_npz_model_gives_identical_predictions(tmp_path: Path) -> None:
    model, x = _trained_mlp()
    before = model.predict_proba(x)
    path = CheckpointStore(tmp_path).save_model(model.params)
    assert path == tmp_path / "final.npz"
    params = load_checkpoint(path)
    assert set(params) == set(model.params)
    reloaded = lib("mlp").MLP(params, activation="relu")
    assert np.array_equal(reloaded.predict_proba(x), before)  # bit for bit


def test_reloaded_linear_model_gives_identical_predictions(tmp_path: Path) -> None:
    linreg, synthetic = lib("linreg"), lib("synthetic")
    x, y, _ = synthetic.make_regression(n_samples=200, n_features=6, n_informative=3,
                                        noise=0.1, seed=2)
    model = linreg.fit_closed_form(x, y, l2=0.01)
    CheckpointStore(tmp_path).save_model(model.params())
    again = linreg.LinearModel.from_params(load_checkpoint(tmp_path / "final.npz"))
    assert np.array_equal(again.predict(x), model.predict(x))


@pytest.mark.parametrize(("obj", "fmt", "suffix"), [
    ({"w": np.arange(3.0), "b": np.float64(0.5)}, "npz", ".npz"),
    ({"lrate": 0.1, "layers": [1, 2], "name": "x"}, "json", ".json"),
    ({"w": np.arange(3.0), "meta": "text"}, "pickle", ".pkl"),  # mixed: not npz, not JSON
    ({1, 2, 3}, "pickle", ".pkl"),
])
def test_format_follows_the_object_and_round_trips(tmp_path: Path, obj: Any, fmt: str,
                                                    suffix: str) -> None:
    assert detect_format(obj) == fmt
    path = CheckpointStore(tmp_path).save_model(obj)
    assert path.suffix == suffix
    loaded = load_checkpoint(path)
    if fmt in ("npz", "pickle") and isinstance(obj, dict):
        assert set(loaded) == set(obj)
        assert np.array_equal(loaded["w"], obj["w"])
    else:
        assert loaded == obj
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["checkpoints"][0]["format"] == fmt


def test_a_forced_format_is_used(tmp_path: Path) -> None:
    path = CheckpointStore(tmp_path).save_model({"a": 1}, fmt="pickle")
    with open(path, "rb") as handle:
        assert pickle.load(handle) == {"a": 1}
    with pytest.raises(ValueError, match="unknown checkpoint format 'h5'"):
        CheckpointStore(tmp_path).save_model({"a": 1}, fmt="h5")


def test_a_new_final_format_removes_the_old_final_file(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.save_model({"a": 1})
    store.save_model({"w": np.zeros(2)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final.npz", "index.json"]


def test_torch_objects_use_torch_save_only_when_torch_is_imported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in torch module: checks the dispatch without installing torch.
    fake = types.ModuleType("torch")
    saved: list[Any] = []

    class Tensor:
        pass

    class Module:
        def state_dict(self) -> dict[str, Any]:
            return {"weight": Tensor()}

    fake.Tensor = Tensor  # type: ignore[attr-defined]
    fake.nn = types.SimpleNamespace(Module=Module)  # type: ignore[attr-defined]
    fake.save = lambda obj, handle: (saved.append(obj), handle.write(b"pt"))  # type: ignore[attr-defined]
    fake.load = lambda path, map_location: {"loaded": str(path), "on": map_location}  # type: ignore[attr-defined]
    assert detect_format({"weight": Tensor()}) == "pickle"  # torch not imported yet
    monkeypatch.setitem(sys.modules, "torch", fake)
    path = CheckpointStore(tmp_path).save_model(Module())
    assert path.name == "final.pt" and path.read_bytes() == b"pt"
    assert list(saved[0]) == ["weight"]  # the module's state_dict was saved
    assert load_checkpoint(path) == {"loaded": str(path), "on": "cpu"}


def test_every_k_steps_and_top_k_by_objective(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, policy=CheckpointPolicy(every_k_steps=2, top_k=2))
    losses = {0: 5.0, 1: 0.1, 2: 3.0, 4: 4.0, 6: 1.0, 8: 2.0}
    saved = {step: store.save_checkpoint({"s": step}, step, objective=loss)
             for step, loss in losses.items()}
    assert saved[1] is None  # not a multiple of 2
    assert saved[6] == tmp_path / "step_6.json"
    store.save_model({"s": "final"})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["final.json", "index.json", "step_6.json", "step_8.json"]
    assert find_checkpoint(tmp_path, "best") == tmp_path / "step_6.json"
    assert find_checkpoint(tmp_path, "last") == tmp_path / "step_8.json"
    assert find_checkpoint(tmp_path, "step_8") == tmp_path / "step_8.json"
    assert find_checkpoint(tmp_path, "final.json") == tmp_path / "final.json"


def test_top_k_maximizing_takes_the_objective_from_the_last_logged_metric(
        tmp_path: Path) -> None:
    logger = MetricLogger(tmp_path / "log.jsonl")
    policy = CheckpointPolicy.from_log_config({"save_top_k_ckpt": 1, "top_k_metric_name": "acc",
                                               "top_k_minimize_metric": False})
    logger.checkpoints = CheckpointStore(tmp_path / "ckpt", policy=policy,
                                         last_stats=lambda: logger.last_stats)
    for step, acc in enumerate([0.5, 0.9, 0.7]):
        logger.update({"step": step}, {"acc": acc})
        logger.save_checkpoint({"step": step}, step)
    assert [p.name for p in sorted((tmp_path / "ckpt").glob("step_*"))] == ["step_1.json"]
    assert load_checkpoint(find_checkpoint(tmp_path / "ckpt", "best")) == {"step": 1}
    index = json.loads((tmp_path / "ckpt" / "index.json").read_text())
    assert index["minimize"] is False and index["checkpoints"][0]["objective"] == 0.9


def test_top_k_without_an_objective_is_an_error(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, policy=CheckpointPolicy(top_k=1, metric="loss"))
    with pytest.raises(ValueError, match="top_k checkpoints need an objective"):
        store.save_checkpoint({"a": 1}, 0)


@pytest.mark.parametrize(("config", "message"), [
    ({"model_ckpt_every_k_steps": 0}, "log_config.model_ckpt_every_k_steps must be a positive"),
    ({"save_every_k_ckpt": "5"}, "log_config.save_every_k_ckpt must be a positive integer"),
    ({"top_k": True}, "log_config.top_k must be a positive integer, got True"),
    ({"top_k_minimize_metric": "yes"}, "top_k_minimize_metric must be true or false"),
    ({"top_k_metric_name": 3}, "top_k_metric_name must be a string"),
])
def test_bad_policy_values_name_the_key(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CheckpointPolicy.from_log_config(config)


def test_missing_checkpoint_names_run_and_path(tmp_path: Path) -> None:
    with pytest.raises(CheckpointNotFound) as caught:
        find_checkpoint(tmp_path / "ckpt", "final", run="lr_0.1 seed 2")
    text = str(caught.value)
    assert text.startswith(f"run lr_0.1 seed 2: no checkpoint 'final' in {tmp_path / 'ckpt'}")
    assert "saved checkpoints: none" in text and "mle.log.save_model" in text
    with pytest.raises(CheckpointNotFound, match="does not exist"):
        load_checkpoint(tmp_path / "nope.npz")


def test_a_resumed_job_continues_the_index(tmp_path: Path) -> None:
    CheckpointStore(tmp_path).save_checkpoint({"a": 0}, 0)
    again = CheckpointStore(tmp_path)
    again.save_checkpoint({"a": 5}, 5)
    assert [e.name for e in again.entries] == ["step_0", "step_5"]


def test_mlexperiment_saves_into_the_run_dir(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"log_config": {"model_ckpt_every_k_steps": 10}}))
    run_dir = tmp_path / "run"
    mle = MLExperiment(argv=["-config", str(config), "-seed", "3", "-exp_dir", str(run_dir)])
    assert mle.log.save_checkpoint({"w": np.ones(2)}, 5) is None
    assert mle.log.save_checkpoint({"w": np.ones(2)}, 10) == (
        run_dir / "checkpoints" / "seed_3" / "step_10.npz")
    mle.log.update({"step": 11}, {"loss": 1.0}, model={"w": np.full(2, 7.0)}, save=True)
    mle.finish()
    assert np.array_equal(load_model(run_dir, seed=3)["w"], [7.0, 7.0])
    assert np.array_equal(load_model(run_dir, seed=3, name="step_10")["w"], [1.0, 1.0])


def test_a_plain_metric_logger_has_no_checkpoint_folder(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="no checkpoint folder"):
        MetricLogger(tmp_path / "log.jsonl").save_model({"a": 1})
