"""Results: summaries over seeds and the load_log / load_meta_log API, on real logs."""

from __future__ import annotations

import json
import math
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mle_toolbox import MetricLogger, load_log, load_meta_log
from mle_toolbox.files.layout import ExperimentLayout
from mle_toolbox.results.merge import read_series, seed_logs, summarize_run

LOSS = {0: [4.0, 2.0, 3.0], 1: [6.0, 5.0, 1.0], 2: [2.0, 2.0, 2.0]}
ACC = {0: [0.1, 0.5, 0.4], 1: [0.2, 0.3, 0.9], 2: [0.3, 0.3, 0.3]}


def _log(run_dir: Path, seed: int, rows: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    log = MetricLogger(ExperimentLayout(run_dir.parent).job(run_dir.name, seed).metrics_log)
    for time, stats in rows:
        log.update(time, stats, save=True)
    log.close()


def _standard_run(run_dir: Path) -> None:
    for seed in LOSS:
        _log(run_dir, seed, [({"step": s}, {"loss": LOSS[seed][s], "acc": ACC[seed][s]})
                             for s in range(3)])


def test_summary_final_and_best_mean_and_std_over_seeds(tmp_path: Path) -> None:
    run = tmp_path / "exp" / "a_cfg"
    _standard_run(run)
    summary = summarize_run(run, maximize=["acc"])
    assert summary["run_id"] == "a_cfg" and summary["seeds"] == [0, 1, 2]
    loss, acc = summary["metrics"]["loss"], summary["metrics"]["acc"]
    # final loss 3, 1, 2; best (lowest) loss 2, 1, 2
    assert loss["final"]["per_seed"] == {"0": 3.0, "1": 1.0, "2": 2.0}
    assert loss["final"]["mean"] == pytest.approx(2.0)
    assert loss["final"]["std"] == pytest.approx(math.sqrt(2 / 3))  # population std
    assert loss["best"]["per_seed"] == {"0": 2.0, "1": 1.0, "2": 2.0}
    assert loss["best"]["mean"] == pytest.approx(5 / 3)
    assert loss["best"]["std"] == pytest.approx(math.sqrt(2) / 3)
    # acc is maximised: best is the highest
    assert acc["best"]["per_seed"] == {"0": 0.5, "1": 0.9, "2": 0.3}
    assert acc["best"]["mean"] == pytest.approx(1.7 / 3)
    assert acc["final"]["mean"] == pytest.approx(1.6 / 3)
    # without maximize, acc's best is its lowest value
    assert summarize_run(run)["metrics"]["acc"]["best"]["per_seed"] == {
        "0": 0.1, "1": 0.2, "2": 0.3}
    json.dumps(summary, allow_nan=False)  # storable as strict JSON


def test_summary_skips_values_that_are_not_finite_numbers(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _log(run, 0, [({"step": 0}, {"loss": 2.0, "done": False, "note": "warmup"}),
                  ({"step": 1}, {"loss": float("nan"), "done": True, "note": "x"}),
                  ({"step": 2}, {"loss": 1.0, "only_nan": float("inf")}),
                  ({"step": 3}, {"loss": None})])
    _log(run, 1, [({"step": 0}, {"loss": 5.0, "extra": 7})])
    metrics = summarize_run(run)["metrics"]
    assert set(metrics) == {"loss", "extra"}  # bools, text and all-NaN columns left out
    assert metrics["loss"]["final"] == {"mean": 3.0, "std": 2.0,
                                        "per_seed": {"0": 1.0, "1": 5.0}}
    assert metrics["extra"]["best"] == {"mean": 7.0, "std": 0.0, "per_seed": {"1": 7.0}}


def test_summary_of_a_run_without_logs_is_empty(tmp_path: Path) -> None:
    assert summarize_run(tmp_path / "never_ran") == {"run_id": "never_ran", "seeds": [],
                                                     "metrics": {}}


def test_seed_logs_are_sorted_by_seed_number(tmp_path: Path) -> None:
    for seed in (10, 2, -1):
        _log(tmp_path / "run", seed, [({"s": 0}, {"x": seed})])
    (tmp_path / "run" / "logs" / "seed_3.jsonl.tmp").write_text("")
    (tmp_path / "run" / "logs" / "notes.txt").write_text("")
    assert list(seed_logs(tmp_path / "run")) == [-1, 2, 10]
    assert load_log(tmp_path / "run").seed_ids == ["seed_-1", "seed_2", "seed_10"]


def test_load_log_gives_numpy_arrays_with_attribute_access(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _standard_run(run)
    log = load_log(str(run))
    assert log.seed_ids == ["seed_0", "seed_1", "seed_2"]
    assert isinstance(log.seed_1.stats.loss, np.ndarray)
    np.testing.assert_array_equal(log.seed_1.stats.loss, [6.0, 5.0, 1.0])
    np.testing.assert_array_equal(log["seed_2"]["stats"]["acc"], [0.3, 0.3, 0.3])
    assert log.seed_0.time.step.dtype.kind == "i"
    np.testing.assert_array_equal(log.seed_0.time.step, [0, 1, 2])
    with pytest.raises(AttributeError, match="no entry 'lr'; have: loss, acc"):
        _ = log.seed_0.stats.lr


def test_columns_stay_aligned_with_steps_when_keys_come_and_go(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _log(run, 0, [({"step": 0}, {"loss": 3.0}),
                  ({"step": 1}, {"loss": 2.0, "val_acc": 0.5}),
                  ({"step": 2, "stamp": "t2"}, {"loss": 1.0}),
                  ({"step": 3}, {"loss": None, "val_acc": 0.75})])
    times, stats = read_series(seed_logs(run)[0])
    assert stats == {"loss": [3.0, 2.0, 1.0, None], "val_acc": [None, 0.5, None, 0.75]}
    assert times == {"step": [0, 1, 2, 3], "stamp": [None, None, "t2", None]}
    log = load_log(run).seed_0
    np.testing.assert_array_equal(log.stats.val_acc, [np.nan, 0.5, np.nan, 0.75])
    np.testing.assert_array_equal(log.stats.loss, [3.0, 2.0, 1.0, np.nan])
    assert list(log.time.stamp) == [None, None, "t2", None]


def test_aggregate_seeds_mean_std_and_percentiles_per_step(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _standard_run(run)
    agg = load_log(run, aggregate_seeds=True)
    assert agg.seed_ids == ["seed_0", "seed_1", "seed_2"]
    np.testing.assert_array_equal(agg.time.step, [0, 1, 2])
    loss = agg.stats.loss
    # step 0: 4, 6, 2; step 1: 2, 5, 2; step 2: 3, 1, 2
    np.testing.assert_allclose(loss.mean, [4.0, 3.0, 2.0])
    np.testing.assert_allclose(loss.std, [math.sqrt(8 / 3), math.sqrt(2), math.sqrt(2 / 3)])
    np.testing.assert_allclose(loss.p50, [4.0, 2.0, 2.0])
    np.testing.assert_allclose(loss.p10, [2.4, 2.0, 1.2])  # linear between order statistics
    np.testing.assert_allclose(loss.p25, [3.0, 2.0, 1.5])
    np.testing.assert_allclose(loss.p75, [5.0, 3.5, 2.5])
    np.testing.assert_allclose(loss.p90, [5.6, 4.4, 2.8])
    np.testing.assert_allclose(agg.stats.acc.mean, [0.2, 1.1 / 3, 1.6 / 3])


def test_aggregate_cuts_to_the_shortest_seed_and_ignores_missing_values(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    _log(run, 0, [({"step": s}, {"loss": v}) for s, v in enumerate([1.0, None, 5.0, 9.0])])
    _log(run, 1, [({"step": s}, {"loss": v}) for s, v in enumerate([3.0, 4.0, float("nan")])])
    agg = load_log(run, aggregate_seeds=True)
    np.testing.assert_allclose(agg.stats.loss.mean, [2.0, 4.0, 5.0])
    np.testing.assert_allclose(agg.stats.loss.std, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(agg.time.step, [0, 1, 2])


def test_aggregate_keeps_text_time_columns_and_averages_vectors(tmp_path: Path) -> None:
    run = tmp_path / "run"
    for seed, offset in ((0, 0.0), (1, 2.0)):
        _log(run, seed, [({"step": s, "date": f"day {s}"},
                          {"per_class": [s + offset, 10 * s + offset], "phase": "train",
                           "sometimes": 1.0 if s else None})
                         for s in range(2)])
    agg = load_log(run, aggregate_seeds=True)
    assert list(agg.time.date) == ["day 0", "day 1"]
    np.testing.assert_allclose(agg.stats.per_class.mean, [[1.0, 1.0], [2.0, 11.0]])
    assert agg.stats.per_class.p50.shape == (2, 2)
    assert "phase" not in agg.stats  # text is not averaged
    np.testing.assert_array_equal(agg.stats.sometimes.mean, [np.nan, 1.0])


def test_load_log_errors_name_the_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope: no such run directory"):
        load_log(tmp_path / "nope")
    (tmp_path / "empty" / "logs").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"empty: no metrics logs \(logs/seed_\*"):
        load_log(tmp_path / "empty")


def _experiment(root: Path) -> ExperimentLayout:
    layout = ExperimentLayout(root)
    root.mkdir(parents=True)
    layout.plan.write_text(json.dumps({"runs": [{"run_id": "a_cfg"}, {"run_id": "b_cfg"},
                                                {"run_id": "not_run"}]}))
    _standard_run(layout.run_dir("a_cfg"))
    _log(layout.run_dir("b_cfg"), 0, [({"step": 0}, {"loss": 8.0}), ({"step": 1},
                                                                     {"loss": 6.0})])
    _log(layout.run_dir("b_cfg"), 5, [({"step": 0}, {"loss": 4.0}), ({"step": 1},
                                                                     {"loss": 2.0})])
    (root / "stray_folder" / "logs").mkdir(parents=True)  # not in the plan: ignored
    return layout


def test_load_meta_log_reads_every_run_of_the_plan_that_logged(tmp_path: Path) -> None:
    _experiment(tmp_path / "exp")
    meta = load_meta_log(tmp_path / "exp")
    assert meta.eval_ids == ["a_cfg", "b_cfg"]
    np.testing.assert_array_equal(meta.a_cfg.seed_1.stats.loss, LOSS[1])
    assert meta["b_cfg"].seed_ids == ["seed_0", "seed_5"]
    np.testing.assert_array_equal(meta.b_cfg.seed_5.stats.loss, [4.0, 2.0])
    with pytest.raises(AttributeError, match="no entry 'not_run'; have: a_cfg, b_cfg"):
        _ = meta.not_run
    agg = load_meta_log(str(tmp_path / "exp"), aggregate_seeds=True)
    np.testing.assert_allclose(agg.b_cfg.stats.loss.mean, [6.0, 4.0])
    np.testing.assert_allclose(agg.b_cfg.stats.loss.std, [2.0, 2.0])
    np.testing.assert_allclose(agg.a_cfg.stats.loss.mean, [4.0, 3.0, 2.0])


def test_load_meta_log_needs_an_experiment_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"not an mle_toolbox experiment directory "
                                                r"\(no plan\.json\)"):
        load_meta_log(tmp_path)


def test_to_dataframe_builds_long_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _experiment(tmp_path / "exp")
    fake = types.ModuleType("pandas")
    fake.DataFrame = lambda rows: rows  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pandas", fake)
    rows = load_meta_log(tmp_path / "exp").to_dataframe()
    assert len(rows) == 3 * 3 + 2 * 2
    assert rows[0] == {"run_id": "a_cfg", "seed": "seed_0", "step": 0, "loss": 4.0, "acc": 0.1}
    assert rows[-1] == {"run_id": "b_cfg", "seed": "seed_5", "step": 1, "loss": 2.0}
    aggregated = load_meta_log(tmp_path / "exp", aggregate_seeds=True).to_dataframe()
    assert len(aggregated) == 3 + 2
    first = aggregated[0]
    assert (first["run_id"], first["step"]) == ("a_cfg", 0)
    assert first["loss_mean"] == pytest.approx(4.0)  # seeds: 4, 6, 2
    assert first["loss_std"] == pytest.approx(math.sqrt(8 / 3))
    assert first["loss_p50"] == pytest.approx(4.0)
    assert first["acc_mean"] == pytest.approx(0.2)
    last = aggregated[-1]
    assert (last["run_id"], last["step"], last["loss_mean"]) == ("b_cfg", 1, 4.0)
    assert set(last) == {"run_id", "step", "loss_mean", "loss_std",
                         *(f"loss_p{q}" for q in (10, 25, 50, 75, 90))}


def test_to_dataframe_without_pandas_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _experiment(tmp_path / "exp")
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="to_dataframe\\(\\) needs pandas: pip install pandas"):
        load_meta_log(tmp_path / "exp").to_dataframe()
