"""Adaptive search (smbo, successive halving, hyperband, pbt) on a synthetic objective.

The objective is experiments/adaptive_search/train.py: known optimum lr = 0.5,
x = 0.5 (loss ~ 0). Strategy quality is checked in-process over fixed sampler seeds
(the same strategy objects the launcher drives, fed by the script's own loss
function); the end-to-end tests check that ``mle run`` gets exactly those results
through real jobs, checkpoints, the search log and best_config.json.
"""

from __future__ import annotations

import dataclasses
import json
import os
import runpy
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mle_toolbox.config.meta import load_meta
from mle_toolbox.config.meta_types import MetaConfig
from mle_toolbox.config.search_space import random_points
from mle_toolbox.search.base import Evaluation, Proposal
from mle_toolbox.search.loop import make_strategy
from tests.conftest import REPO, run_mle

EXAMPLE = REPO / "experiments" / "adaptive_search"
TRAIN = runpy.run_path(str(EXAMPLE / "train.py"))
FULL_STEPS = 9  # train_config.num_steps of base_config.json
STRATEGY_FILES = {"smbo": "smbo", "successive-halving": "successive_halving",
                  "hyperband": "hyperband", "pbt": "pbt"}
SAMPLER_SEEDS = range(7)
RANDOM_SEEDS = range(11)


def simulate(meta: MetaConfig, *, seed: int) -> list[Evaluation]:
    """Drive a strategy as the launcher does, evaluating in-process with checkpoints."""
    assert meta.search is not None
    search = dataclasses.replace(meta.search, sampler_seed=seed)
    strategy = make_strategy(search)
    checkpoints: dict[str, tuple[float, int]] = {}
    done: list[Evaluation] = []
    batch = 1
    while proposals := strategy.propose(batch):
        evaluations = [_evaluate(p, checkpoints) for p in proposals]
        strategy.observe(evaluations)
        done += evaluations
        batch += 1
    return done


def _evaluate(proposal: Proposal, checkpoints: dict[str, tuple[float, int]]) -> Evaluation:
    error, step = checkpoints[proposal.parent] if proposal.parent else (1.0, 0)
    steps = proposal.budget or FULL_STEPS
    for _ in range(step, steps):
        error = TRAIN["next_error"](error, proposal.params["lr"])
    checkpoints[proposal.eval_id] = (error, steps)
    value = TRAIN["loss"](error, proposal.params["x"], seed=0, step=steps)
    return Evaluation(proposal=proposal, loss=value, objective=value)


def best(evaluations: list[Evaluation]) -> Evaluation:
    """Best evaluation at the largest budget (as best_config.json picks it)."""
    top = max(e.proposal.budget or 0 for e in evaluations)
    return min((e for e in evaluations if (e.proposal.budget or 0) == top),
               key=lambda e: e.loss or 0.0)


def steps_spent(evaluations: list[Evaluation]) -> int:
    """Training steps of a search: a resumed run only trains beyond its checkpoint."""
    return sum((e.proposal.budget or FULL_STEPS) - (e.proposal.resume_budget or 0)
               for e in evaluations)


def random_search_median(meta: MetaConfig, *, evals: int, steps: int) -> float:
    """Median over sampler seeds of random search's best loss with ``evals`` runs."""
    assert meta.search is not None
    bests = [min(TRAIN["final_loss"](p["lr"], p["x"], steps=steps, seed=0)
                 for p in random_points(meta.search.params, count=evals, seed=seed))
             for seed in RANDOM_SEEDS]
    return statistics.median(bests)


@pytest.mark.parametrize("kind", list(STRATEGY_FILES))
def test_each_strategy_beats_random_search_median_at_equal_budget(kind: str) -> None:
    meta = load_meta(EXAMPLE / f"{STRATEGY_FILES[kind]}.yaml")
    runs = [simulate(meta, seed=seed) for seed in SAMPLER_SEEDS]
    assert runs[0] == simulate(meta, seed=0)  # deterministic for a fixed seed
    bests = [best(r).objective for r in runs]
    # Equal budget: random search gets as many full-length runs as the steps allow.
    top = max(e.proposal.budget or FULL_STEPS for e in runs[0])
    evals = steps_spent(runs[0]) // top
    baseline = random_search_median(meta, evals=evals, steps=top)
    assert statistics.median(b for b in bests if b is not None) < baseline
    assert max(b for b in bests if b is not None) < 2 * baseline


def _copy_example(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLE, tmp_path / "exp", ignore=shutil.ignore_patterns("runs"))
    return tmp_path / "exp"


def _log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("kind", list(STRATEGY_FILES))
def test_mle_run_matches_the_strategy_and_records_every_batch(kind: str,
                                                               tmp_path: Path) -> None:
    exp = _copy_example(tmp_path)
    name = STRATEGY_FILES[kind]
    done = run_mle("run", exp / f"{name}.yaml", "--max-running", "4")
    assert done.returncode == 0, done.stderr
    root = exp / "runs" / name
    expected = simulate(load_meta(exp / f"{name}.yaml"), seed=0)
    records = _log(root / "search_log.jsonl")
    proposed = [p for r in records if r["type"] == "proposals" for p in r["evals"]]
    assert proposed == [e.proposal.to_json() for e in expected]
    results = {r["eval_id"]: r for r in records if r["type"] == "result"}
    for evaluation in expected:
        assert results[evaluation.proposal.eval_id]["objective"] == pytest.approx(
            evaluation.objective, abs=1e-12)
    batches = max(r["batch"] for r in records if r["type"] == "proposals")
    assert [r["batch"] for r in records if r["type"] == "batch_done"] == list(
        range(1, batches + 1))
    winner = best(expected)
    document = json.loads((root / "best_config.json").read_text(encoding="utf-8"))
    assert document["eval_id"] == winner.proposal.eval_id
    assert document["objective"] == pytest.approx(winner.objective, abs=1e-12)
    assert document["config"]["train_config"]["lr"] == winner.proposal.params["lr"]
    assert f"best so far: {winner.proposal.eval_id}" in done.stdout
    plan = json.loads((root / "plan.json").read_text(encoding="utf-8"))
    assert [r["run_id"] for r in plan["runs"]] == [e.proposal.eval_id for e in expected]


@pytest.mark.parametrize("kind", ["successive-halving", "pbt"])
def test_continued_runs_get_budget_and_a_copy_of_their_parents_checkpoint(
        kind: str, tmp_path: Path) -> None:
    exp = _copy_example(tmp_path)
    name = STRATEGY_FILES[kind]
    assert run_mle("run", exp / f"{name}.yaml").returncode == 0
    root = exp / "runs" / name
    proposals = [p for r in _log(root / "search_log.jsonl") if r["type"] == "proposals"
                 for p in r["evals"]]
    continued = [p for p in proposals if p["parent"]]
    assert continued
    for proposal in continued:
        run = root / proposal["eval_id"]
        config = json.loads((run / f"{proposal['eval_id']}.json").read_text(encoding="utf-8"))
        assert config["train_config"]["num_steps"] == proposal["budget"]
        assert config["mle_search"]["resume_from"] == str(run / "resume_from")
        parent = json.loads((root / proposal["parent"] / "checkpoints" / "seed_0.json")
                            .read_text(encoding="utf-8"))
        copied = json.loads((run / "resume_from" / "seed_0.json").read_text(encoding="utf-8"))
        assert copied == parent and parent["step"] == proposal["resume_budget"]
        steps = [json.loads(line)["time"]["step"]
                 for line in (run / "logs" / "seed_0.jsonl").read_text().splitlines()]
        assert steps == list(range(proposal["resume_budget"] + 1, proposal["budget"] + 1))
    if kind == "pbt":  # exploited members copy a top member and perturb its params
        by_id = {p["eval_id"]: p for p in proposals}
        exploited = [p for p in continued if p["params"] != by_id[p["parent"]]["params"]]
        assert exploited
        for p in exploited:
            ratio = p["params"]["lr"] / by_id[p["parent"]]["params"]["lr"]
            assert ratio == pytest.approx(0.8) or ratio == pytest.approx(1.2) or (
                p["params"]["lr"] in (0.001, 1.0))


HOLD_TRAIN = '''\
"""Runs train.py; odd evaluations of batch 2 wait while HOLD exists (a kill lands there)."""
import json, os, pathlib, runpy, sys, time
here = pathlib.Path(__file__).parent
config = json.loads(pathlib.Path(sys.argv[sys.argv.index("-config") + 1]).read_text())
search = config["mle_search"]
if search["batch"] == 2 and int(search["eval_id"].rsplit("_", 1)[1]) % 2 == 1:
    deadline = time.monotonic() + 60
    while (here / "HOLD").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
runpy.run_path(str(here / "train.py"), run_name="__main__")
with open(here / "completed.txt", "a") as handle:
    handle.write(search["eval_id"] + "\\n")
'''


def _wait_for(predicate: Any, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


@pytest.mark.parametrize("kind", ["smbo", "successive-halving"])
def test_resumed_search_continues_from_the_last_finished_batch(kind: str,
                                                               tmp_path: Path) -> None:
    exp = _copy_example(tmp_path)
    name = STRATEGY_FILES[kind]
    (exp / "hold_train.py").write_text(HOLD_TRAIN, encoding="utf-8")
    meta = exp / f"{name}.yaml"
    meta.write_text(meta.read_text().replace("base_train_fname: train.py",
                                             "base_train_fname: hold_train.py"))
    (exp / "HOLD").touch()
    completed = exp / "completed.txt"
    root = exp / "runs" / name
    first = subprocess.Popen([sys.executable, "-m", "mle_toolbox", "run", str(meta),
                              "--max-running", "8"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        # Batch 2 runs: its even evaluations finish, the odd ones are held.
        _wait_for(lambda: completed.exists() and len(
            [x for x in completed.read_text().split() if x.startswith("b_2_")]) >= 1,
            timeout=30)
        time.sleep(0.3)
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=30)
    finally:
        first.kill()
    assert first.returncode == 143, err  # SIGTERM: 128 + 15, named
    assert "mle: stopped by SIGTERM" in err
    before = _log(root / "search_log.jsonl")
    assert [r["batch"] for r in before if r["type"] == "batch_done"] == [1]
    batch2 = next(r["evals"] for r in before if r["type"] == "proposals" and r["batch"] == 2)
    finished_before = completed.read_text().split()

    (exp / "HOLD").unlink()
    second = run_mle("run", meta, "--max-running", "8")
    assert second.returncode == 0, second.stderr
    after = _log(root / "search_log.jsonl")
    proposals = [r for r in after if r["type"] == "proposals"]
    assert [r["batch"] for r in proposals] == sorted({r["batch"] for r in proposals})
    assert next(r["evals"] for r in proposals if r["batch"] == 2) == batch2  # not re-drawn
    ran = completed.read_text().split()
    assert len(ran) == len(set(ran))  # no evaluation completed twice
    every = [p["eval_id"] for r in proposals for p in r["evals"]]
    assert sorted(ran) == sorted(every)
    assert set(finished_before) < set(ran)
    assert "completed earlier" in second.stdout
    assert (root / "best_config.json").is_file()


def test_failed_evaluations_are_recorded_and_the_search_goes_on(tmp_path: Path) -> None:
    exp = _copy_example(tmp_path)
    base = exp / "base_config.json"
    base.write_text(base.read_text().replace('"x": 0.0,', '"x": 0.0, "fail_above_x": 1.0,'))
    done = run_mle("run", exp / "smbo.yaml", "--max-running", "4")
    assert done.returncode == 1  # honest: some evaluations failed
    records = _log(exp / "runs" / "smbo" / "search_log.jsonl")
    proposals = {p["eval_id"]: p for r in records if r["type"] == "proposals"
                 for p in r["evals"]}
    results = [r for r in records if r["type"] == "result"]
    assert len(results) == len(proposals) == 24
    failed = [r for r in results if r["status"] == "failed"]
    assert failed and len(failed) < len(results)
    for record in results:
        too_big = proposals[record["eval_id"]]["params"]["x"] > 1.0
        assert (record["status"] == "failed") == too_big
        if too_big:
            assert record["objective"] is None and "failed" in record["reason"]
    assert [r["batch"] for r in records if r["type"] == "batch_done"] == [1, 2, 3, 4, 5, 6]
    document = json.loads((exp / "runs" / "smbo" / "best_config.json").read_text())
    assert document["params"]["x"] <= 1.0
    assert "search finished: 24 evaluations" in done.stdout
    assert "diverged: x=" in done.stderr


SEARCH_HEAD = """\
meta_job_args:
  experiment_type: hyperparameter-search
  base_train_fname: train.py
  base_train_config: base_config.json
  experiment_dir: out
param_search_args:
  search_logging: {eval_metrics: [loss]}
  search_resources: {num_search_batches: 2, num_evals_per_batch: 2}
  search_config:
"""
GOOD_SPACE = "    search_params:\n      real: {x: {begin: 0, end: 1}}\n"
KEY = "param_search_args.search_config"
BAD_SPACES = [
    ("begin-above-end", "    search_type: smbo\n    search_params:\n"
     "      real: {x: {begin: 2, end: 1}}\n",
     f"meta.yaml:12: {KEY}.search_params.real.x.end: must be greater than begin (2.0), got 1.0"),
    ("unknown-prior", "    search_type: smbo\n    search_params:\n"
     "      real: {x: {begin: 1, end: 2, prior: normal}}\n",
     f"meta.yaml:12: {KEY}.search_params.real.x.prior: expected one of log-uniform, uniform; "
     "got 'normal'"),
    ("empty-categorical", "    search_type: pbt\n    steps_per_generation: 1\n"
     "    search_params:\n      categorical: {opt: []}\n",
     f"meta.yaml:13: {KEY}.search_params.categorical.opt: expected a non-empty list of "
     "values, got []"),
    ("bins-below-one", "    search_type: hyperband\n    min_budget: 1\n    max_budget: 9\n"
     "    search_params:\n      integer: {w: {begin: 1, end: 4, bins: 0}}\n",
     f"meta.yaml:14: {KEY}.search_params.integer.w.bins: must be at least 1, got 0"),
    ("unknown-search-type", "    search_type: bayes\n" + GOOD_SPACE,
     f"meta.yaml:10: {KEY}.search_type: 'bayes' is not supported; supported: Random (random), "
     "Grid (grid), Coordinate (coordinate), SMBO (smbo), Nevergrad (nevergrad), Halving "
     "(halving, successive-halving, successive_halving), Hyperband (hyperband), PBT (pbt)"),
    ("unknown-sampler", "    search_type: smbo\n    sampler: cmaes\n" + GOOD_SPACE,
     f"meta.yaml:11: {KEY}.sampler: expected one of gp, tpe; got 'cmaes'"),
    ("min-budget-not-below-max", "    search_type: successive-halving\n    min_budget: 9\n"
     "    max_budget: 9\n" + GOOD_SPACE,
     f"meta.yaml:12: {KEY}.max_budget: must be greater than min_budget (9), got 9"),
    ("halving-without-budget", "    search_type: hyperband\n" + GOOD_SPACE,
     f"meta.yaml:9: {KEY}.min_budget: hyperband needs min_budget (or max_resource)"),
    ("eta-below-two", "    search_type: hyperband\n    min_budget: 1\n    max_budget: 9\n"
     "    eta: 1\n" + GOOD_SPACE,
     f"meta.yaml:13: {KEY}.eta: must be at least 2, got 1"),
    ("pbt-without-steps", "    search_type: pbt\n" + GOOD_SPACE,
     f"meta.yaml:9: {KEY}.steps_per_generation: pbt needs steps_per_generation (the budget "
     "each generation trains for)"),
    ("pbt-truncation", "    search_type: pbt\n    steps_per_generation: 2\n"
     "    truncation: 0.9\n" + GOOD_SPACE,
     f"meta.yaml:12: {KEY}.truncation: must be in (0, 0.5], got 0.9"),
    ("perturb-factors", "    search_type: pbt\n    steps_per_generation: 2\n"
     "    perturb_factors: [1.2, -1]\n" + GOOD_SPACE,
     f"meta.yaml:12: {KEY}.perturb_factors: expected a list of positive numbers, "
     "got [1.2, -1]"),
]


@pytest.mark.parametrize(("case", "body", "message"), BAD_SPACES,
                         ids=[c[0] for c in BAD_SPACES])
def test_invalid_search_settings_name_file_line_and_key_and_start_nothing(
        case: str, body: str, message: str, tmp_path: Path) -> None:
    exp = _copy_example(tmp_path)
    (exp / "meta.yaml").write_text(SEARCH_HEAD + body, encoding="utf-8")
    done = run_mle("run", "meta.yaml", cwd=exp)
    assert done.returncode == 2
    assert done.stderr == f"mle: error: {message}\n"
    assert not (exp / "out").exists()


@pytest.mark.parametrize(("text", "message"), [
    ("  search_logging: {}\n", "meta.yaml:8: param_search_args.search_logging.eval_metrics: "
     "smbo search needs the metric to optimise (the first of eval_metrics)"),
    ("  search_logging: {eval_metrics: [loss], aggregate_seeds: p101}\n",
     "meta.yaml:8: param_search_args.search_logging.aggregate_seeds: expected one of mean, "
     "median, min, max or a percentile p0 .. p100; got 'p101'"),
    ("  search_resources: {num_evals_per_batch: 2}\n",
     "meta.yaml:8: param_search_args.search_resources.num_search_batches: smbo search needs "
     "num_search_batches"),
])
def test_smbo_needs_a_metric_and_batches(text: str, message: str, tmp_path: Path) -> None:
    exp = _copy_example(tmp_path)
    key = text.split(":", maxsplit=1)[0]
    head = "".join(line + "\n" for line in SEARCH_HEAD.splitlines()
                   if not line.startswith(key))
    head = head.replace("  search_config:\n", text + "  search_config:\n")
    (exp / "meta.yaml").write_text(head + "    search_type: smbo\n" + GOOD_SPACE)
    done = run_mle("run", "meta.yaml", cwd=exp)
    assert (done.returncode, done.stderr) == (2, f"mle: error: {message}\n")
    assert not (exp / "out").exists()


def test_smbo_without_optuna_names_the_extra_and_writes_nothing(tmp_path: Path) -> None:
    exp = _copy_example(tmp_path)
    blocker = tmp_path / "blocker" / "optuna"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('optuna is not installed')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker.parent), str(REPO)])}
    done = subprocess.run([sys.executable, "-m", "mle_toolbox", "run", str(exp / "smbo.yaml")],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 2
    assert done.stderr == ("mle: error: search_type SMBO needs optuna: "
                           "pip install 'mle_toolbox[search]'\n")
    assert not (exp / "runs").exists()


def test_gp_sampler_without_torch_says_what_to_install(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from mle_toolbox.search.registry import MissingExtra
    from mle_toolbox.search.smbo_optuna import OptunaStrategy

    meta = load_meta(EXAMPLE / "smbo.yaml")
    assert meta.search is not None
    search = dataclasses.replace(meta.search, options=dataclasses.replace(
        meta.search.options, sampler="gp"))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(MissingExtra, match=r"sampler: gp .* needs PyTorch: pip install "
                       r"'mle_toolbox\[search\]' torch"):
        OptunaStrategy(search)
    # With PyTorch there, the study samples with Optuna's GP sampler and the same seed.
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: real("json") if name == "torch" else real(name, *a))
    strategy = OptunaStrategy(search)
    assert type(strategy.study.sampler).__name__ == "GPSampler"
    assert type(OptunaStrategy(meta.search).study.sampler).__name__ == "TPESampler"


def test_objective_aggregates_final_or_best_values_over_seeds(tmp_path: Path) -> None:
    from mle_toolbox.files.documents import SummaryDocument
    from mle_toolbox.search.objective import aggregate, objective

    summary = SummaryDocument.from_json({"metrics": {"acc": {
        "final": {"per_seed": {"0": 0.5, "1": 0.7, "2": 0.9}},
        "best": {"per_seed": {"0": 0.6, "1": 0.8, "2": 1.0}}}}})
    meta = load_meta(EXAMPLE / "smbo.yaml")
    assert meta.search is not None
    search = dataclasses.replace(meta.search, eval_metrics=("acc",))
    for problem, how, expected in [("final", "mean", 0.7), ("best", "mean", 0.8),
                                   ("final", "p90", 0.86), ("best", "median", 0.8),
                                   ("final", "max", 0.9), ("best", "p0", 0.6)]:
        config = dataclasses.replace(search, problem_type=problem, aggregate_seeds=how)
        value, reason = objective(summary, search=config, seeds=(0, 1, 2))
        assert value == pytest.approx(expected) and reason == ""
    assert objective(summary, search=search, seeds=(0, 3)) == (
        None, "no value of 'acc' logged by seed(s) [3]")
    assert aggregate([3.0, 1.0, 2.0, 4.0], "p25") == pytest.approx(1.75)


def test_maximised_metric_uses_the_largest_best_value(tmp_path: Path) -> None:
    exp = _copy_example(tmp_path)
    meta = exp / "successive_halving.yaml"
    # Maximise the loss: the search then looks for the worst configs, and "best" is a max.
    meta.write_text(meta.read_text().replace("max_objective: false", "max_objective: true")
                    .replace("problem_type: final", "problem_type: best")
                    .replace("num_seeds_per_eval: 1", "num_seeds_per_eval: 2"))
    assert run_mle("run", meta).returncode == 0
    root = exp / "runs" / "successive_halving"
    document = json.loads((root / "best_config.json").read_text())
    summary = json.loads((root / document["eval_id"] / "summary.json").read_text())
    best_per_seed = summary["metrics"]["loss"]["best"]["per_seed"]
    assert document["objective"] == pytest.approx(statistics.fmean(best_per_seed.values()))
    results = [r for r in _log(root / "search_log.jsonl") if r["type"] == "result"]
    last = [r for r in results if r["eval_id"].startswith("b_3_")]
    assert document["objective"] == max(r["objective"] for r in last)
    assert all(r["loss"] == -r["objective"] for r in results)


def test_grid_search_writes_best_config_from_its_summaries(tmp_path: Path) -> None:
    shutil.copytree(REPO / "experiments" / "grid_search", tmp_path / "grid",
                    ignore=shutil.ignore_patterns("runs"))
    done = run_mle("run", tmp_path / "grid" / "meta.yaml")
    assert done.returncode == 0, done.stderr
    root = tmp_path / "grid" / "runs" / "grid_search"
    finals = {}
    for path in root.glob("*/summary.json"):
        summary = json.loads(path.read_text())
        finals[path.parent.name] = summary["metrics"]["train_mse"]["final"]["mean"]
    winner = min(finals, key=finals.__getitem__)
    document = json.loads((root / "best_config.json").read_text())
    assert (document["eval_id"], document["metric"]) == (winner, "train_mse")
    assert document["objective"] == pytest.approx(finals[winner])
    plan = json.loads((root / "plan.json").read_text())
    assert document["params"] == next(r["params"] for r in plan["runs"]
                                      if r["run_id"] == winner)
    assert f"best so far: {winner} train_mse=" in done.stdout


def test_a_budget_key_that_cannot_be_set_is_refused_before_anything_is_written(
        tmp_path: Path) -> None:
    exp = _copy_example(tmp_path)
    meta = exp / "successive_halving.yaml"
    meta.write_text(meta.read_text().replace("budget_key: num_steps",
                                             "budget_key: log_config.what_to_track.steps"))
    done = run_mle("run", meta.name, cwd=exp)
    assert done.returncode == 2
    assert done.stderr == (
        "mle: error: successive_halving.yaml: param_search_args.search_config.search_params: "
        "cannot set search parameter 'log_config.what_to_track.steps': "
        "log_config.what_to_track is not a mapping in the base config\n")
    assert not (exp / "runs").exists()


def _small_smbo(exp: Path) -> Path:
    """smbo.yaml with 2 batches of 4 (8 jobs): fast, and every run has the full budget."""
    meta = exp / "smbo.yaml"
    meta.write_text(meta.read_text().replace("num_search_batches: 6", "num_search_batches: 2"))
    return meta


def test_a_search_launch_has_one_history_row_and_a_report_with_the_best_run(
        tmp_path: Path) -> None:
    exp = _copy_example(tmp_path)
    meta = _small_smbo(exp)
    done = run_mle("run", meta, "--purpose", "tune lr")
    assert done.returncode == 0, done.stderr
    root = exp / "runs" / "smbo"
    listed = run_mle("ls", "--json", cwd=exp)
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert (row["state"], row["purpose"], row["exp_dir"]) == ("completed", "tune lr",
                                                             str(root.resolve()))
    assert (row["jobs_total"], row["jobs_completed"], row["jobs_failed"]) == (8, 8, 0)
    best_run = json.loads((root / "best_config.json").read_text())["eval_id"]
    report = (root / "report.md").read_text(encoding="utf-8")
    assert f"## Best run\n\nObjective: `loss`, minimised (max_objective: false).\n\n" \
        f"**{best_run}**: lowest final `loss` as the search ranks it " \
        "(best_config.json)" in report
    assert f"mle: report in {root / 'report.md'}" in done.stdout
    # A finished search: the next launch has nothing to run, a dry run says so.
    again = run_mle("run", meta, "--dry-run")
    assert again.returncode == 0, again.stderr
    assert "smbo search: finished after 2 batches; nothing left to run" in again.stdout
    assert "jobs        0 to run" in again.stdout


def test_no_report_flag_and_a_failed_search_in_the_history(tmp_path: Path) -> None:
    exp = _copy_example(tmp_path)
    base = exp / "base_config.json"
    base.write_text(base.read_text().replace('"x": 0.0,', '"x": 0.0, "fail_above_x": 1.0,'))
    done = run_mle("run", _small_smbo(exp), "--no-report")
    assert done.returncode == 1
    root = exp / "runs" / "smbo"
    assert not (root / "report.md").exists() and (root / "best_config.json").is_file()
    [row] = json.loads(run_mle("ls", "--json", cwd=exp).stdout)
    assert row["state"] == "failed" and row["jobs_failed"] > 0
    assert row["jobs_completed"] + row["jobs_failed"] == row["jobs_total"] == 8


def test_dry_run_shows_the_first_batch_and_writes_nothing(tmp_path: Path) -> None:
    exp = _copy_example(tmp_path)
    meta = exp / "successive_halving.yaml"
    before = sorted(p.relative_to(exp) for p in exp.rglob("*"))
    done = run_mle("run", meta, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert sorted(p.relative_to(exp) for p in exp.rglob("*")) == before
    rung = [e.proposal for e in simulate(load_meta(meta), seed=0)
            if e.proposal.eval_id.startswith("b_1_")]
    assert len(rung) == 9
    out = done.stdout
    assert "jobs        9 to run: 9 runs x 1 seeds" in out
    assert "successive-halving search: batch 1 shown, 9 evaluations:" in out
    for proposal in rung:
        params = " ".join(f"{k}={v}" for k, v in proposal.params.items())
        assert f"  {proposal.eval_id}: {params} budget={proposal.budget}" in out
        config = exp / "runs" / "successive_halving" / proposal.eval_id / (
            f"{proposal.eval_id}.json")
        assert f"-config {config} -seed 0" in out
    assert "b_2_" not in out


FLAKY_TRAIN = '''\
"""Runs train.py; b_1_eval_1 fails its first attempt (a flaky node)."""
import json, os, pathlib, runpy, sys
config = json.loads(pathlib.Path(sys.argv[sys.argv.index("-config") + 1]).read_text())
if config["mle_search"]["eval_id"] == "b_1_eval_1" and os.environ["MLE_ATTEMPT"] == "1":
    sys.exit("flaky: first attempt fails")
runpy.run_path(str(pathlib.Path(__file__).parent / "train.py"), run_name="__main__")
'''


def test_search_jobs_go_through_the_job_table_with_retries(tmp_path: Path) -> None:
    exp = _copy_example(tmp_path)
    (exp / "flaky_train.py").write_text(FLAKY_TRAIN, encoding="utf-8")
    meta = _small_smbo(exp)
    meta.write_text(meta.read_text().replace("base_train_fname: train.py",
                                             "base_train_fname: flaky_train.py"))
    done = run_mle("run", meta, "--max-retries", "1")
    assert done.returncode == 0, done.stderr
    assert "retrying b_1_eval_1-seed0 after: exit code 1" in done.stderr
    root = exp / "runs" / "smbo"
    expected = simulate(load_meta(meta), seed=0)  # the retry changes no result
    results = {r["eval_id"]: r["objective"] for r in _log(root / "search_log.jsonl")
               if r["type"] == "result"}
    assert results == pytest.approx({e.proposal.eval_id: e.objective for e in expected})
    assert (root / "b_1_eval_1" / "jobs" / "seed_0" / "attempts" / "1" / "stderr.log"
            ).read_text().strip().endswith("flaky: first attempt fails")
    status = run_mle("status", root)
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith(f"mle: {root}: 8 jobs: 8 completed\n")
    cancel = run_mle("cancel", root)
    assert cancel.stdout == f"mle: nothing of {root} is queued or running\n"


@pytest.mark.parametrize(("flag", "message"), [
    ("--force", "finished batches of an adaptive search are replayed from"),
    ("--rerun-failed", "warning: --rerun-failed reruns the failed jobs of the unfinished "
     "batch only"),
])
def test_flags_a_search_cannot_honour_are_refused_or_warned(flag: str, message: str,
                                                            tmp_path: Path) -> None:
    exp = _copy_example(tmp_path)
    done = run_mle("run", exp / "successive_halving.yaml", flag)
    assert message in done.stderr
    if flag == "--force":
        assert done.returncode == 2 and done.stderr.startswith("mle: error: --force: ")
        assert not (exp / "runs").exists() and not (exp / ".mle").exists()
    else:
        assert done.returncode == 0, done.stderr


def test_detach_is_refused_for_a_search_on_any_backend(tmp_path: Path) -> None:
    # On the local backend launch_options refuses --detach already; a cluster one reaches here.
    from mle_toolbox.errors import ConfigError
    from mle_toolbox.files.layout import ExperimentLayout
    from mle_toolbox.launcher.recorded_run import LaunchOptions
    from mle_toolbox.search.loop import _check_flags

    layout = ExperimentLayout(tmp_path / "out")
    with pytest.raises(ConfigError, match="mle must run to follow it; Ctrl\\+C detaches "
                       "from a cluster batch") as err:
        _check_flags(LaunchOptions(detach=True), layout=layout)
    assert str(err.value).startswith("--detach: an adaptive search proposes each batch")
    assert not layout.root.exists()


def test_report_of_a_halving_search_names_the_run_best_config_json_names(
        tmp_path: Path) -> None:
    """Figure: the report's best run == best_config.json's (largest budget), not a
    low-budget run whose loss merely looks lower."""
    exp = _copy_example(tmp_path)
    done = run_mle("run", exp / "successive_halving.yaml")
    assert done.returncode == 0, done.stderr
    root = next(p.parent for p in (exp / "runs").glob("*/best_config.json"))
    best = json.loads((root / "best_config.json").read_text())
    budgets = [e["budget"] for line in _log(root / "search_log.jsonl")
               if line["type"] == "proposals" for e in line["evals"]]
    assert best["budget"] == max(budgets) == 9
    report = (root / "report.md").read_text(encoding="utf-8")
    assert f"## Best run\n\nObjective: `loss`, minimised (max_objective: false).\n\n" \
        f"**{best['eval_id']}**: lowest final `loss` as the search ranks " \
        "it (best_config.json)" in report
