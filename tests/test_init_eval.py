"""``mle init`` scaffolds a project that runs; ``mle eval`` evaluates finished runs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import run_mle, write
from tests.gallery import read_json, rows

pytestmark = pytest.mark.timeout(90)
FILES = ["train.py", "eval.py", "configs/base.json", "meta_seeds.yaml", "meta_grid.yaml",
         ".gitignore"]


def _swept(tmp_path: Path) -> Path:
    """A new project after ``mle run meta_seeds.yaml`` (3 seeds, then eval.py on each)."""
    project = tmp_path / "proj"
    assert run_mle("init", project).returncode == 0
    result = run_mle("run", "meta_seeds.yaml", cwd=project)
    assert result.returncode == 0, result.stderr
    return project


def test_init_writes_the_project_and_prints_the_commands(tmp_path: Path) -> None:
    result = run_mle("init", "my project", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    project = tmp_path / "my project"
    assert sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()) == (
        sorted(FILES))
    assert "  cd 'my project' && mle run meta_seeds.yaml\n" in result.stdout
    assert "  cd 'my project' && mle run meta_grid.yaml\n" in result.stdout
    assert "  cd 'my project' && mle eval runs/seeds --checkpoint best\n" in result.stdout
    assert "// " in (project / "configs" / "base.json").read_text()  # commented config
    assert "from mle_toolbox import MLExperiment" in (project / "train.py").read_text()


def test_the_scaffolded_sweep_trains_saves_and_evaluates(tmp_path: Path) -> None:
    project = _swept(tmp_path)
    exp = project / "runs" / "seeds"
    for seed in range(3):
        trained = rows(exp / "base" / "logs" / f"seed_{seed}.jsonl")
        assert trained[-1]["time"]["epoch"] == 19 and trained[-1]["stats"]["test_mse"] < 0.05
        assert (exp / "base" / "checkpoints" / f"seed_{seed}" / "final.npz").is_file()
        evaluated = rows(exp / "base" / "eval" / "logs" / f"seed_{seed}.jsonl")
        # eval.py reloads the final model: the same test error as logged at the end
        assert evaluated[0]["stats"]["eval_test_mse"] == pytest.approx(
            trained[-1]["stats"]["test_mse"], rel=1e-12)
        assert evaluated[0]["stats"]["eval_r2"] > 0.95
    assert read_json(exp / "base" / "summary.json")["eval"]["metrics"]["eval_r2"]["final"][
        "mean"] > 0.95


def test_the_scaffolded_grid_search_runs(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    assert run_mle("init", project).returncode == 0
    result = run_mle("run", "meta_grid.yaml", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "mle: 8 jobs: 8 completed" in result.stdout
    lrates = {read_json(project / "runs" / "grid" / f"b_1_eval_{i}" / f"b_1_eval_{i}.json")
              ["train_config"]["lrate"] for i in range(4)}
    assert len(lrates) == 4 and min(lrates) == pytest.approx(0.001)


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path / "train.py", "mine\n")
    result = run_mle("init", tmp_path)
    assert result.returncode == 2
    assert result.stderr == (f"mle: error: {tmp_path} already has train.py; nothing was "
                             "written. Use --force to overwrite them, or choose another "
                             "directory\n")
    assert [p.name for p in tmp_path.iterdir()] == ["train.py"]
    assert (tmp_path / "train.py").read_text() == "mine\n"
    forced = run_mle("init", tmp_path, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "MLExperiment" in (tmp_path / "train.py").read_text()
    assert all((tmp_path / name).is_file() for name in FILES)


def test_init_into_a_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "afile", "x\n")
    result = run_mle("init", tmp_path / "afile", "--force")
    assert (result.returncode, result.stderr) == (
        2, f"mle: error: {tmp_path / 'afile'} exists and is not a directory\n")


def test_eval_of_a_finished_run_writes_its_metrics_again(tmp_path: Path) -> None:
    project = _swept(tmp_path)
    exp = project / "runs" / "seeds"
    result = run_mle("eval", "runs/seeds", "--checkpoint", "best", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "mle: 3 evaluations: 3 completed, 0 not" in result.stdout
    summary = read_json(exp / "base" / "eval" / "summary.json")["metrics"]["eval_r2"]["final"]
    assert "  base: eval_test_mse " in result.stdout
    assert f"eval_r2 {summary['mean']:.4g} ± {summary['std']:.2g}" in result.stdout
    report = read_json(exp / "eval_report.json")
    assert report["checkpoint"] == "best"
    for entry in report["evaluations"]:
        assert Path(entry["checkpoint"]).name.startswith("step_")  # a top-k checkpoint
        files = exp / "base" / "eval" / "jobs" / f"seed_{entry['seed']}"
        assert (files / "exit_code").read_text() == "0\n"
        # the evaluation of the sweep was moved aside, not appended to
        assert (files / "attempts" / "1" / f"seed_{entry['seed']}.jsonl").is_file()
        assert len(rows(exp / "base" / "eval" / "logs" / f"seed_{entry['seed']}.jsonl")) == 1
    assert read_json(exp / "base" / "eval" / "summary.json")["seeds"] == [0, 1, 2]


def test_eval_with_a_missing_checkpoint_names_run_and_path_and_runs_nothing(
        tmp_path: Path) -> None:
    project = _swept(tmp_path)
    exp = project / "runs" / "seeds"
    (exp / "base" / "checkpoints" / "seed_1" / "final.npz").unlink()
    report_before = (exp / "eval_report.json").read_text()
    result = run_mle("eval", exp, cwd=tmp_path)
    assert result.returncode == 2
    folder = exp / "base" / "checkpoints" / "seed_1"
    assert result.stderr.startswith("mle: error: nothing was evaluated:\n"
                                    f"  run base seed 1: no checkpoint 'final' in {folder}")
    assert not (exp / "base" / "eval" / "jobs" / "seed_0" / "attempts").exists()
    assert (exp / "eval_report.json").read_text() == report_before


def test_eval_with_another_script_reports_its_failure(tmp_path: Path) -> None:
    project = _swept(tmp_path)
    write(project / "broken.py", "import sys\nprint('no luck', file=sys.stderr)\nsys.exit(4)\n")
    result = run_mle("eval", "runs/seeds", "--script", "broken.py", cwd=project)
    assert result.returncode == 1
    assert "mle: eval failed: base-seed0: exit code 4\n    | no luck" in result.stderr
    report = read_json(project / "runs" / "seeds" / "eval_report.json")
    assert {e["state"] for e in report["evaluations"]} == {"failed"}
    assert report["script"] == str(project / "broken.py")


def test_eval_stops_a_script_at_its_timeout(tmp_path: Path) -> None:
    project = _swept(tmp_path)
    write(project / "slow.py", "import time\ntime.sleep(60)\n")
    started = time.monotonic()
    result = run_mle("eval", "runs/seeds", "--script", "slow.py", "--timeout", "1",
                     cwd=project)
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    assert "failed    base-seed0" in result.stdout
    assert "timed out after 00:00:01 (time_per_job)" in result.stdout
    report = read_json(project / "runs" / "seeds" / "eval_report.json")
    assert {e["state"] for e in report["evaluations"]} == {"failed"}


def test_eval_refuses_bad_input(tmp_path: Path, project: Path) -> None:
    not_exp = run_mle("eval", tmp_path / "nowhere")
    assert not_exp.returncode == 2
    assert not_exp.stderr == f"mle: error: {tmp_path / 'nowhere'}: no such experiment directory\n"
    assert run_mle("run", "meta.yaml", cwd=project).returncode == 0
    no_script = run_mle("eval", "out", cwd=project)
    assert no_script.returncode == 2
    assert no_script.stderr == ("mle: error: --script: no evaluation script: give --script "
                                "FILE, or post_process_args.process_fname in "
                                f"{project / 'meta.yaml'}\n")
    bad_name = run_mle("eval", "out", "--script", "train.py", "--checkpoint", "../x",
                       cwd=project)
    assert bad_name.returncode == 2 and "--checkpoint: expected final, best" in bad_name.stderr
    # this project's train.py saves no model: a clear error instead of a run
    no_model = run_mle("eval", "out", "--script", "train.py", cwd=project)
    assert no_model.returncode == 2
    assert "run a seed 0: no checkpoint 'final'" in no_model.stderr
    assert "does train.py call mle.log.save_model(model)?" in no_model.stderr


def test_post_processing_skips_failed_jobs_and_shows_in_the_dry_run(tmp_path: Path) -> None:
    write(tmp_path / "train.py", """\
        import sys
        from mle_toolbox import MLExperiment
        mle = MLExperiment()
        if mle.seed_id == 1:
            sys.exit(3)
        mle.log.save_model({"scale": 10 * (mle.seed_id + 1)})
        """)
    write(tmp_path / "score.py", """\
        from mle_toolbox import MLExperiment, load_checkpoint
        mle = MLExperiment()
        model = load_checkpoint(mle.extra_args["checkpoint"])
        mle.log.update({"step": 0}, {"score": model["scale"] * int(mle.extra_args["k"])},
                       save=True)
        """)
    write(tmp_path / "c.json", "{}\n")
    write(tmp_path / "meta.yaml", """\
        meta_job_args:
          experiment_type: single-config
          base_train_fname: train.py
          base_train_config: c.json
          experiment_dir: out
        multi_config_args:
          num_seeds: 3
        post_process_args:
          process_fname: score.py
          extra_cmd_line_input: {k: 2}
        """)
    dry = run_mle("run", "meta.yaml", "--dry-run", cwd=tmp_path)
    assert (f"eval        {tmp_path / 'score.py'} on each finished job after the sweep "
            "(checkpoint final, at most 600s each)") in dry.stdout
    result = run_mle("run", "meta.yaml", cwd=tmp_path)
    assert result.returncode == 1  # seed 1 failed training
    assert "mle: post-processing: score.py on 2 finished jobs" in result.stdout
    summary = read_json(tmp_path / "out" / "c" / "summary.json")
    assert summary["eval"]["metrics"]["score"]["final"]["per_seed"] == {"0": 20.0, "2": 60.0}
    assert not (tmp_path / "out" / "c" / "eval" / "jobs" / "seed_1").exists()
