"""Every mle-hyperopt search type, run as mle-toolbox 0.3 YAMLs write them.

experiments/hyperopt_dialect/ holds one search YAML per type in that dialect
(``search_type: "Halving"``, options in the nested ``search_config`` block) and a
train.py that reads mle-toolbox's hand-off (``train_config.params``,
``train_config.extra``, the checkpoint path). The objective is the synthetic one of
experiments/adaptive_search (optimum lr = 0.5, x = 0.5). Strategy quality is
checked in-process over fixed seeds; each ``mle run`` test checks that the jobs'
results are exactly what the strategy gives in-process, and what the strategy did.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mle_toolbox.config.meta import load_meta
from mle_toolbox.config.meta_types import MetaConfig
from mle_toolbox.search.base import Evaluation
from mle_toolbox.search.pareto import dominates
from tests.conftest import REPO, run_mle
from tests.test_search import (
    SAMPLER_SEEDS,
    best,
    random_search_median,
    simulate,
    steps_spent,
)

# Each mle run takes seconds; on a loaded machine a test running two may pass 120 s.
pytestmark = pytest.mark.timeout(420)
DIALECT = REPO / "experiments" / "hyperopt_dialect"
MODEL_BASED = ["coordinate", "smbo", "nevergrad", "halving", "hyperband", "pbt", "random"]


def meta_of(name: str, **options: Any) -> MetaConfig:
    """The example's meta config, with some strategy options replaced."""
    meta = load_meta(DIALECT / f"{name}.yaml")
    assert meta.search is not None
    if options:
        search = dataclasses.replace(meta.search, options=dataclasses.replace(
            meta.search.options, **options))
        meta = dataclasses.replace(meta, search=search)
    return meta


def _beats_random(meta: MetaConfig) -> None:
    runs = [simulate(meta, seed=seed) for seed in SAMPLER_SEEDS]
    assert runs[0] == simulate(meta, seed=0)  # deterministic for a fixed seed
    bests = [best(r).objective for r in runs]
    top = max(e.proposal.budget or 9 for e in runs[0])
    evals = steps_spent(runs[0]) // top  # equal budget: as many full runs as steps allow
    baseline = random_search_median(meta, evals=evals, steps=top)
    assert statistics.median(b for b in bests if b is not None) < baseline


@pytest.mark.parametrize("name", MODEL_BASED)
def test_each_type_beats_random_search_median_at_equal_budget(name: str) -> None:
    _beats_random(meta_of(name))


@pytest.mark.parametrize(("estimator", "acquisition"),
                         [("RF", "EI"), ("ET", "LCB"), ("GBRT", "PI")])
def test_smbo_tree_and_boosting_models_beat_random_search(estimator: str,
                                                          acquisition: str) -> None:
    # One acquisition per model keeps this fast; GP runs gp_hedge above.
    _beats_random(meta_of("smbo", base_estimator=estimator, acq_function=acquisition))


def _run(name: str, tmp_path: Path, *extra: str) -> tuple[Path, list[dict[str, Any]]]:
    exp = tmp_path / "exp"
    if not exp.exists():
        shutil.copytree(DIALECT, exp, ignore=shutil.ignore_patterns("runs", "__pycache__"))
    done = run_mle("run", exp / f"{name}.yaml", "--max-running", "9", *extra, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    root = exp / "runs" / name
    records = [json.loads(line) for line in (root / "search_log.jsonl").read_text().splitlines()]
    return root, records


def _batches(records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [r["evals"] for r in records if r["type"] == "proposals"]


def _results(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["eval_id"]: r for r in records if r["type"] == "result"}


def _same_as_in_process(name: str, records: list[dict[str, Any]]) -> list[Evaluation]:
    expected = simulate(meta_of(name), seed=0)
    got = {k: v["objective"] for k, v in _results(records).items()}
    assert got == pytest.approx({e.proposal.eval_id: e.objective for e in expected},
                                abs=1e-9)
    return expected


def _config(root: Path, eval_id: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((root / eval_id / f"{eval_id}.json").read_text())
    return loaded


def test_grid_runs_every_point_of_the_grid(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    shutil.copytree(DIALECT, exp, ignore=shutil.ignore_patterns("runs"))
    done = run_mle("run", exp / "grid.yaml", "--max-running", "9", timeout=300)
    assert done.returncode == 0, done.stderr
    plan = json.loads((exp / "runs" / "grid" / "plan.json").read_text())
    points = {(r["params"]["lr"], r["params"]["x"]) for r in plan["runs"]}
    lrs = [round(0.1 + 0.1 * i, 12) for i in range(9)]
    xs = [-2.0 + 0.5 * i for i in range(9)]
    assert points == {(lr, x) for lr in lrs for x in xs}
    best_doc = json.loads((exp / "runs" / "grid" / "best_config.json").read_text())
    assert best_doc["params"] == {"lr": 0.5, "x": 0.5}


def test_random_refines_its_space_to_the_top_k_after_refine_after(tmp_path: Path) -> None:
    _, records = _run("random", tmp_path)
    _same_as_in_process("random", records)
    batches = _batches(records)
    results = _results(records)
    first = [e for b in batches[:2] for e in b]
    assert len(first) == 12  # refine_after: [12]
    top = sorted(first, key=lambda e: results[e["eval_id"]]["loss"])[:3]  # refine_top_k
    later = [e for b in batches[2:] for e in b]
    assert len(later) == 12
    for name in ("lr", "x"):
        low, high = min(e["params"][name] for e in top), max(e["params"][name] for e in top)
        assert all(low <= e["params"][name] <= high for e in later)
        # Narrower than the space the first batches came from.
        assert high - low < max(e["params"][name] for e in first) - min(
            e["params"][name] for e in first)


def test_coordinate_changes_one_variable_at_a_time(tmp_path: Path) -> None:
    root, records = _run("coordinate", tmp_path)
    _same_as_in_process("coordinate", records)
    first, second = _batches(records)
    grid = [round(0.1 + 0.1 * i, 12) for i in range(9)]
    assert [e["params"]["lr"] for e in first] == grid
    assert {e["params"]["x"] for e in first} == {0.0}  # defaults.x
    results = _results(records)
    winner = min(first, key=lambda e: results[e["eval_id"]]["loss"])["params"]["lr"]
    assert {e["params"]["lr"] for e in second} == {winner}  # the default moved to the best
    # x's grid without the point evaluated already (lr=winner, x=0.0).
    assert [e["params"]["x"] for e in second] == [-2.0 + 0.5 * i for i in range(9) if i != 4]
    assert _config(root, second[0]["eval_id"])["train_config"]["lr"] == winner


def test_smbo_with_gp_proposes_from_a_fitted_gp(tmp_path: Path) -> None:
    import numpy as np

    from mle_toolbox.search.surrogate import ACQUISITIONS, Space, acquisition, fit_model

    root, records = _run("smbo", tmp_path)
    _same_as_in_process("smbo", records)
    batches, results = _batches(records), _results(records)
    meta = meta_of("smbo")
    assert meta.search is not None
    space = Space(meta.search.params)
    rng = np.random.default_rng(0)
    anywhere = np.array([space.encode(space.decode(r)) for r in rng.random((2000, 2))])
    for index in range(2, len(batches)):  # batches 3..6: every point from the model
        seen = [e for b in batches[:index] for e in b]
        losses = [results[e["eval_id"]]["loss"] for e in seen]
        model = fit_model("GP", np.array([space.encode(e["params"]) for e in seen]),
                          np.array(losses), seed=0)
        here = np.array([space.encode(e["params"]) for e in batches[index]])
        # Where each proposal ranks among 2000 random points, by the acquisition that
        # rates it highest, under a GP fitted to the results before its batch.
        ranks = np.max([[float(np.mean(acquisition(n, *model.predict(anywhere),
                                                   best=min(losses)) < value))
                         for value in acquisition(n, *model.predict(here), best=min(losses))]
                        for n in ACQUISITIONS], axis=0)
        assert ranks[0] >= 0.95  # the batch's first point: the GP's own choice
        assert all(rank >= 0.5 for rank in ranks)  # the others: counted with lies
    # A finished search run again replays its log (the GP proposes the same points).
    log_before = (root / "search_log.jsonl").read_text()
    _run("smbo", tmp_path)
    assert (root / "search_log.jsonl").read_text() == log_before


def test_nevergrad_runs_as_the_optimizer_proposes(tmp_path: Path) -> None:
    _, records = _run("nevergrad", tmp_path)
    expected = _same_as_in_process("nevergrad", records)
    assert [len(b) for b in _batches(records)] == [4] * 6
    assert {e.proposal.eval_id: e.proposal.params for e in expected} == {
        e["eval_id"]: e["params"] for b in _batches(records) for e in b}


def test_multi_objective_nevergrad_reports_its_pareto_front(tmp_path: Path) -> None:
    root, records = _run("nevergrad_multi", tmp_path)
    results = _results(records)
    assert len(results) == 24
    losses = {k: (v["objectives"]["objective_1"], v["objectives"]["objective_2"])
              for k, v in results.items()}
    front = {k for k, v in losses.items()
             if not any(dominates(other, v) for other in losses.values())}
    doc = json.loads((root / "pareto_front.json").read_text())
    assert doc["metrics"] == ["objective_1", "objective_2"]
    assert {r["eval_id"] for r in doc["front"]} == front
    assert 1 < len(front) < 24
    report = (root / "report.md").read_text()
    section = report.split("## Pareto front", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| b_")]
    assert {row.split(" | ")[0][2:] for row in rows} == front
    assert "![Pareto front](figures/pareto_front.png)" in section
    assert (root / "figures" / "pareto_front.png").stat().st_size > 1000


def test_halving_keeps_the_top_third_and_hands_off_as_mle_toolbox(tmp_path: Path) -> None:
    root, records = _run("halving", tmp_path)
    _same_as_in_process("halving", records)
    batches, results = _batches(records), _results(records)
    assert [len(b) for b in batches] == [9, 3, 1]  # num_arms 9, halving_coeff 3
    for earlier, later in itertools.pairwise(batches):
        ranked = sorted(earlier, key=lambda e: results[e["eval_id"]]["loss"])
        assert [e["params"] for e in later] == [e["params"] for e in ranked[:len(later)]]
        assert [e["parent"] for e in later] == [e["eval_id"] for e in ranked[:len(later)]]
    totals = [1, 3, 9]  # min_budget * halving_coeff ** rung
    for rung, batch in enumerate(batches):
        for e in batch:
            train = _config(root, e["eval_id"])["train_config"]
            assert train["params"] == e["params"]  # as mle-toolbox nests them
            assert train["lr"] == 0.01  # the base config's own value is left alone
            extra = train["extra"]
            assert extra["sh_num_total_iters"] == totals[rung]
            assert extra["sh_num_add_iters"] == totals[rung] - (totals[rung - 1] if rung else 0)
            assert extra["sh_counter"] == rung
            if rung == 0:
                assert "sh_ckpt" not in extra
                continue
            ckpt = Path(extra["sh_ckpt"])
            assert ckpt == root / e["eval_id"] / "resume_from" / "seed_0" / "final.json"
            assert json.loads(ckpt.read_text())["step"] == totals[rung - 1]
    # load_hyper_log reads the search as mle-toolbox's hyper log: one row per evaluation.
    from mle_toolbox.results.hyper_log import load_hyper_log

    rows = {r["run_id"]: r for r in load_hyper_log(root).rows}
    assert set(rows) == set(results)
    assert all(rows[k]["loss"] == pytest.approx(v["objective"]) and
               (rows[k]["lr"], rows[k]["x"]) == (v["params"]["lr"], v["params"]["x"])
               for k, v in results.items())


def test_hyperband_runs_its_brackets_from_max_resource_and_eta(tmp_path: Path) -> None:
    root, records = _run("hyperband", tmp_path)
    _same_as_in_process("hyperband", records)
    batches = _batches(records)
    # max_resource 9, eta 3: brackets of 9 @1 -> 3 @3 -> 1 @9, 5 @3 -> 1 @9, 3 @9.
    assert [len(b) for b in batches] == [9, 3, 1, 5, 1, 3]
    assert [b[0]["budget"] for b in batches] == [1, 3, 9, 3, 9, 9]
    counters = [_config(root, b[0]["eval_id"])["train_config"]["extra"]["hb_counter"]
                for b in batches]
    assert counters == [0, 0, 0, 1, 1, 2]


def test_pbt_exploits_the_best_and_hands_off_as_mle_toolbox(tmp_path: Path) -> None:
    root, records = _run("pbt", tmp_path)
    _same_as_in_process("pbt", records)
    batches, results = _batches(records), _results(records)
    assert [len(b) for b in batches] == [4, 4, 4]  # num_workers, num_search_batches
    bounds = {"lr": (0.001, 1.0), "x": (-2.0, 2.0)}
    for generation, (earlier, later) in enumerate(itertools.pairwise(batches), start=2):
        ranked = sorted(earlier, key=lambda e: results[e["eval_id"]]["loss"])
        worst, top = ranked[-1], ranked[0]  # selection_percent 0.25 of 4: one each
        for worker, (old, new) in enumerate(zip(earlier, later, strict=True)):
            extra = _config(root, new["eval_id"])["train_config"]["extra"]
            assert extra["pbt_worker_id"] == worker
            assert extra["pbt_num_total_iters"] == 3 * generation
            assert extra["pbt_num_add_iters"] == 3
            assert Path(extra["pbt_ckpt"]).is_file()
            if old is worst:
                assert extra["pbt_explore"] is True
                assert new["parent"] == extra["pbt_copy_id"] == top["eval_id"]
                for key, (low, high) in bounds.items():  # perturb_coeffs, kept in range
                    moved = [min(max(top["params"][key] * f, low), high) for f in (0.8, 1.2)]
                    assert any(math.isclose(new["params"][key], m) for m in moved)
            else:
                assert extra["pbt_explore"] is False
                assert (new["parent"], new["params"]) == (old["eval_id"], old["params"])


@pytest.mark.parametrize(("name", "module", "extra"), [("smbo", "sklearn", "smbo"),
                                                       ("nevergrad", "nevergrad", "nevergrad")])
def test_a_missing_optional_library_is_named_before_anything_starts(
        name: str, module: str, extra: str, tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    shutil.copytree(DIALECT, exp, ignore=shutil.ignore_patterns("runs"))
    blocker = tmp_path / "blocker" / module
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text(f"raise ImportError('{module} is not installed')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker.parent), str(REPO)])}
    for argv in (["--dry-run"], []):
        done = subprocess.run([sys.executable, "-m", "mle_toolbox", "run",
                               str(exp / f"{name}.yaml"), *argv],
                              capture_output=True, text=True, timeout=60, env=env, check=False)
        assert done.returncode == 2
        kind = {"smbo": "SMBO", "nevergrad": "Nevergrad"}[name]
        assert done.stderr.splitlines()[-1] == (
            f"mle: error: search_type {kind} needs {module}: pip install 'mle_toolbox[{extra}]'")
        assert not (exp / "runs").exists()


def test_a_list_of_base_configs_runs_one_search_per_config(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    shutil.copytree(DIALECT, exp, ignore=shutil.ignore_patterns("runs"))
    short = json.loads((exp / "base_config.json").read_text().split("\n", 2)[2])
    short["train_config"]["num_steps"] = 3
    (exp / "short.json").write_text(json.dumps(short))
    text = (exp / "smbo.yaml").read_text().replace(
        'base_train_config: "base_config.json"',
        'base_train_config:\n        - "base_config.json"\n        - "short.json"').replace(
        "num_search_batches: 6", "num_search_batches: 2").replace("runs/smbo", "runs/two")
    (exp / "two.yaml").write_text(text)
    done = run_mle("run", exp / "two.yaml", "--max-running", "4", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    for name, steps in (("base_config", 9), ("short", 3)):
        root = exp / "runs" / "two" / name
        assert (f"mle: search over base config {exp / (name + '.json')} in {root}"
                in done.stdout.splitlines())
        records = [json.loads(line)
                   for line in (root / "search_log.jsonl").read_text().splitlines()]
        assert len(_results(records)) == 8
        for eval_id in _results(records):
            assert _config(root, eval_id)["train_config"]["num_steps"] == steps
