"""Planning scales linearly (issue 18): each super-linear step found is guarded here by
counting operations (calls, comparisons, path joins), never by timing.
"""

from __future__ import annotations

import dataclasses
import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any

import pytest

import mle_toolbox.config.expand as expand_module
import mle_toolbox.config.meta as meta_module
import mle_toolbox.config.source as source_module
import mle_toolbox.config.source_json as source_json_module
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


@pytest.mark.parametrize("configs", [40, 200])
def test_each_config_file_costs_at_most_one_stat_one_open_and_one_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configs: int) -> None:
    # A sweep of 20,000 config files: every extra system call per file showed up as
    # tenths of a second (issue 18); the duplicate-key walk runs only for a duplicate.
    # From LISTING_FROM files in one folder on, one listing of it replaces their stats.
    import mle_toolbox.config.paths as paths_module

    counts = {name: _Calls() for name in ("stat", "scandir", "open", "read", "walk")}
    monkeypatch.setattr(paths_module.os, "stat", counts["stat"].wrap(os.stat))
    monkeypatch.setattr(paths_module.os, "scandir", counts["scandir"].wrap(os.scandir))
    monkeypatch.setattr(source_module.os, "open", counts["open"].wrap(os.open))
    monkeypatch.setattr(source_module.os, "read", counts["read"].wrap(os.read))
    monkeypatch.setattr(source_json_module, "_checked_json",
                        counts["walk"].wrap(source_json_module._checked_json))
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "train.py", "")
    for index in range(configs):
        write(tmp_path / "cfgs" / f"c{index}.json", f'{{"train_config": {{"lrate": {index}}}}}')
    write(tmp_path / "cfgs" / "other.txt", "")
    names = ", ".join(f"cfgs/c{index}.json" for index in range(configs))
    meta_file = write(tmp_path / "meta.yaml", META.format(names=names, seeds=1))
    before = {name: calls.count for name, calls in counts.items()}
    plan = expand(meta := load_meta(meta_file), configs=load_configs(meta.config_files))
    used = {name: calls.count - before[name] for name, calls in counts.items()}
    assert len(plan.runs) == configs
    # The meta YAML and train.py add a few calls; per config one open and one read, and
    # one stat each unless their folder was listed.
    listed = configs >= paths_module.LISTING_FROM
    assert used["scandir"] == (1 if listed else 0)
    assert used["stat"] <= 5 if listed else configs <= used["stat"] <= configs + 5
    assert configs <= used["open"] <= configs + 3 and used["walk"] == 0
    assert configs <= used["read"] <= configs + 3


def test_a_listed_folder_finds_what_a_stat_finds(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # A symlink to a file is a file (stat follows it); a folder, a dangling symlink and a
    # missing name are refused as a stat would have them refused, with the same messages.
    from mle_toolbox.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    write(tmp_path / "train.py", "")
    for index in range(70):
        write(tmp_path / "cfgs" / f"c{index}.json", '{"train_config": {}}')
    (tmp_path / "cfgs" / "link.json").symlink_to(tmp_path / "cfgs" / "c0.json")
    (tmp_path / "cfgs" / "dir.json").mkdir()
    (tmp_path / "cfgs" / "dangling.json").symlink_to(tmp_path / "nowhere.json")
    good = [f"cfgs/c{index}.json" for index in range(1, 70)] + ["cfgs/link.json"]
    meta = load_meta(write(tmp_path / "meta.yaml", META.format(names=", ".join(good),
                                                               seeds=1)))
    assert meta.config_files[-1] == tmp_path / "cfgs" / "link.json"
    assert len(meta.config_files) == 70
    # (the dangling link is named by its target: messages show resolved names)
    for bad, shown, problem in (("dir.json", "cfgs/dir.json", "is not a file"),
                                ("dangling.json", "nowhere.json", "does not exist"),
                                ("none.json", "cfgs/none.json", "does not exist")):
        messages = []
        for names in ([*good, f"cfgs/{bad}"], [good[0], f"cfgs/{bad}"]):  # listed, stat'ed
            meta_file = write(tmp_path / "bad.yaml", META.format(names=", ".join(names),
                                                                 seeds=1))
            with pytest.raises(ConfigError) as caught:
                load_meta(meta_file)
            messages.append(str(caught.value))
        assert messages == [
            f"bad.yaml:6: multi_config_args.config_fnames[{index}]: config file "
            f"'{shown}' {problem}" for index in (70, 1)]


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
    '{"train_config": {"a": 1}}\n',
    '{"train_config": {"a": 1}} \r\n\t',
    '\n {"train_config": {"a": 1}}',
    '{"train_config": {"a": 1}}\x0c',
    '{"train_config": {"a": 1}} x',
    '{"train_config": {}} {"model_config": {}}',
    '{"train_config": {"url": "http://x:1", "url": 2}}',
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


# Per-config costs that came back would not show in a test's timing; these count them.

@pytest.mark.parametrize("name", [
    "/a/b/c.json", "/a", "/", "//a", "///a", "/a//b", "/a/./b", "/a/../b", "/a/b/", "/a/.",
    "/a/..", "/.hidden/x", "/a/..json", "/a/b/c.tar.gz", "/x\0y", "/\u00e9/\u00fc.json",
    "a/b", "", ".", "./a",
])
def test_known_path_is_the_path_pathlib_builds(name: str) -> None:
    from mle_toolbox.config.paths import known_path

    built, parsed = known_path(name), Path(name)
    assert type(built) is type(parsed)
    assert (built.parts, str(built), repr(built)) == (parsed.parts, str(parsed), repr(parsed))
    assert built == parsed and hash(built) == hash(parsed) and {built: 1}[parsed] == 1
    assert (built.name, built.stem, built.suffix) == (parsed.name, parsed.stem, parsed.suffix)
    assert built.parent == parsed.parent and built / "x" == parsed / "x"
    assert (built < Path("/m")) == (parsed < Path("/m"))
    assert built.is_absolute() == parsed.is_absolute()


def _parses(monkeypatch: pytest.MonkeyPatch) -> _Calls:
    """Counts pathlib's parsing of a path from text (Python < 3.12)."""
    calls = _Calls()
    real = PurePath.__dict__["_parse_args"]
    monkeypatch.setattr(PurePath, "_parse_args", classmethod(calls.wrap(real.__func__)))
    return calls


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="pathlib parses paths lazily from "
                    "3.12 on; known_path is Path(name) there")
def test_config_files_cost_no_path_parsing_each(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 20,000 config files: pathlib's parsing of each path was a quarter of planning.
    counts, plans = [], []
    for count in (100, 200):
        root = tmp_path / str(count)
        write(root / "train.py", "")
        for index in range(count):
            write(root / "cfgs" / f"c{index}.json", f'{{"train_config": {{"a": {index}}}}}')
        meta_file = write(root / "meta.yaml", META.format(
            names=", ".join(f"cfgs/c{index}.json" for index in range(count)), seeds=1))
        with monkeypatch.context() as patch:
            parses = _parses(patch)
            meta = load_meta(meta_file)
            plans.append(expand(meta, configs=load_configs(meta.config_files)))
        counts.append(parses.count)
    assert [len(plan.runs) for plan in plans] == [100, 200]
    assert counts[0] == counts[1] <= 10  # the same for 100 and for 200 files
    assert [run.source for run in plans[1].runs] == [
        tmp_path / "200" / "cfgs" / f"c{index}.json" for index in range(200)]


BLOCK_META = """\
meta_job_args:
  experiment_type: multiple-configs
  base_train_fname: train.py
  experiment_dir: out
multi_config_args:
  num_seeds: 1
  config_fnames:
{items}
"""


def test_list_items_have_no_line_entry_but_an_error_still_names_the_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mle_toolbox.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    write(tmp_path / "train.py", "")
    sources: list[source_module.Source] = []
    real_load = source_module.load_yaml

    def load(path: Path, *, what: str) -> tuple[Any, source_module.Source]:
        data, src = real_load(path, what=what)
        sources.append(src)
        return data, src

    monkeypatch.setattr(meta_module, "load_yaml", load)
    for count in (50, 100):
        for index in range(count):
            write(tmp_path / f"c{index}.json", '{"train_config": {}}')
        items = "\n".join(f"    - c{index}.json" for index in range(count))
        load_meta(write(tmp_path / f"m{count}.yaml", BLOCK_META.format(items=items)))
    # Key lines of the mappings only: the same for 50 and for 100 list items.
    assert len(sources[0].lines) == len(sources[1].lines) <= 12
    items = "\n".join(f"    - c{index}.json" for index in range(60)).replace(
        "c57.json", "missing.json")
    with pytest.raises(ConfigError) as caught:
        load_meta(write(tmp_path / "bad.yaml", BLOCK_META.format(items=items)))
    # Item 57 is on line 8 + 57 of the file.
    assert str(caught.value) == ("bad.yaml:65: multi_config_args.config_fnames[57]: "
                                 "config file 'missing.json' does not exist")


@pytest.mark.parametrize("text", [
    "a: [x, 'y', 3, null, [p, q], {k: v}]\nb:\n  - one\n  - k: 1\n    j: [2, 3]\n  - &r r\n"
    "  - *r\n",
    "- [a, b]\n- - c\n  - d\n- e\n",
    "a: !!str 12\nb: [!!str 1, 2]\nc: [1.5, true, ~, '']\n",
])
def test_lines_and_data_of_lists_are_those_of_yaml(tmp_path: Path, text: str) -> None:
    # Lines of list items are read from the nodes only when asked; lists of plain strings
    # are built in one step. Both must agree with PyYAML's own composition.
    import yaml

    path = write(tmp_path / "doc.yaml", text)
    data, src = source_module.load_yaml(path, what="doc")
    assert data == yaml.safe_load(text)
    node = yaml.SafeLoader(text).get_single_node()
    expected: dict[tuple[str | int, ...], int] = {}
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(node, ())]
    while stack:
        item, key_path = stack.pop()
        pairs = (item.value if isinstance(item, yaml.MappingNode)
                 else enumerate(item.value) if isinstance(item, yaml.SequenceNode) else [])
        for key, child in pairs:
            # A mapping key's line is its key's; a list item's, the item's own.
            name, line = ((str(key.value), key.start_mark.line + 1)
                          if isinstance(key, yaml.Node) else (key, child.start_mark.line + 1))
            expected[(*key_path, name)] = line
            stack.append((child, (*key_path, name)))
    assert {key: src.line(key) for key in expected} == expected
    assert src.line(("nothing", 3)) is None


GRID_OVER_CONFIGS = """\
meta_job_args:
  experiment_type: hyperparameter-search
  base_train_fname: train.py
  experiment_dir: out
  base_train_config: [{names}]
param_search_args:
  search_resources: {{num_seeds_per_eval: 1}}
  search_config:
    search_type: grid
    search_params:
      integer: {{width: {{begin: 1, end: 2, bins: 2}}}}
"""


def _base_config_comparisons(root: Path, monkeypatch: pytest.MonkeyPatch, *,
                             configs: int) -> int:
    write(root / "train.py", "")
    for index in range(configs):
        write(root / f"b{index}.json", '{"train_config": {}}')
    meta_file = write(root / "meta.yaml", GRID_OVER_CONFIGS.format(
        names=", ".join(f"b{index}.json" for index in range(configs))))
    calls = _Calls()
    with monkeypatch.context() as patch:
        patch.setattr(PurePath, "__eq__", calls.wrap(PurePath.__eq__))
        meta = load_meta(meta_file)
    assert len(meta.config_files) == configs
    return calls.count


def test_a_list_of_base_configs_is_checked_for_repeats_in_linear_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each file was compared with every earlier one: 4x the comparisons at 2n.
    small = _base_config_comparisons(tmp_path / "s", monkeypatch, configs=200)
    large = _base_config_comparisons(tmp_path / "l", monkeypatch, configs=400)
    assert large <= 2 * small + 10 and large <= 50


def test_a_repeated_base_config_is_still_named(tmp_path: Path) -> None:
    from mle_toolbox.errors import ConfigError

    write(tmp_path / "train.py", "")
    for name in ("a", "b"):
        write(tmp_path / f"{name}.json", '{"train_config": {}}')
    meta_file = write(tmp_path / "meta.yaml", GRID_OVER_CONFIGS.format(
        names="a.json, b.json, ./a.json, b.json"))
    with pytest.raises(ConfigError) as caught:
        load_meta(meta_file)
    assert str(caught.value).endswith(
        "meta.yaml:5: meta_job_args.base_train_config[2]: base config './a.json' is listed "
        "twice")


@pytest.mark.parametrize("text", [
    "/a/b.json", "/a/b", "/a/.b", "/a/b.", "/a/..json", "/a/b.c.d", "/", ".", "..", "a",
    "a/b.tar.gz", "/a/.", "/a/..", "a/..", "/x/.hidden.json", "/x/a..b", "", "/x/...",
    "/x/a.b.", "cfgs/c7.json",
])
def test_run_ids_take_the_stem_pathlib_takes(text: str) -> None:
    # run_ids reads the stem from the path's text (pathlib's two properties per config
    # file showed at 20,000 files); a run id is part of every job's identity on resume.
    from mle_toolbox.config.expand import _stem

    for path in (Path(text), PurePath(text), known_path_or_path(text)):
        assert _stem(path) == path.stem


def known_path_or_path(text: str) -> Path:
    from mle_toolbox.config.paths import known_path

    return known_path(text) if text.startswith("/") else Path(text)


def test_planning_runs_without_the_cycle_collector_and_gives_it_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # A plan is tens of thousands of acyclic objects the collector walked again and
    # again while they were built; a launch (hours) must have it back.
    import gc

    import mle_toolbox.commands.run as run_module
    from mle_toolbox.cli import main

    states: list[bool] = []
    real_meta, real_configs = run_module.load_meta, run_module.load_configs

    def meta(*args: Any, **kwargs: Any) -> Any:
        states.append(gc.isenabled())
        return real_meta(*args, **kwargs)

    def configs(*args: Any, **kwargs: Any) -> Any:
        states.append(gc.isenabled())
        return real_configs(*args, **kwargs)

    monkeypatch.setattr(run_module, "load_meta", meta)
    monkeypatch.setattr(run_module, "load_configs", configs)
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "train.py", "")
    write(tmp_path / "c.json", '{"train_config": {}}')
    write(tmp_path / "meta.yaml", META.format(names="c.json", seeds=2))
    assert gc.isenabled()
    assert main(["run", "meta.yaml", "--dry-run"]) == 0
    assert "2 to run: 1 runs x 2 seeds" in capsys.readouterr().out
    assert states == [False, False] and gc.isenabled()
    write(tmp_path / "meta.yaml", META.format(names="missing.json", seeds=2))
    assert main(["run", "meta.yaml", "--dry-run"]) == 2  # and after an error too
    assert gc.isenabled()


def test_the_config_hash_encoder_is_built_once_and_writes_dumps_text() -> None:
    # json.JSONEncoder.encode builds its C encoder on every call (20,000 per sweep);
    # config_hash keeps one, checked against encode at import, else uses encode itself.
    import json

    text, encode = expand_module._TEXT, expand_module._HASH_ENCODER.encode
    if json.encoder.c_make_encoder is None:
        assert text == encode
        return
    assert text != encode
    for config in ({"b": 1, "a": {"y": [1, 2.5, None, float("nan")], "x": "\u00e9\n"}}, {},
                   {"p": Path("/x"), "t": True, "n": {"z": {}, "a": []}}):
        assert text(config) == json.dumps(
            config, sort_keys=True, separators=(",", ":"), default=str)
