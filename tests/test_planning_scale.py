"""Planning scales linearly (issue 18): each super-linear step found is guarded here by
counting operations (calls, comparisons, path joins), never by timing.
"""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any

import pytest

import mle_toolbox.config.expand as expand_module
import mle_toolbox.config.source as source_module
import mle_toolbox.launcher.prepare as prepare_module
from mle_toolbox.config.base_configs import load_configs
from mle_toolbox.config.expand import Plan, _number_leftovers, expand
from mle_toolbox.config.meta import load_meta
from mle_toolbox.files.layout import ExperimentLayout, JobLayout
from mle_toolbox.launcher.prepare import plan_document, prepare, split_done
from mle_toolbox.launcher.tasks import make_tasks
from tests.conftest import write

META = """\
meta_job_args:
  experiment_type: multiple-configs
  base_train_fname: train.py
  experiment_dir: out
multi_config_args:
  config_fnames: [{names}]
  num_seeds: {seeds}
"""


def _plan(root: Path, *, configs: int, seeds: int = 2) -> Plan:
    write(root / "train.py", "")
    for index in range(configs):
        write(root / "cfgs" / f"c{index}.json", f'{{"train_config": {{"lrate": {index}}}}}')
    names = ", ".join(f"cfgs/c{index}.json" for index in range(configs))
    meta = load_meta(write(root / "meta.yaml", META.format(names=names, seeds=seeds)))
    return expand(meta, configs=load_configs(meta.config_files))


class _Counted(str):
    """A string that counts every comparison and hash it takes part in."""

    ops = 0

    def __eq__(self, other: object) -> bool:
        _Counted.ops += 1
        return str.__eq__(self, other)

    def __hash__(self) -> int:
        _Counted.ops += 1
        return str.__hash__(self)


def _leftover_ops(count: int) -> int:
    _Counted.ops = 0
    _number_leftovers([_Counted(f"id{index}") for index in range(count)])
    return _Counted.ops


def test_numbering_leftover_ids_is_linear() -> None:
    # The quadratic version compared each id with every earlier one: 4x the work at 2n.
    small, large = _leftover_ops(2_000), _leftover_ops(4_000)
    assert large <= 2.2 * small
    assert large <= 4 * 4_000


def _numbered_as_before(ids: list[str]) -> list[str]:
    # The numbering rule (try value, value-2, value-3, ...), written the obvious way.
    out: list[str] = []
    for value in ids:
        candidate, n = value, 1
        while candidate in out:
            n += 1
            candidate = f"{value}-{n}"
        out.append(candidate)
    return out


def test_numbering_leftover_ids_is_unchanged() -> None:
    rng = random.Random(18)
    for _ in range(300):
        ids = [rng.choice(["a", "a-2", "a-3", "b", "a-2-2", "b-2"])
               for _ in range(rng.randint(1, 12))]
        assert _number_leftovers(ids) == _numbered_as_before(ids)
    assert _number_leftovers(["x", "x", "x-2", "x"]) == ["x", "x-2", "x-2-2", "x-3"]


@pytest.fixture
def resolves(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts Path.resolve and display_name calls."""
    counts = [0]
    real_resolve = Path.resolve
    real_display = source_module.display_name

    def resolve(self: Path, strict: bool = False) -> Path:
        counts[0] += 1
        return real_resolve(self, strict=strict)

    def display(path: Path) -> str:
        counts[0] += 1
        return real_display(path)

    monkeypatch.setattr(Path, "resolve", resolve)
    monkeypatch.setattr(source_module, "display_name", display)
    monkeypatch.setattr(expand_module, "display_name", display)
    yield counts


def test_no_config_path_is_resolved_unless_a_message_needs_it(
        tmp_path: Path, resolves: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    small = _plan(tmp_path / "small", configs=50)
    at_small = resolves[0]
    large = _plan(tmp_path / "large", configs=100)
    assert (len(small.runs), len(large.runs)) == (50, 100)
    # Constant work per plan, none per config file (it was four resolves per file).
    assert resolves[0] - at_small == at_small
    assert at_small <= 4


def test_an_error_still_names_the_config_file_relative_to_cwd(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "train.py", "")
    write(tmp_path / "cfgs" / "bad.json", '{"train_config": {"a": 1, "a": 2}}')
    meta = load_meta(write(tmp_path / "meta.yaml", META.format(names="cfgs/bad.json", seeds=1)))
    with pytest.raises(Exception) as caught:
        load_configs(meta.config_files)
    assert str(caught.value).startswith(f"cfgs{os.sep}bad.json")
    assert "train_config.a: duplicate key" in str(caught.value)


class _Calls:
    def __init__(self) -> None:
        self.count = 0

    def wrap(self, func: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return func(*args, **kwargs)
        return counted


def test_nothing_earlier_means_no_job_file_is_looked_at(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(tmp_path, configs=30, seeds=3)
    layout = ExperimentLayout(tmp_path / "out")
    reads, archives, stats = _Calls(), _Calls(), _Calls()
    monkeypatch.setattr(prepare_module, "read_exit_code",
                        reads.wrap(prepare_module.read_exit_code))
    monkeypatch.setattr(JobLayout, "archive_attempt", archives.wrap(JobLayout.archive_attempt))
    monkeypatch.setattr(os, "stat", stats.wrap(os.stat))
    done, todo = split_done(plan, layout=layout, previous=None)
    assert (done, todo) == ((), plan.jobs)
    assert (reads.count, stats.count) == (0, 0)
    prepared = prepare(plan, layout=layout, previous=None, meta_text="x")
    assert prepared.todo == plan.jobs and prepared.archived == 0
    assert reads.count == 0 and archives.count == 0
    assert layout.plan.is_file()


def test_an_earlier_plan_reads_only_the_exit_codes_of_unchanged_jobs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(tmp_path, configs=10, seeds=2)
    layout = ExperimentLayout(tmp_path / "out")
    written = plan_document(plan)
    previous = dataclasses.replace(written, jobs=tuple(
        dataclasses.replace(j, config_hash="changed") if index % 2 else j
        for index, j in enumerate(written.jobs)))
    finished = plan.jobs[0]
    write(layout.job(finished.run_id, finished.seed).exit_code, "0\n")
    reads = _Calls()
    monkeypatch.setattr(prepare_module, "read_exit_code",
                        reads.wrap(prepare_module.read_exit_code))
    done, todo = split_done(plan, layout=layout, previous=previous)
    assert done == (finished,) and len(todo) == len(plan.jobs) - 1
    assert reads.count == len(plan.jobs) // 2


def test_building_tasks_joins_one_path_per_job(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(tmp_path, configs=20, seeds=10)
    layout = ExperimentLayout(tmp_path / "out")
    expected = [layout.job(j.run_id, j.seed).job_dir for j in plan.jobs]
    joins = _Calls()
    monkeypatch.setattr(PurePath, "__truediv__", joins.wrap(PurePath.__truediv__))
    tasks = make_tasks(plan, layout=layout, jobs=plan.jobs)
    assert [t.job_dir for t in tasks] == expected
    # 200 jobs of 20 runs: one join per job and a few per run (it was three per job).
    assert joins.count <= len(plan.jobs) + 6 * len(plan.runs) + 2


@pytest.mark.parametrize("folder", ["/a/b", "/", "/a/b/", "a/b", ".", "/a//b", "/a/./b",
                                    "/a/..", "//a"])
def test_joining_a_config_name_agrees_with_normpath(folder: str) -> None:
    from mle_toolbox.config.paths import _joined

    for name in ["x", "x/y", "./x", "../x", "x/../y", "x//y", "x/", "", "a.b/c.json",
                 ".hidden/x", "x/..", "..", ".", "/abs/x"]:
        assert _joined(folder, name) == os.path.normpath(os.path.join(folder, name))


def test_each_config_file_costs_one_stat_one_open_and_one_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A sweep of 20,000 config files: every extra system call per file showed up as
    # tenths of a second (issue 18); the duplicate-key walk runs only for a duplicate.
    import mle_toolbox.config.paths as paths_module

    counts = {name: _Calls() for name in ("stat", "open", "read", "walk")}
    monkeypatch.setattr(paths_module.os, "stat", counts["stat"].wrap(os.stat))
    monkeypatch.setattr(source_module.os, "open", counts["open"].wrap(os.open))
    monkeypatch.setattr(source_module.os, "read", counts["read"].wrap(os.read))
    monkeypatch.setattr(source_module, "_checked_json",
                        counts["walk"].wrap(source_module._checked_json))
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "train.py", "")
    for index in range(200):
        write(tmp_path / "cfgs" / f"c{index}.json", f'{{"train_config": {{"lrate": {index}}}}}')
    names = ", ".join(f"cfgs/c{index}.json" for index in range(200))
    meta_file = write(tmp_path / "meta.yaml", META.format(names=names, seeds=1))
    before = {name: calls.count for name, calls in counts.items()}
    plan = expand(meta := load_meta(meta_file), configs=load_configs(meta.config_files))
    used = {name: calls.count - before[name] for name, calls in counts.items()}
    assert len(plan.runs) == 200
    # The meta YAML and train.py add a few calls; per config exactly one of each.
    assert 200 <= used["stat"] <= 205 and 200 <= used["open"] <= 203
    assert 200 <= used["read"] <= 203 and used["walk"] == 0


@pytest.mark.parametrize("text", [
    '{"train_config": {"lrate": 0.1}, "model_config": {"layers": [1, 2]}}',
    '{"train_config": {"name": "caf\\u00e9 \u00e9t\u00e9", "nested": {"a": {"b": null}}}}',
    '// a comment\n{"train_config": {"lrate": 0.1}}',
    '{"train_config": {"a": 1, "a": 2}}',
    '{"train_config": [1, 2]}',
    '[1, 2]',
    'null',
    '{"train_config": {"lrate": }',
    '\ufeff{"train_config": {}}',
    '',
])
def test_the_quick_json_path_reads_as_the_general_one(tmp_path: Path, text: str) -> None:
    # load_configs reads plain JSON without the per-file bookkeeping; whatever it cannot
    # take goes through load_config_file, so data and messages are the same either way.
    from mle_toolbox.config.base_configs import load_config_file
    from mle_toolbox.errors import ConfigError

    path = tmp_path / "c.json"
    path.write_text(text, encoding="utf-8")
    try:
        expected: object = load_config_file(path)
    except ConfigError as err:
        expected = str(err)
    try:
        got: object = load_configs((path,))[path]
    except ConfigError as err:
        got = str(err)
    assert got == expected
