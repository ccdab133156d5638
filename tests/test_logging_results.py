"""Metrics log (append-only JSON lines), layout of attempts, summaries and the results API."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from mle_toolbox import MetricLogger, load_log, load_meta_log
from mle_toolbox.files.layout import ExperimentLayout
from mle_toolbox.job.metrics import read_rows
from mle_toolbox.results.merge import summarize_run


def test_save_appends_one_line_per_update(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "seed_0.jsonl"
    log = MetricLogger(path)
    log.update({"step": 0}, {"loss": 1.5}, save=True)
    inode = path.stat().st_ino
    log.update({"step": 1}, {"loss": 1.0})
    assert len(path.read_text().splitlines()) == 1  # buffered until saved
    log.save()
    for step in range(2, 1000):
        log.update({"step": step}, {"loss": 1.0 / step}, save=True)
    lines = path.read_text().splitlines()
    assert len(lines) == 1000
    assert json.loads(lines[0]) == {"time": {"step": 0}, "stats": {"loss": 1.5}}
    assert json.loads(lines[-1])["time"] == {"step": 999}
    assert path.stat().st_ino == inode  # appended in place, never rewritten or replaced
    log.close()


def test_nan_inf_and_numpy_values_are_stored_as_json(tmp_path: Path) -> None:
    path = tmp_path / "seed_0.jsonl"
    log = MetricLogger(path)
    log.update({"step": np.int64(3)}, {"nan": float("nan"), "inf": np.float32("inf"),
                                       "arr": np.arange(3), "x": np.float64(0.5)}, save=True)
    row = json.loads(path.read_text())
    assert row == {"time": {"step": 3}, "stats": {"nan": None, "inf": None, "arr": [0, 1, 2],
                                                  "x": 0.5}}


def test_torn_last_line_is_skipped_and_the_next_writer_starts_a_new_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "seed_0.jsonl"
    path.write_text('{"time": {"step": 0}, "stats": {"loss": 1}}\n{"time": {"st')
    assert [r["time"]["step"] for r in read_rows(path)] == [0]
    log = MetricLogger(path)
    log.update({"step": 1}, {"loss": 0.5}, save=True)
    log.close()
    assert [r["time"]["step"] for r in read_rows(path)] == [0, 1]
    path.write_text(path.read_text() + "garbage line\n")
    assert len(list(read_rows(path))) == 2  # an invalid complete line is skipped too


def _write_run(run_dir: Path, series: dict[int, list[float]]) -> None:
    for seed, values in series.items():
        log = MetricLogger(run_dir / "logs" / f"seed_{seed}.jsonl")
        for step, value in enumerate(values):
            log.update({"step": step}, {"loss": value, "acc": -value}, save=True)
        log.close()


def test_summary_has_final_and_best_with_mean_and_std_over_seeds(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _write_run(run, {0: [3.0, 1.0, 2.0], 1: [5.0, 4.0, 4.0]})
    summary = summarize_run(run, maximize=["acc"])
    loss = summary["metrics"]["loss"]
    assert loss["final"] == {"mean": 3.0, "std": 1.0, "per_seed": {"0": 2.0, "1": 4.0}}
    assert loss["best"] == {"mean": 2.5, "std": 1.5, "per_seed": {"0": 1.0, "1": 4.0}}
    assert summary["metrics"]["acc"]["best"]["per_seed"] == {"0": -1.0, "1": -4.0}
    assert summary["seeds"] == [0, 1]


def test_load_log_gives_numpy_series_per_seed_and_aggregates(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _write_run(run, {0: [3.0, 1.0, 2.0], 1: [5.0, 4.0]})
    log = load_log(run)
    assert log.seed_ids == ["seed_0", "seed_1"]
    np.testing.assert_array_equal(log.seed_0.stats.loss, [3.0, 1.0, 2.0])
    np.testing.assert_array_equal(log.seed_1.time.step, [0, 1])
    agg = load_log(run, aggregate_seeds=True)
    np.testing.assert_allclose(agg.stats.loss.mean, [4.0, 2.5])  # cut to the shortest seed
    np.testing.assert_allclose(agg.stats.loss.std, [1.0, 1.5])
    np.testing.assert_array_equal(agg.time.step, [0, 1])
    with pytest.raises(FileNotFoundError, match="no metrics logs"):
        load_log(tmp_path)


def test_load_meta_log_reads_every_run_of_the_plan(tmp_path: Path) -> None:
    layout = ExperimentLayout(tmp_path)
    layout.plan.write_text(json.dumps({"runs": [{"run_id": "a"}, {"run_id": "b"}]}))
    _write_run(layout.run_dir("a"), {0: [1.0, 0.5]})
    _write_run(layout.run_dir("b"), {0: [2.0], 1: [4.0]})
    meta = load_meta_log(tmp_path)
    assert meta.eval_ids == ["a", "b"]
    assert math.isclose(meta.b.seed_1.stats.loss[0], 4.0)
    assert load_meta_log(tmp_path, aggregate_seeds=True).b.stats.loss.mean[0] == 3.0
    with pytest.raises(FileNotFoundError, match=r"no plan\.json"):
        load_meta_log(tmp_path / "a")


def test_archive_attempt_moves_files_into_numbered_folders(tmp_path: Path) -> None:
    job = ExperimentLayout(tmp_path).job("run", 2)
    assert job.archive_attempt() is None
    for attempt in (1, 2):
        job.job_dir.mkdir(parents=True, exist_ok=True)
        job.stderr.write_text(f"attempt {attempt}")
        job.exit_code.write_text("1\n")
        assert job.archive_attempt() == job.attempts_dir / str(attempt)
        assert not job.stderr.exists()
    assert (job.attempts_dir / "1" / "stderr.log").read_text() == "attempt 1"
    assert (job.attempts_dir / "2" / "exit_code").read_text() == "1\n"
    assert job.metrics_log == tmp_path / "run" / "logs" / "seed_2.jsonl"
