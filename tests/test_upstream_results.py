"""Notebooks written for mle-toolbox / mle-logging: the same analysis code reads
mle-logging's .hdf5 result folders (written here with h5py, in mle-logging's layout)
and ours, and gets the same numbers."""

from __future__ import annotations

import json
import os
import pickle
import re
import sys
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

import mle_toolbox
from mle_toolbox import (
    load_config,
    load_log,
    load_meta_log,
    merge_config_logs,
    merge_seed_logs,
)
from mle_toolbox.experimental.hypothesis import HypothesisTester
from mle_toolbox.job.metrics import MetricLogger
from mle_toolbox.job.trackers import MissingExtra
from mle_toolbox.results.meta_log import AttrDict, Log, MetaLog
from mle_toolbox.utils import (
    combine_experiments,
    load_experiment_config,
    load_hyper_log,
    load_result_logs,
)
from tests.conftest import write

GRID = [(0.1, 8), (0.1, 16), (0.2, 8), (0.2, 16)]
RUN_IDS = [f"b_1_eval_{i}" for i in range(len(GRID))]
SEEDS = (0, 1)
EPOCHS = 3


def _loss(run: int, seed: int, epoch: int) -> float:
    # multiples of 1/8: exact in float32 (mle-logging's dtype) and in our JSON
    return (run + 1) + 0.5 * seed - 0.25 * epoch


def _upstream_seed_groups(group: Any, run: int, seed: int, run_dir: Path) -> None:
    """One seed's groups as mle-logging's MLELogger.save() lays them out."""
    meta = {"model_ckpt": str(run_dir / "models/final/final_seed_{seed}.pkl"),
            "log_paths": str(run_dir / f"logs/log_seed_{seed}.hdf5"),
            "experiment_dir": str(run_dir), "config_fname": str(run_dir / "config.json"),
            "eval_id": run_dir.name, "model_type": "jax"}
    for name, text in meta.items():
        group.create_dataset(f"meta/{name}", data=[text.encode()])
    group.create_dataset("time/time", data=[b"21-06-01/12:00"] * EPOCHS)
    group.create_dataset("time/num_epochs", data=np.arange(1, EPOCHS + 1, dtype="float32"))
    group.create_dataset("time/time_elapsed", data=np.arange(EPOCHS, dtype="float32") * 0.1)
    train = np.array([_loss(run, seed, e) for e in range(EPOCHS)], dtype="float32")
    group.create_dataset("stats/train_loss", data=train)
    group.create_dataset("stats/test_loss", data=train * 2)


def upstream_experiment(root: Path) -> Path:
    """An mle-toolbox 0.3.x grid-search folder: per-seed logs, meta_log.hdf5, hyper_log.pkl."""
    hyper = {}
    root.mkdir(parents=True, exist_ok=True)
    with h5py.File(root / "meta_log.hdf5", "w") as meta_log:
        for run, (lrate, batch) in enumerate(GRID):
            run_dir = root / f"21-06-01_{RUN_IDS[run]}"
            (run_dir / "logs").mkdir(parents=True)
            for seed in SEEDS:
                with h5py.File(run_dir / "logs" / f"log_seed_{seed}.hdf5", "w") as log:
                    _upstream_seed_groups(log.create_group(f"seed_{seed}"), run, seed, run_dir)
                _upstream_seed_groups(meta_log.create_group(f"{RUN_IDS[run]}/seed_{seed}"),
                                      run, seed, run_dir)
            hyper[run] = {"params": {"lrate": lrate, "batch": batch}, "run_id": RUN_IDS[run],
                          "log_fname": str(run_dir / "logs"),
                          "train_loss": float(np.mean([_loss(run, s, EPOCHS - 1)
                                                       for s in SEEDS])),
                          "test_loss": float(np.mean([2 * _loss(run, s, EPOCHS - 1)
                                                      for s in SEEDS]))}
    (root / "hyper_log.pkl").write_bytes(pickle.dumps(hyper))
    return root


def our_experiment(root: Path) -> Path:
    """The same results as an experiment folder of ours (plan.json, JSON-lines logs)."""
    runs = []
    for run, (lrate, batch) in enumerate(GRID):
        runs.append({"run_id": RUN_IDS[run], "params": {"lrate": lrate, "batch": batch}})
        for seed in SEEDS:
            log = MetricLogger(root / RUN_IDS[run] / "logs" / f"seed_{seed}.jsonl")
            for epoch in range(EPOCHS):
                loss = _loss(run, seed, epoch)
                log.update({"num_epochs": epoch + 1},
                           {"train_loss": loss, "test_loss": 2 * loss}, save=True)
            log.close()
    write(root / "plan.json", json.dumps({"runs": runs}))
    return root


def notebook(exp_dir: str) -> dict[str, Any]:
    """Analysis code as it stands in an mle-toolbox notebook (only the import changed)."""
    meta_log, hyper_log = load_result_logs(exp_dir)
    out: dict[str, Any] = {"eval_ids": sorted(meta_log.eval_ids),
                           "stats_vars": sorted(meta_log.stats_vars),
                           "search_vars": sorted(hyper_log.search_vars)}
    for run_id in meta_log.eval_ids:
        loss = meta_log[run_id].stats.train_loss
        out[run_id] = {k: np.asarray(loss[k]).tolist() for k in
                       ("mean", "std", "p10", "p25", "p50", "p75", "p90")}
        out[run_id]["seeds"] = list(meta_log[run_id].meta.seeds)
        out[run_id]["attr"] = getattr(meta_log, run_id).stats.test_loss.mean.tolist()
    per_seed = load_meta_log(os.path.join(exp_dir, "meta_log.hdf5"), aggregate_seeds=False)
    out["seed_1"] = per_seed.b_1_eval_2.seed_1.stats.test_loss.tolist()
    best = hyper_log.filter(metric_name="train_loss", top_k=2, maximize_metric=False)
    out["top_2"] = best.run_id
    closest = hyper_log.filter(param_dict={"lrate": 0.19, "batch": 15})
    out["closest"] = closest.run_id
    from mle_toolbox.visualize import visualize_2D_grid

    out["heat"] = visualize_2D_grid(hyper_log, params_to_plot=["lrate", "batch"],
                                    target_to_plot="train_loss", return_array=True).tolist()
    return out


def test_the_same_notebook_reads_mle_loggings_hdf5_and_our_folders_to_the_same_numbers(
    tmp_path: Path,
) -> None:
    upstream = notebook(str(upstream_experiment(tmp_path / "upstream")))
    ours = notebook(str(our_experiment(tmp_path / "ours")))
    assert upstream == ours
    assert ours["eval_ids"] == RUN_IDS
    assert ours["stats_vars"] == ["test_loss", "train_loss"]
    assert ours["search_vars"] == ["batch", "lrate"]
    # run 0: seeds 0 and 1 start at 1.0 and 1.5, go down by 0.25 per epoch
    assert ours["b_1_eval_0"]["mean"] == [1.25, 1.0, 0.75]
    assert ours["b_1_eval_0"]["std"] == [0.25, 0.25, 0.25]
    assert ours["b_1_eval_0"]["p50"] == [1.25, 1.0, 0.75]
    assert ours["b_1_eval_0"]["seeds"] == [0, 1]
    assert ours["seed_1"] == [7.0, 6.5, 6.0]
    assert ours["top_2"] == ["b_1_eval_0", "b_1_eval_1"]
    assert ours["closest"] == ["b_1_eval_3"]
    # lrate on x, batch on y, the smallest batch in the bottom row
    assert ours["heat"] == [[1.75, 3.75], [0.75, 2.75]]


def test_load_log_of_an_upstream_run_folder_and_file_has_upstream_paths(tmp_path: Path) -> None:
    exp = upstream_experiment(tmp_path)
    run_dir = exp / "21-06-01_b_1_eval_1"
    log = load_log(str(run_dir))  # both seeds' log_seed_*.hdf5
    assert log.eval_ids == ["seed_0", "seed_1"]
    np.testing.assert_array_equal(log.seed_1.stats.train_loss, [2.5, 2.25, 2.0])
    assert log.seed_0.meta.eval_id[0] == b"21-06-01_b_1_eval_1"  # raw, as h5py gives it
    assert log.time_vars == ["num_epochs", "time", "time_elapsed"]
    single = load_log(str(run_dir / "logs" / "log_seed_0.hdf5"))
    np.testing.assert_array_equal(single.stats.test_loss, [4.0, 3.5, 3.0])  # shallow
    agg = load_log(str(run_dir), aggregate_seeds=True)
    np.testing.assert_array_equal(agg.stats.train_loss.mean, [2.25, 2.0, 1.75])
    np.testing.assert_allclose(agg.time.time_elapsed.mean, [0.0, 0.1, 0.2], rtol=1e-6)
    assert agg.meta.eval_id == "21-06-01_b_1_eval_1" and agg.meta.seeds == [0, 1]


def test_load_log_of_mle_toolbox_paths_into_a_run_of_ours_reads_the_run(
        tmp_path: Path) -> None:
    """A notebook's ``<run>/logs/log.hdf5`` and ``log_seed_<s>.hdf5``: the same numbers
    as mle-logging's files of the same run give (the test above)."""
    upstream = upstream_experiment(tmp_path / "upstream") / "21-06-01_b_1_eval_1"
    ours = our_experiment(tmp_path / "ours") / "b_1_eval_1"
    merged = load_log(str(ours / "logs" / "log.hdf5"))
    assert merged.eval_ids == ["seed_0", "seed_1"]
    np.testing.assert_array_equal(merged.seed_1.stats.train_loss,
                                  load_log(upstream).seed_1.stats.train_loss)
    agg = load_log(ours / "logs" / "log.hdf5", aggregate_seeds=True)
    np.testing.assert_array_equal(agg.stats.train_loss.mean, [2.25, 2.0, 1.75])
    single = load_log(ours / "logs" / "log_seed_0.hdf5")
    np.testing.assert_array_equal(single.stats.test_loss, [4.0, 3.5, 3.0])  # shallow
    with pytest.raises(FileNotFoundError, match=r"log_seed_7\.hdf5: the run .*b_1_eval_1 "
                       r"has no seed 7 \(seeds: 0, 1\)"):
        load_log(ours / "logs" / "log_seed_7.hdf5")
    with pytest.raises(FileNotFoundError, match=r"elsewhere/logs/log\.hdf5: no such \.hdf5"):
        load_log(tmp_path / "elsewhere" / "logs" / "log.hdf5")
    with pytest.raises(FileNotFoundError, match=r"logs/1\.hdf5: no such \.hdf5"):
        load_log(ours / "logs" / "1.hdf5")  # not one of mle-logging's names: not mapped


def test_meta_log_filter_plot_and_shallow_single_run(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    meta_log = load_meta_log(str(upstream_experiment(tmp_path) / "meta_log.hdf5"))
    sub = meta_log.filter(["b_1_eval_1", "b_1_eval_3"])
    assert sub.eval_ids == ["b_1_eval_1", "b_1_eval_3"] and sub.num_configs == 2
    with pytest.raises(KeyError, match="no run 'nope'; have: b_1_eval_0"):
        meta_log.filter(["nope"])
    _fig, ax = sub.plot("train_loss", "num_epochs")
    assert [line.get_label() for line in ax.get_lines()] == ["b_1_eval_1", "b_1_eval_3"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [4.25, 4.0, 3.75])
    one = meta_log.filter(["b_1_eval_2"])
    np.testing.assert_array_equal(one.stats.train_loss.mean, [3.25, 3.0, 2.75])


def test_merge_seed_logs_and_merge_config_logs_on_upstream_files(tmp_path: Path) -> None:
    exp = upstream_experiment(tmp_path)
    (exp / "meta_log.hdf5").unlink()
    for run_id in RUN_IDS:
        run_dir = exp / f"21-06-01_{run_id}"
        merged = merge_seed_logs(run_dir / "logs" / f"{run_id}.hdf5", str(run_dir), num_logs=2)
        assert merged == run_dir / "logs" / f"{run_id}.hdf5"
        assert sorted(p.name for p in (run_dir / "logs").iterdir()) == [f"{run_id}.hdf5"]
    assert merge_config_logs(str(exp), RUN_IDS) == exp / "meta_log.hdf5"
    with h5py.File(exp / "meta_log.hdf5") as handle:
        assert sorted(handle) == RUN_IDS
        assert sorted(handle["b_1_eval_0"]) == ["seed_0", "seed_1"]
    agg = load_meta_log(str(exp / "meta_log.hdf5"))
    np.testing.assert_array_equal(agg.b_1_eval_3.stats.test_loss.mean, [8.5, 8.0, 7.5])


def test_merge_helpers_leave_our_folders_alone_and_count_upstream_logs(tmp_path: Path) -> None:
    ours = our_experiment(tmp_path / "ours")
    before = sorted(p.relative_to(ours) for p in ours.rglob("*"))
    assert merge_seed_logs(ours / RUN_IDS[0] / "logs" / "log.hdf5", ours / RUN_IDS[0]) is None
    assert merge_config_logs(ours, RUN_IDS) is None
    assert sorted(p.relative_to(ours) for p in ours.rglob("*")) == before
    run_dir = upstream_experiment(tmp_path / "up") / "21-06-01_b_1_eval_0"
    with pytest.raises(FileNotFoundError, match=re.escape(
            f"{run_dir / 'logs'}: 2 .hdf5 logs, expected 3")):
        merge_seed_logs(run_dir / "logs" / "log.hdf5", run_dir, num_logs=3)


def test_reading_hdf5_without_h5py_names_the_pip_line(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    exp = upstream_experiment(tmp_path)
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(MissingExtra) as caught:
        load_meta_log(str(exp / "meta_log.hdf5"))
    assert str(caught.value) == ("reading mle-logging's .hdf5 logs needs the h5py package: "
                                 "pip install 'mle_toolbox[hdf5]' (or pip install h5py)")


def test_combine_experiments_and_hyper_log_columns(tmp_path: Path) -> None:
    upstream_experiment(tmp_path / "up")
    our_experiment(tmp_path / "ours")
    metas, hypers = combine_experiments([str(tmp_path / "up"), str(tmp_path / "ours")])
    assert list(metas) == ["up", "ours"]
    assert hypers.ours.eval_ids == hypers.up.eval_ids == RUN_IDS
    assert hypers.ours.lrate == [0.1, 0.1, 0.2, 0.2]
    assert hypers.ours.unique("batch") == [8, 16]
    assert len(load_hyper_log(tmp_path / "up" / "hyper_log.pkl")) == 4
    with pytest.raises(ValueError, match="experiment_ids: 1 ids for 2 experiment_dirs"):
        combine_experiments(["a", "b"], ["x"])


def test_load_config_and_load_experiment_config(tmp_path: Path) -> None:
    config = write(tmp_path / "c.json", '{"train_config": {"lrate": 0.1}, // comment\n'
                   '"model_config": {"w": 2}, "log_config": {"use_tboard": false}}')
    assert load_config(str(config)) == {"train_config": {"lrate": 0.1},
                                        "model_config": {"w": 2},
                                        "log_config": {"use_tboard": False}}
    assert load_config(str(config), return_dotmap=True).train_config.lrate == 0.1
    train, model, log = load_experiment_config(str(config), "exp", 3, "ckpt.pkl")
    assert train == {"lrate": 0.1, "seed_id": 3, "model_ckpt": "ckpt.pkl"}
    assert model.w == 2
    assert (log.seed_id, log.experiment_dir, log.config_fname) == ("seed_3", "exp",
                                                                   str(config))


def test_the_analysis_names_load_lazily_from_the_top_package() -> None:
    assert mle_toolbox.load_result_logs is load_result_logs
    assert mle_toolbox.MetaLog.__name__ == "MetaLog"
    with pytest.raises(AttributeError, match="module 'mle_toolbox' has no attribute 'nope'"):
        _ = mle_toolbox.nope  # type: ignore[attr-defined]


def test_visualize_functions_draw_and_save(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from mle_toolbox.visualize import (
        animate_1D_lines,
        animate_2D_grid,
        animate_2D_scatter,
        moving_smooth_ts,
        visualize_1D_bar,
        visualize_1D_lcurves,
        visualize_1D_line,
    )

    hyper = load_hyper_log(our_experiment(tmp_path / "exp") / "hyper_log.pkl")
    _, ax = visualize_1D_bar(hyper, fixed_params={"batch": 8}, param_to_plot="lrate",
                             target_to_plot="train_loss")
    assert [p.get_height() for p in ax.patches] == [0.75, 2.75]
    assert visualize_1D_line(hyper, {"lrate": 0.2}, "batch", "test_loss",
                             fname=str(tmp_path / "line.png")) is None
    assert (tmp_path / "line.png").read_bytes()[:4] == b"\x89PNG"
    meta = load_meta_log(tmp_path / "exp", aggregate_seeds=True)
    _fig, ax = visualize_1D_lcurves(meta, "num_epochs", "train_loss", smooth_window=1,
                                   plot_std_bar=True)
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3])
    mean, std = moving_smooth_ts([1.0, 3.0, 5.0], 2)
    np.testing.assert_allclose(mean, [1.0, 2.0, 4.0])
    np.testing.assert_allclose(std[1:], [np.sqrt(2), np.sqrt(2)])
    frames = np.arange(3 * 2 * 2, dtype=float).reshape(3, 2, 2)
    for name, call in [("lines.gif", lambda f: animate_1D_lines(frames[:, 0], fname=f)),
                       ("grid.gif", lambda f: animate_2D_grid(frames, fname=f)),
                       ("scatter.gif", lambda f: animate_2D_scatter(frames, fname=f))]:
        call(str(tmp_path / name))
        assert (tmp_path / name).read_bytes()[:6] == b"GIF89a"


def _seeds(finals: list[float]) -> MetaLog:
    return MetaLog({f"seed_{i}": Log(stats=AttrDict(m=np.array([9.0, v])), time=AttrDict(),
                                     meta=AttrDict()) for i, v in enumerate(finals)},
                   ids_key="seed_ids")


def test_hypothesis_tester_ztest_welch_paired_and_corrections(tmp_path: Path) -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    exp = our_experiment(tmp_path / "exp")
    per_seed = load_meta_log(exp).filter(["b_1_eval_0", "b_1_eval_1", "b_1_eval_2"])
    tester = HypothesisTester(per_seed)
    welch = tester.run_pairwise("train_loss", test="welch")
    finals = {r: [_loss(i, s, EPOCHS - 1) for s in SEEDS] for i, r in enumerate(RUN_IDS)}
    want = scipy_stats.ttest_ind(finals["b_1_eval_0"], finals["b_1_eval_2"],
                                 equal_var=False, alternative="less").pvalue
    # row n-1-i is run i (mle-toolbox's flipped layout); diagonal 1
    assert welch[2, 2] == pytest.approx(want) and welch[2, 0] == 1.0
    two = MetaLog({"a": _seeds([1.0, 2.0, 3.5]), "b": _seeds([1.5, 2.2, 4.5])})
    paired = HypothesisTester(two).run_pairwise("m", test="paired")
    assert paired[1, 1] == pytest.approx(scipy_stats.ttest_rel(
        [1.0, 2.0, 3.5], [1.5, 2.2, 4.5], alternative="less").pvalue)
    assert paired[0, 0] == pytest.approx(scipy_stats.ttest_rel(
        [1.5, 2.2, 4.5], [1.0, 2.0, 3.5], alternative="less").pvalue)
    ztest = tester.run_pairwise("train_loss")  # mean curves differ by a constant -1
    assert ztest[2, 1] == 0.0 and ztest[0, 0] == 1.0
    tester.p_vals = np.array([[0.01, 0.04, 1.0], [0.03, 1.0, 0.02], [1.0, 0.5, 0.01]])
    corrected = tester.run_corrections()
    np.testing.assert_allclose(corrected["bonferroni"][0], [0.02, 0.08, 1.0])
    np.testing.assert_allclose(corrected["holm"][0], [0.02, 0.04, 1.0])
    np.testing.assert_allclose(corrected["fdr_bh"][0], [0.02, 0.04, 1.0])
    np.testing.assert_allclose(corrected["sidak"][1], [1 - 0.97 ** 2, 1.0, 1 - 0.98 ** 2])
    aggregated = HypothesisTester(load_meta_log(exp, aggregate_seeds=True))
    with pytest.raises(ValueError, match="run b_1_eval_0: welch / paired tests need per-seed"):
        aggregated.run_pairwise("train_loss", test="welch")
