"""Expansion: configs x seeds, grids, random search; pure, deterministic, unique ids."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mle_toolbox.config.base_configs import load_configs
from mle_toolbox.config.expand import Plan, apply_params, config_hash, expand, run_ids
from mle_toolbox.config.meta import load_meta
from mle_toolbox.config.search_space import SearchParam, grid_points, grid_size, random_points
from mle_toolbox.errors import ConfigError
from tests.conftest import write

SEARCH = """\
meta_job_args:
  experiment_type: hyperparameter-search
  base_train_fname: train.py
  base_train_config: base.json
param_search_args:
  search_resources: {{num_seeds_per_eval: 2, num_total_evals: {evals}}}
  search_config:
    search_type: {kind}
    seed: {seed}
    search_params:
      real: {{lrate: {{begin: 0.001, end: 0.1, bins: 3, prior: log-uniform}}}}
      integer: {{width: {{begin: 1, end: 3, bins: 5}}}}
      categorical: {{model_config.act: [relu, tanh]}}
"""


def _plan(root: Path, text: str) -> Plan:
    write(root / "train.py", "")
    write(root / "base.json", '{"train_config": {"lrate": 1, "epochs": 5}, '
          '"model_config": {"act": "none"}}')
    meta = load_meta(write(root / "meta.yaml", text))
    return expand(meta, configs=load_configs(meta.config_files))


def test_configs_times_seeds_in_order_and_deterministic(project: Path) -> None:
    meta = load_meta(project / "meta.yaml")
    configs = load_configs(meta.config_files)
    first, second = expand(meta, configs=configs), expand(meta, configs=configs)
    assert first == second
    assert [j.job_id for j in first.jobs] == ["a-seed0", "a-seed1", "b-seed0", "b-seed1"]
    assert first.run("b").config == {"train_config": {"lrate": 0.2}}


def test_same_stem_in_two_folders_gets_two_run_ids(tmp_path: Path) -> None:
    paths = (tmp_path / "x" / "a" / "cfg.json", tmp_path / "x" / "b" / "cfg.json",
             tmp_path / "x" / "other.json")
    assert run_ids(paths, meta_display="m.yaml") == ["a_cfg", "b_cfg", "other"]


@given(st.lists(st.from_regex(r"[a-z ;$()'_.-]{1,6}/[a-z ;_.-]{1,6}\.json", fullmatch=True),
                min_size=1, max_size=8, unique=True))
def test_run_ids_are_always_unique_and_filesystem_safe(names: list[str]) -> None:
    ids = run_ids(tuple(Path("/p") / n for n in names), meta_display="m.yaml")
    assert len(set(ids)) == len(ids)
    assert all(i and set(i) <= set("abcdefghijklmnopqrstuvwxyz0123456789_.-") for i in ids)


def test_grid_is_the_full_product_first_parameter_slowest(tmp_path: Path) -> None:
    plan = _plan(tmp_path, SEARCH.format(kind="grid", seed=0, evals=1000))
    points = [r.params for r in plan.runs]
    # integer bins 1..3 in 5 steps round to 1, 2, 3 (duplicates dropped)
    assert len(points) == 3 * 3 * 2
    assert points[0] == {"lrate": 0.001, "width": 1, "model_config.act": "relu"}
    assert points[1] == {"lrate": 0.001, "width": 1, "model_config.act": "tanh"}
    assert {p["lrate"] for p in points} == {0.001, 0.01, 0.1}
    assert len(plan.jobs) == 36 and plan.notes == ()
    config = plan.runs[1].config
    assert config == {"train_config": {"lrate": 0.001, "epochs": 5, "width": 1},
                      "model_config": {"act": "tanh"}}
    assert plan.runs[0].run_id == "b_1_eval_0"


def test_grid_cut_by_the_budget_says_so(tmp_path: Path) -> None:
    plan = _plan(tmp_path, SEARCH.format(kind="grid", seed=0, evals=4))
    assert len(plan.runs) == 4
    assert plan.notes == ("grid has 18 points; the budget of 4 evaluations runs the first 4",)


def test_random_search_is_seeded_and_within_bounds(tmp_path: Path) -> None:
    one = _plan(tmp_path / "1", SEARCH.format(kind="random", seed=7, evals=20))
    same = _plan(tmp_path / "2", SEARCH.format(kind="random", seed=7, evals=20))
    other = _plan(tmp_path / "3", SEARCH.format(kind="random", seed=8, evals=20))
    params = [r.params for r in one.runs]
    assert params == [r.params for r in same.runs]
    assert params != [r.params for r in other.runs]
    assert all(0.001 <= p["lrate"] <= 0.1 and p["width"] in (1, 2, 3) for p in params)
    assert {p["model_config.act"] for p in params} == {"relu", "tanh"}


def test_apply_params_copies_and_sets_nested_keys() -> None:
    base = {"train_config": {"lrate": 1}, "model_config": {"layers": {"n": 1}}}
    out = apply_params(base, {"lrate": 2, "model_config.layers.n": 3, "new.key": 4},
                       meta_display="m.yaml")
    assert out == {"train_config": {"lrate": 2}, "model_config": {"layers": {"n": 3}},
                   "new": {"key": 4}}
    assert base == {"train_config": {"lrate": 1}, "model_config": {"layers": {"n": 1}}}


def test_config_hash_ignores_key_order_but_not_values() -> None:
    assert config_hash({"a": 1, "b": {"c": 2, "d": 3}}) == config_hash({"b": {"d": 3, "c": 2},
                                                                        "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
    assert len(config_hash({})) == 16


# --- configs x seeds ---------------------------------------------------------------

MULTI = """\
meta_job_args:
  experiment_type: multiple-configs
  base_train_fname: train.py
multi_config_args:
  config_fnames: {configs}
  {seeds}
"""


def _multi(root: Path, configs: dict[str, str], seeds: str) -> Plan:
    write(root / "train.py", "")
    for name, text in configs.items():
        write(root / name, text)
    meta = load_meta(write(root / "meta.yaml", MULTI.format(configs=list(configs),
                                                             seeds=seeds)))
    return expand(meta, configs=load_configs(meta.config_files))


def test_every_config_times_every_listed_seed_config_major(tmp_path: Path) -> None:
    plan = _multi(tmp_path, {"c1.json": '{"x": 1}', "c2.json": '{"x": 2}',
                             "c3.yaml": "x: 3\n"}, "random_seeds: [7, 3]")
    assert len(plan.runs) == 3 and len(plan.jobs) == 6
    assert [(j.run_id, j.seed) for j in plan.jobs] == [
        ("c1", 7), ("c1", 3), ("c2", 7), ("c2", 3), ("c3", 7), ("c3", 3)]
    assert [j.job_id for j in plan.jobs] == ["c1-seed7", "c1-seed3", "c2-seed7", "c2-seed3",
                                             "c3-seed7", "c3-seed3"]
    assert len({j.job_id for j in plan.jobs}) == 6
    assert [r.config for r in plan.runs] == [{"x": 1}, {"x": 2}, {"x": 3}]
    # a job carries the hash of its run's config
    assert all(j.config_hash == plan.run(j.run_id).config_hash for j in plan.jobs)
    assert plan.run("c3").source == tmp_path / "c3.yaml"


def test_num_seeds_gives_seeds_zero_to_n_minus_one(tmp_path: Path) -> None:
    plan = _multi(tmp_path, {"only.json": "{}"}, "num_seeds: 4")
    assert [j.seed for j in plan.jobs] == [0, 1, 2, 3]
    assert [j.job_id for j in plan.jobs] == [f"only-seed{s}" for s in range(4)]


def test_expansion_is_pure_and_ids_do_not_depend_on_where_the_project_lives(
    tmp_path: Path,
) -> None:
    configs = {"a/cfg.json": '{"train_config": {"lr": 1}}',
               "b/cfg.json": '{"train_config": {"lr": 2}}'}
    here = _multi(tmp_path / "here", configs, "num_seeds: 2")
    again = _multi(tmp_path / "here", configs, "num_seeds: 2")
    there = _multi(tmp_path / "somewhere" / "else", configs, "num_seeds: 2")
    assert here == again
    assert [r.config for r in here.runs] == [r.config for r in again.runs]
    assert [r.run_id for r in here.runs] == ["a_cfg", "b_cfg"]
    assert [j.job_id for j in here.jobs] == [j.job_id for j in there.jobs] == [
        "a_cfg-seed0", "a_cfg-seed1", "b_cfg-seed0", "b_cfg-seed1"]
    assert [j.config_hash for j in here.jobs] == [j.config_hash for j in there.jobs]
    assert here.run("b_cfg").config == {"train_config": {"lr": 2}}


def test_expand_does_not_touch_the_loaded_configs(tmp_path: Path) -> None:
    write(tmp_path / "train.py", "")
    write(tmp_path / "base.json", '{"train_config": {"lrate": 1, "epochs": 5}, '
          '"model_config": {"act": "none"}}')
    meta = load_meta(write(tmp_path / "meta.yaml", SEARCH.format(kind="grid", seed=0,
                                                                  evals=100)))
    configs = load_configs(meta.config_files)
    before = json.loads(json.dumps(configs[meta.config_files[0]]))
    plan = expand(meta, configs=configs)
    assert configs[meta.config_files[0]] == before
    assert len({r.config_hash for r in plan.runs}) == len(plan.runs) == 18


def test_a_config_listed_twice_is_an_error_naming_both_entries(tmp_path: Path) -> None:
    write(tmp_path / "train.py", "")
    write(tmp_path / "c.json", "{}")
    meta = load_meta(write(tmp_path / "meta.yaml", MULTI.format(configs="[c.json, ./c.json]",
                                                                 seeds="num_seeds: 1")))
    with pytest.raises(ConfigError, match=r"multi_config_args\.config_fnames: config file "
                       r".*c\.json' is listed twice \(entries 0 and 1\)"):
        expand(meta, configs=load_configs(meta.config_files))


def test_run_ids_go_as_deep_as_needed_and_keep_unique_stems_short() -> None:
    paths = (Path("/r/x/a/cfg.json"), Path("/r/y/a/cfg.json"), Path("/r/b/cfg.json"),
             Path("/r/lone.json"), Path("/r/with space.json"))
    assert run_ids(paths, meta_display="m.yaml") == ["x_a_cfg", "y_a_cfg", "b_cfg", "lone",
                                                     "with_space"]
    # stems that no folder tells apart are numbered in order
    assert run_ids((Path("/r/a b.json"), Path("/r/a_b.json")), meta_display="m") == [
        "r_a_b", "r_a_b-2"]
    assert run_ids((), meta_display="m.yaml") == []


@given(st.lists(st.lists(st.sampled_from(["a", "b", "cfg", "x y", "x_y", "..", "-"]),
                         min_size=1, max_size=4), min_size=1, max_size=10))
def test_run_ids_are_unique_deterministic_and_never_empty(parts: list[list[str]]) -> None:
    paths = tuple(dict.fromkeys(Path("/root", *p[:-1], f"{p[-1]}.json") for p in parts))
    ids = run_ids(paths, meta_display="m.yaml")
    assert ids == run_ids(paths, meta_display="m.yaml")
    assert len(ids) == len(paths) == len(set(ids))
    assert all(i and not i.startswith((".", "-")) and "/" not in i for i in ids)


# --- grids ---------------------------------------------------------------------------

GRID = """\
meta_job_args:
  experiment_type: hyperparameter-search
  base_train_fname: train.py
  base_train_config: base.json
param_search_args:
  search_resources: {{num_seeds_per_eval: 1{extra}}}
  search_config:
    search_type: {kind}
    seed: {seed}
    search_params:
{params}
"""


def _search(root: Path, params: str, *, kind: str = "grid", seed: int = 0,
            extra: str = "") -> Plan:
    text = GRID.format(kind=kind, seed=seed, extra=extra,
                       params=textwrap.indent(textwrap.dedent(params), " " * 6))
    return _plan(root, text)


def test_grid_values_of_each_kind(tmp_path: Path) -> None:
    plan = _search(tmp_path / "1", """\
        real: {lr: {begin: 0.0, end: 1.0, bins: 5}}
        """)
    assert [r.params["lr"] for r in plan.runs] == [0.0, 0.25, 0.5, 0.75, 1.0]
    plan = _search(tmp_path / "2", """\
        real: {lr: {begin: 1.0e-5, end: 1.0e-1, bins: 5, prior: log-uniform}}
        """)
    assert [r.params["lr"] for r in plan.runs] == [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
    plan = _search(tmp_path / "3", """\
        integer: {n: {begin: 0, end: 2, bins: 5}}
        """)
    # 0, 0.5, 1, 1.5, 2 rounded (half to even) -> 0, 0, 1, 2, 2 -> 0, 1, 2
    assert [r.params["n"] for r in plan.runs] == [0, 1, 2]
    assert all(type(r.params["n"]) is int for r in plan.runs)
    plan = _search(tmp_path / "4", """\
        integer: {n: {begin: 1, end: 1000, bins: 4, prior: log-uniform}}
        """)
    assert [r.params["n"] for r in plan.runs] == [1, 10, 100, 1000]
    plan = _search(tmp_path / "5", """\
        categorical: {opt: [sgd, adam, 3]}
        """)
    assert [r.params["opt"] for r in plan.runs] == ["sgd", "adam", 3]
    plan = _search(tmp_path / "6", """\
        real: {lr: {begin: 0.5, end: 0.9, bins: 1}}
        """)
    assert [r.params for r in plan.runs] == [{"lr": 0.5}]


def test_grid_order_first_parameter_slowest_with_ids(tmp_path: Path) -> None:
    plan = _search(tmp_path, """\
        real: {a: {begin: 1, end: 2, bins: 2}}
        integer: {b: {begin: 0, end: 2, bins: 3}}
        """)
    assert [(r.params["a"], r.params["b"]) for r in plan.runs] == [
        (1.0, 0), (1.0, 1), (1.0, 2), (2.0, 0), (2.0, 1), (2.0, 2)]
    assert [r.run_id for r in plan.runs] == [f"b_1_eval_{i}" for i in range(6)]
    assert [j.job_id for j in plan.jobs] == [f"b_1_eval_{i}-seed0" for i in range(6)]


def test_evaluations_per_batch_number_the_batches(tmp_path: Path) -> None:
    plan = _search(tmp_path, """\
        categorical: {c: [1, 2, 3, 4, 5]}
        """, extra=", num_evals_per_batch: 2, num_search_batches: 3")
    assert [r.run_id for r in plan.runs] == ["b_1_eval_0", "b_1_eval_1", "b_2_eval_2",
                                             "b_2_eval_3", "b_3_eval_4"]
    assert plan.notes == ()


def test_grid_budget_keeps_the_first_points_in_grid_order(tmp_path: Path) -> None:
    plan = _search(tmp_path, """\
        categorical: {c: [1, 2, 3]}
        integer: {n: {begin: 1, end: 2, bins: 2}}
        """, extra=", num_total_evals: 3")
    # parameters are ordered real, integer, categorical whatever the YAML's group order
    assert [r.params for r in plan.runs] == [{"n": 1, "c": 1}, {"n": 1, "c": 2},
                                             {"n": 1, "c": 3}]
    assert [list(r.params) for r in plan.runs] == [["n", "c"]] * 3
    assert plan.notes == ("grid has 6 points; the budget of 3 evaluations runs the first 3",)


def test_searched_values_land_in_train_config_or_at_their_dotted_path(tmp_path: Path) -> None:
    plan = _search(tmp_path, """\
        categorical:
          lrate: [0.5]
          model_config.act: [gelu]
          model_config.block.depth: [4]
          log_config.every: [10]
        """)
    (run,) = plan.runs
    assert run.config == {
        "train_config": {"lrate": 0.5, "epochs": 5},
        "model_config": {"act": "gelu", "block": {"depth": 4}},
        "log_config": {"every": 10},
    }
    assert run.params == {"lrate": 0.5, "model_config.act": "gelu",
                          "model_config.block.depth": 4, "log_config.every": 10}


def test_a_dotted_parameter_through_a_value_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        apply_params({"train_config": {"lrate": 1}}, {"train_config.lrate.x": 2},
                     meta_display="m.yaml")
    assert str(caught.value) == (
        "m.yaml: param_search_args.search_config.search_params: cannot set search parameter "
        "'train_config.lrate.x': train_config.lrate is not a mapping in the base config")


# --- random search -----------------------------------------------------------------

RANDOM_PARAMS = """\
    real:
      lr: {begin: 0.0001, end: 0.1, prior: log-uniform}
      mom: {begin: 0.5, end: 0.99}
    integer:
      width: {begin: 1, end: 1024, prior: log-uniform}
      depth: {begin: 2, end: 5}
    categorical: {act: [relu, tanh, gelu]}
    """


def test_random_search_count_bounds_and_seeding(tmp_path: Path) -> None:
    def plan(name: str, seed: int) -> Plan:
        return _search(tmp_path / name, RANDOM_PARAMS, kind="random", seed=seed,
                       extra=", num_total_evals: 200")

    one, same, other = plan("1", 3), plan("2", 3), plan("3", 4)
    points = [r.params for r in one.runs]
    assert len(points) == 200 and len(one.jobs) == 200
    assert points == [r.params for r in same.runs]
    assert [r.config for r in one.runs] == [r.config for r in same.runs]
    assert points != [r.params for r in other.runs]
    for p in points:
        assert 0.0001 <= p["lr"] <= 0.1 and 0.5 <= p["mom"] <= 0.99
        assert type(p["width"]) is int and 1 <= p["width"] <= 1024
        assert p["depth"] in (2, 3, 4, 5) and p["act"] in ("relu", "tanh", "gelu")
    assert {p["depth"] for p in points} == {2, 3, 4, 5}
    # log-uniform: about half of the draws below the geometric middle (32), not ~3 %
    assert 60 <= sum(p["width"] < 32 for p in points) <= 140
    assert 60 <= sum(p["lr"] < 0.0001 * 1000 ** 0.5 for p in points) <= 140


@given(seed=st.integers(0, 2**32), count=st.integers(0, 30),
       begin=st.floats(1e-6, 1e3), span=st.floats(1.0001, 1e6))
def test_random_points_are_a_function_of_the_seed(seed: int, count: int, begin: float,
                                                  span: float) -> None:
    params = (SearchParam("x", "real", begin=begin, end=begin * span, prior="log-uniform"),
              SearchParam("n", "integer", begin=1, end=1 + int(span), prior="log-uniform"),
              SearchParam("u", "real", begin=-begin, end=begin))
    points = random_points(params, count=count, seed=seed)
    assert points == random_points(params, count=count, seed=seed)
    assert len(points) == count
    for p in points:
        assert begin <= p["x"] <= begin * span
        assert 1 <= p["n"] <= 1 + int(span)
        assert -begin <= p["u"] <= begin


@given(st.lists(st.integers(1, 4), min_size=1, max_size=4))
def test_grid_size_matches_the_points_and_points_are_distinct(bins: list[int]) -> None:
    params = tuple(SearchParam(f"p{i}", "real", begin=0.0, end=1.0, bins=b)
                   for i, b in enumerate(bins))
    points = list(grid_points(params))
    assert len(points) == grid_size(params) == math.prod(bins)
    assert len({tuple(p.values()) for p in points}) == len(points)
    assert all(list(p) == [f"p{i}" for i in range(len(bins))] for p in points)


def test_config_hash_text_is_that_of_json_dumps() -> None:
    # plan.json's hashes from earlier launches are compared with new ones on every resume:
    # the hashed text must stay json.dumps(sort_keys, compact separators, default=str).
    import hashlib

    from mle_toolbox.config.expand import config_hash

    configs = [{"b": 1, "a": {"y": [1, 2.5, None], "x": "é"}}, {}, {"p": Path("/x"), "t": True}]
    for config in configs:
        text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
        assert config_hash(config) == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert config_hash({"a": 1, "b": 2}) == config_hash({"b": 2, "a": 1}) == "43258cff783fe703"
