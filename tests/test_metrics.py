"""MetricLogger: append-only JSON lines, O(1) saves, NaN as null, torn lines survived."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mle_toolbox.files.atomic import dumps_json, write_json_atomic
from mle_toolbox.job import metrics
from mle_toolbox.job.metrics import MetricLogger, read_rows


def _lines(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_save_true_writes_one_json_line_per_update(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "logs" / "seed_0.jsonl"
    log = MetricLogger(path)
    assert not path.exists()  # nothing opened before the first save
    log.update({"step": 0, "epoch": 1}, {"loss": 0.5}, save=True)
    assert path.read_text() == '{"time": {"step": 0, "epoch": 1}, "stats": {"loss": 0.5}}\n'
    log.update({"step": 1}, {"loss": 0.25, "acc": 1}, save=True)
    assert _lines(path) == [{"time": {"step": 0, "epoch": 1}, "stats": {"loss": 0.5}},
                            {"time": {"step": 1}, "stats": {"loss": 0.25, "acc": 1}}]
    assert log.updates == 2
    log.close()


def test_buffered_rows_are_written_on_save_and_on_close(tmp_path: Path) -> None:
    path = tmp_path / "seed_0.jsonl"
    log = MetricLogger(path)
    for step in range(3):
        log.update({"step": step}, {"x": step})
    assert not path.exists()
    log.save()
    assert [r["time"]["step"] for r in _lines(path)] == [0, 1, 2]
    log.save()  # nothing buffered: nothing written
    assert len(_lines(path)) == 3
    log.update({"step": 3}, {"x": 3})
    log.close()
    assert [r["stats"]["x"] for r in _lines(path)] == [0, 1, 2, 3]
    log.update({"step": 4}, {"x": 4}, save=True)  # a closed logger opens again and appends
    log.close()
    assert [r["stats"]["x"] for r in read_rows(path)] == [0, 1, 2, 3, 4]


def test_a_row_keeps_the_values_of_the_moment_it_was_logged(tmp_path: Path) -> None:
    path = tmp_path / "seed_0.jsonl"
    log = MetricLogger(path)
    stats = {"hist": [1, 2]}
    log.update({"step": 0}, stats, model=object(), plot_fig=None, extra_obj={"a": 1})
    stats["hist"].append(3)
    log.close()
    assert _lines(path) == [{"time": {"step": 0}, "stats": {"hist": [1, 2]}}]


def test_nan_and_inf_are_stored_as_null(tmp_path: Path) -> None:
    path = tmp_path / "seed_0.jsonl"
    log = MetricLogger(path)
    log.update({"t": float("inf")}, {"nan": float("nan"), "ninf": -math.inf, "ok": 1.5,
                                     "nested": {"l": [1.0, float("nan")], "t": (math.inf,)},
                                     "np": np.float64("nan"), "np32": np.float32("-inf"),
                                     "arr": np.array([1.0, np.nan, np.inf])}, save=True)
    log.close()
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"time": {"t": None}, "stats": {
        "nan": None, "ninf": None, "ok": 1.5, "nested": {"l": [1.0, None], "t": [None]},
        "np": None, "np32": None, "arr": [1.0, None, None]}}


def test_numpy_scalars_and_arrays_are_serialised(tmp_path: Path) -> None:
    path = tmp_path / "seed_0.jsonl"
    log = MetricLogger(path)
    log.update({"step": np.int64(7), "flag": np.bool_(True)},
               {"f32": np.float32(0.25), "f64": np.float64(0.1), "i8": np.int8(-3),
                "vec": np.arange(3), "mat": np.eye(2), "zero_d": np.array(2.5),
                "where": Path("a/b")}, save=True)
    log.close()
    assert _lines(path) == [{"time": {"step": 7, "flag": True}, "stats": {
        "f32": 0.25, "f64": 0.1, "i8": -3, "vec": [0, 1, 2], "mat": [[1.0, 0.0], [0.0, 1.0]],
        "zero_d": 2.5, "where": "a/b"}}]


def test_a_value_json_cannot_hold_is_refused_with_its_type(tmp_path: Path) -> None:
    log = MetricLogger(tmp_path / "seed_0.jsonl")
    with pytest.raises(TypeError, match=re.escape("cannot store set in a JSON log: {1}")):
        log.update({"step": 0}, {"bad": {1}})
    assert log.updates == 0


def test_readers_skip_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "seed_0.jsonl"
    log = MetricLogger(path)
    for step in range(3):
        log.update({"step": step}, {"loss": 1.0}, save=True)
    log.close()
    with open(path, "a") as handle:  # a crash in the middle of a write
        handle.write('{"time": {"step": 3}, "stats": {"lo')
    assert [r["time"]["step"] for r in read_rows(path)] == [0, 1, 2]
    # even a torn line that happens to parse is not trusted without its newline
    path.write_text('{"time": {"step": 0}, "stats": {}}\n{"time": {"step": 1}, "stats": {}}')
    assert [r["time"]["step"] for r in read_rows(path)] == [0]


def test_a_new_logger_after_a_torn_line_writes_valid_lines(tmp_path: Path) -> None:
    path = tmp_path / "seed_0.jsonl"
    path.write_text('{"time": {"step": 0}, "stats": {"loss": 1}}\n{"time": {"step": 1}, "st')
    log = MetricLogger(path)
    log.update({"step": 1}, {"loss": 0.5}, save=True)
    log.update({"step": 2}, {"loss": 0.25}, save=True)
    log.close()
    lines = path.read_text().splitlines()
    assert lines[1] == '{"time": {"step": 1}, "st'  # the fragment stays, on its own line
    assert [json.loads(line) for line in lines[2:]] == [
        {"time": {"step": 1}, "stats": {"loss": 0.5}},
        {"time": {"step": 2}, "stats": {"loss": 0.25}}]
    assert [(r["time"]["step"], r["stats"]["loss"]) for r in read_rows(path)] == [
        (0, 1), (1, 0.5), (2, 0.25)]


def test_a_line_torn_inside_a_utf8_character_is_survived(tmp_path: Path) -> None:
    path = tmp_path / "seed_0.jsonl"
    path.write_bytes(b'{"time": {}, "stats": {"a": 1}}\n{"stats": {"name": "caf\xc3')
    log = MetricLogger(path)
    log.update({"step": 1}, {"a": 2}, save=True)
    log.close()
    assert [r["stats"]["a"] for r in read_rows(path)] == [1, 2]


def test_appending_to_a_complete_log_adds_no_blank_line(tmp_path: Path) -> None:
    path = tmp_path / "seed_0.jsonl"
    for step in range(2):  # two runs of a script, one logger each
        log = MetricLogger(path)
        log.update({"step": step}, {}, save=True)
        log.close()
    assert path.read_text() == ('{"time": {"step": 0}, "stats": {}}\n'
                                '{"time": {"step": 1}, "stats": {}}\n')


def test_readers_skip_lines_that_are_not_json_objects(tmp_path: Path) -> None:
    path = tmp_path / "seed_0.jsonl"
    path.write_text('{"time": {"step": 0}, "stats": {}}\n\n[1, 2]\n3\nnot json\n'
                    '{"time": {"step": 1}, "stats": {}}\n')
    assert [r["time"]["step"] for r in read_rows(path)] == [0, 1]


def test_save_is_an_append_of_the_new_rows_only(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    written: list[int] = []
    real_open = open

    def spy_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        opened.append(mode)
        handle = real_open(file, mode, *args, **kwargs)
        real_write = handle.write

        def write(text: str) -> int:
            written.append(len(text))
            return int(real_write(text))

        handle.write = write
        return handle

    monkeypatch.setattr(metrics, "open", spy_open, raising=False)
    path = tmp_path / "seed_0.jsonl"
    log = MetricLogger(path)
    log.update({"step": 0}, {"loss": 1.0}, save=True)
    inode, first = path.stat().st_ino, path.read_bytes()
    for step in range(1, 1000):
        log.update({"step": step}, {"loss": 1.0 / step}, save=True)
        if step == 500:
            assert path.read_bytes().startswith(first)  # earlier bytes never rewritten
    log.close()
    # one open, for appending, for all 1,000 saves; the file is never reread
    assert len(opened) == 1 and opened[0].startswith("a")
    assert len(written) == 1000  # one append per save ...
    assert max(written) < 80  # ... of that row only, not of the file so far
    assert sum(written) == path.stat().st_size
    assert path.stat().st_ino == inode  # never replaced by a new file
    lines = path.read_text().splitlines()
    assert len(lines) == 1000
    assert [json.loads(line)["time"]["step"] for line in lines] == list(range(1000))


def test_verbose_logger_prints_every_k_updates(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    log = MetricLogger(tmp_path / "seed_0.jsonl", print_every_k_updates=2, verbose=True)
    for step in range(5):
        log.update({"step": step}, {"loss": step / 10})
    assert capsys.readouterr().out == ("update 2: {'step': 1} {'loss': 0.1}\n"
                                       "update 4: {'step': 3} {'loss': 0.3}\n")
    quiet = MetricLogger(tmp_path / "seed_1.jsonl", print_every_k_updates=1)
    quiet.update({"step": 0}, {})
    assert capsys.readouterr().out == ""


def test_dumps_json_is_strict_json_and_atomic_files_are_readable(tmp_path: Path) -> None:
    assert dumps_json({"a": float("nan"), "b": [np.float32(1.5)]}) == '{"a": null, "b": [1.5]}'
    target = tmp_path / "out" / "x.json"
    write_json_atomic(target, {"v": math.inf, "w": 1})
    assert json.loads(target.read_text()) == {"v": None, "w": 1}
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]  # no temp file left
