"""Expansion: configs x seeds, grids, random search; pure, deterministic, unique ids."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from mle_toolbox.configs import load_configs
from mle_toolbox.expand import Plan, apply_params, config_hash, expand, run_ids
from mle_toolbox.meta import load_meta
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
