"""Hostile input is refused up front: one line naming file, key path and line; exit 2;
nothing written. Plans are counted before they are built (issue 17, items 12 and 13)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mle_toolbox.config.base_configs import load_config_file
from mle_toolbox.config.source import MAX_YAML_VALUES, load_yaml
from mle_toolbox.errors import ConfigError
from tests.conftest import run_mle, write

CAP = "over the cap of 2,000,000 jobs per plan; set MLE_MAX_JOBS to a larger number if you mean it"


def _refused(project: Path, meta: str = "meta.yaml") -> str:
    result = run_mle("run", meta, cwd=project, timeout=30)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "out").exists(), "nothing may be written"
    return result.stderr.strip()


def _meta(project: Path, old: str, new: str) -> None:
    path = project / "meta.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_billion_seeds_is_refused_by_counting(project: Path) -> None:
    _meta(project, "num_seeds: 2", "num_seeds: 1000000000")
    assert _refused(project) == ("mle: error: meta.yaml:8: multi_config_args.num_seeds: this "
                                 f"makes 1,000,000,000 jobs, {CAP}")


def test_configs_times_seeds_over_the_cap_is_refused(project: Path) -> None:
    _meta(project, "num_seeds: 2", "num_seeds: 1500000")
    assert _refused(project) == (f"mle: error: meta.yaml: 2 configs x 1,500,000 seeds makes "
                                 f"3,000,000 jobs, {CAP}")


def test_the_cap_is_set_by_mle_max_jobs(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLE_MAX_JOBS", "3")
    assert _refused(project) == ("mle: error: meta.yaml: 2 configs x 2 seeds makes 4 jobs, over "
                                 "the cap of 3 jobs per plan; set MLE_MAX_JOBS to a larger "
                                 "number if you mean it")
    monkeypatch.setenv("MLE_MAX_JOBS", "4")
    result = run_mle("run", "meta.yaml", cwd=project, timeout=60)
    assert result.returncode == 0, result.stderr
    assert len(list((project / "out").glob("*/jobs/seed_*/status.json"))) == 4


def test_a_bad_job_cap_is_named(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLE_MAX_JOBS", "lots")
    stderr = _refused(project)
    assert stderr == ("mle: error: environment variable MLE_MAX_JOBS: expected a whole number "
                      "of jobs >= 1, got 'lots'")


def test_a_trillion_point_grid_is_refused_without_building_it(project: Path) -> None:
    write(project / "grid.yaml", """\
        meta_job_args:
          experiment_type: hyperparameter-search
          base_train_fname: train.py
          base_train_config: configs/a.json
          experiment_dir: out
        param_search_args:
          search_logging: {eval_metrics: loss}
          search_resources: {num_seeds_per_eval: 1}
          search_config:
            search_type: grid
            search_params:
              real:
                lrate: {begin: 0.0, end: 1.0, bins: 10000}
                decay: {begin: 0.0, end: 1.0, bins: 10000}
                momentum: {begin: 0.0, end: 1.0, bins: 10000}
        """)
    assert _refused(project, "grid.yaml") == (
        f"mle: error: grid.yaml: a grid of 1,000,000,000,000 points x 1 seeds makes "
        f"1,000,000,000,000 jobs, {CAP}")


def test_a_yaml_alias_bomb_is_refused(project: Path) -> None:
    lines = ["lol0: &l0 [a, a, a, a, a, a, a, a, a]"]
    lines += [f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    text = (project / "meta.yaml").read_text() + "\n".join(lines) + "\n"
    write(project / "meta.yaml", text)
    assert _refused(project) == (
        f"mle: error: meta.yaml: YAML aliases expand this document to more than "
        f"{MAX_YAML_VALUES:,} values; write the values out or use fewer aliases")


def test_a_recursive_yaml_alias_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "rec.yaml", "a: 1\nb: &x [1, *x]\n")
    with pytest.raises(ConfigError) as caught:
        load_yaml(path, what="meta YAML")
    assert str(caught.value).endswith("rec.yaml:2: a YAML alias refers to itself "
                                      "(a recursive document)")


def test_a_seed_beyond_numpys_range_is_refused_before_anything_is_written(
        project: Path) -> None:
    _meta(project, "num_seeds: 2", "random_seeds: [0, 1180591620717411303424]")
    assert _refused(project) == (
        "mle: error: meta.yaml:8: multi_config_args.random_seeds: 1180591620717411303424 is "
        "out of range; expected integers from 0 to 4294967295")
    history = project / ".mle_history.sqlite"
    assert not history.exists()


def test_a_symlink_loop_as_meta_yaml_or_config_is_named(project: Path) -> None:
    os.symlink("loop.yaml", project / "loop.yaml")
    result = run_mle("run", "loop.yaml", cwd=project, timeout=30)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"mle: error: {project / 'loop.yaml'}: meta YAML is a " \
        "symlink loop"
    (project / "configs" / "a.json").unlink()
    os.symlink("a.json", project / "configs" / "a.json")
    result = run_mle("run", "meta.yaml", cwd=project, timeout=30)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert not (project / "out").exists()


@pytest.mark.parametrize(("name", "text"), [
    ("deep.json", '{"train_config": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    ("deep.yaml", "train_config: " + "[" * 10_000 + "]" * 10_000 + "\n"),
])
def test_absurdly_deep_configs_are_refused_without_recursion_error(
        tmp_path: Path, name: str, text: str) -> None:
    path = write(tmp_path / name, text)
    with pytest.raises(ConfigError) as caught:
        load_config_file(path)
    assert str(caught.value).endswith(
        f"{name}: nested too deeply to read (thousands of levels); no config needs that")


def test_json_duplicate_keys_are_refused_like_yaml_ones(project: Path) -> None:
    write(project / "configs" / "a.json",
          '{"train_config": {\n  "lrate": 0.1,\n  "nested": {"x": 1,\n    "x": 2}}}\n')
    assert _refused(project) == ("mle: error: configs/a.json:4: train_config.nested.x: "
                                 "duplicate key")
    write(project / "configs" / "a.json",
          '// comments make it commentjson\n{"train_config": {"lrate": 0.1, "lrate": 0.3}}\n')
    assert _refused(project) == ("mle: error: configs/a.json:2: train_config.lrate: "
                                 "duplicate key")


@pytest.mark.parametrize(("section", "value", "kind"), [
    ("train_config", [1, 2], "a list"), ("log_config", "fast", "a string"),
    ("model_config", 3, "int"),
])
def test_config_sections_must_be_mappings(project: Path, section: str, value: object,
                                          kind: str) -> None:
    write(project / "configs" / "a.json", json.dumps({section: value}))
    assert _refused(project) == (f"mle: error: configs/a.json: {section}: expected a mapping "
                                 f"of settings, got {kind}")
