"""Each gallery experiment runs through ``mle run`` and reaches its stated quality."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from mle_toolbox import load_model
from tests.conftest import run_mle
from tests.gallery import copy_example, lib, read_json, rows

pytestmark = pytest.mark.timeout(90)


def _run_example(name: str, meta: str,
                 tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``mle run`` a copy of an example; returns the result and the experiment dir."""
    example = copy_example(name, tmp_path)
    result = run_mle("run", meta, cwd=example)
    assert result.returncode == 0, result.stderr
    (exp,) = (example / "runs").iterdir()
    return result, exp


def test_regression_closed_form_and_gradient_descent_reach_r2_above_095(
        tmp_path: Path) -> None:
    result, exp = _run_example("regression", "meta.yaml", tmp_path)
    assert "mle: 4 jobs: 4 completed" in result.stdout
    for seed in (0, 1):
        closed = rows(exp / "closed_form" / "logs" / f"seed_{seed}.jsonl")
        assert len(closed) == 1 and closed[0]["stats"]["test_r2"] > 0.95
        descent = rows(exp / "gradient_descent" / "logs" / f"seed_{seed}.jsonl")
        assert [r["time"]["step"] for r in descent] == [*range(0, 200, 20), 199]
        assert descent[-1]["stats"]["test_r2"] > 0.95
        # gradient descent converges to the closed form's quality
        assert descent[-1]["stats"]["test_mse"] == pytest.approx(
            closed[0]["stats"]["test_mse"], rel=0.02)
        # checkpoints every 40 steps at logged steps (0, 40, 80, 120, 160), top 2 by test_mse
        folder = exp / "gradient_descent" / "checkpoints" / f"seed_{seed}"
        kept = sorted(p.name for p in folder.glob("step_*.npz"))
        assert len(kept) == 2 and set(kept) <= {f"step_{s}.npz" for s in range(0, 200, 40)}
    summary = read_json(exp / "closed_form" / "summary.json")
    assert summary["metrics"]["test_r2"]["final"]["mean"] > 0.95
    _check_reloaded_regression(exp / "closed_form")


def _check_reloaded_regression(run_dir: Path) -> None:
    """The saved model of seed 1 reproduces the logged test R² exactly."""
    cfg = read_json(run_dir / "closed_form.json")["train_config"]
    synthetic, linreg = lib("synthetic"), lib("linreg")
    x, y, _ = synthetic.make_regression(n_samples=cfg["n_samples"],
                                        n_features=cfg["n_features"],
                                        n_informative=cfg["n_informative"],
                                        noise=cfg["noise"], seed=1)
    _, _, x_test, y_test = synthetic.train_test_split(x, y, test_fraction=cfg["test_fraction"])
    model = linreg.LinearModel.from_params(load_model(run_dir, seed=1))
    logged = rows(run_dir / "logs" / "seed_1.jsonl")[-1]["stats"]["test_r2"]
    assert linreg.r2_score(y_test, model.predict(x_test)) == logged


def test_classification_reaches_090_and_post_processing_evaluates_each_job(
        tmp_path: Path) -> None:
    result, exp = _run_example("classification", "meta.yaml", tmp_path)
    assert "mle: 4 evaluations: 4 completed, 0 not" in result.stdout
    for run in ("adam_relu", "sgd_tanh"):
        for seed in (0, 1):
            trained = rows(exp / run / "logs" / f"seed_{seed}.jsonl")
            assert trained[-1]["time"]["epoch"] == 19
            assert trained[-1]["stats"]["test_acc"] > 0.9
            evaluated = rows(exp / run / "eval" / "logs" / f"seed_{seed}.jsonl")
            assert len(evaluated) == 1
            stats = evaluated[0]["stats"]
            # the reloaded final model predicts exactly what the trained one did
            assert stats["test_acc"] == trained[-1]["stats"]["test_acc"]
            assert 0.25 < stats["noisy_test_acc"] <= 1.0  # extra_cmd_line_input reached it
        summary = read_json(exp / run / "summary.json")
        assert summary["metrics"]["test_acc"]["final"]["mean"] > 0.9
        assert summary["eval"]["metrics"]["test_acc"]["final"]["mean"] > 0.9
        assert summary["eval"]["seeds"] == [0, 1]
    report = read_json(exp / "eval_report.json")
    assert [(e["run_id"], e["seed"], e["state"]) for e in report["evaluations"]] == [
        (run, seed, "completed") for run in ("adam_relu", "sgd_tanh") for seed in (0, 1)]
    assert report["evaluations"][0]["checkpoint"].endswith("checkpoints/seed_0/final.npz")
    # top_k 1 by test_acc (maximised) among epochs 0 and 10
    kept = list((exp / "adam_relu" / "checkpoints" / "seed_0").glob("step_*.npz"))
    assert [p.name for p in kept] == ["step_10.npz"]


def test_mlp_grid_search_over_learning_rate_and_width(tmp_path: Path) -> None:
    _, exp = _run_example("classification", "meta_grid.yaml", tmp_path)
    assert exp.name == "mlp_grid"
    accuracy = {}
    for index in range(6):
        run = exp / f"b_1_eval_{index}"
        config = read_json(run / f"b_1_eval_{index}.json")
        key = (config["train_config"]["lrate"], config["model_config"]["width"])
        accuracy[key] = read_json(run / "summary.json")["metrics"]["test_acc"]["final"]["mean"]
    lrates = sorted({lr for lr, _ in accuracy})
    assert lrates == pytest.approx([0.0001, 0.001, 0.01])
    assert {w for _, w in accuracy} == {4, 32}
    assert max(accuracy.values()) > 0.9
    # the grid shows something: the smallest step size is clearly worse than the largest
    assert accuracy[(lrates[0], 32)] < accuracy[(lrates[-1], 32)] - 0.1
    assert np.isfinite(list(accuracy.values())).all()
