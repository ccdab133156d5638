"""mle-toolbox 0.3.x projects on the launcher side: paths, ``mle run`` flags, folders.

Each project here is written the way mle-toolbox 0.3.x examples are laid out: one
folder per topic under a top folder that ``mle run`` is started from, paths in the
YAML relative to that top folder, results in a shared ``experiments/`` folder.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import TRAIN_PY, run_mle, write

UPSTREAM_YAML = """\
meta_job_args:
    project_name: "examples"
    experiment_type: "single-config"
    base_train_fname: "toy/train.py"
    base_train_config: "toy/base.json"
    experiment_dir: "experiments/toy_single"
single_job_args:
    job_name: "toy"
    num_logical_cores: 1
"""


def _upstream_project(top: Path) -> Path:
    write(top / "toy" / "train.py", TRAIN_PY)
    write(top / "toy" / "base.json", '{"train_config": {"lrate": 0.1, "steps": 2}}\n')
    return write(top / "toy" / "single.yaml", UPSTREAM_YAML)


def _hash(root: Path) -> str:
    return str(json.loads((root / "plan.json").read_text())["jobs"][0]["config_hash"])


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_upstream_paths_resolve_from_the_working_directory(tmp_path: Path) -> None:
    _upstream_project(tmp_path)
    result = run_mle("run", "toy/single.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "experiments" / "toy_single" / "base"
    assert (run_dir / "logs" / "seed_0.jsonl").is_file()
    # Jobs run in the working directory, as upstream's do.
    plan = json.loads((tmp_path / "experiments" / "toy_single" / "plan.json").read_text())
    assert plan["work_dir"] == str(tmp_path)
    assert plan["project_dir"] == str(tmp_path)


def test_own_paths_resolve_from_the_yaml_folder_from_anywhere(tmp_path: Path) -> None:
    write(tmp_path / "proj" / "train.py", TRAIN_PY)
    write(tmp_path / "proj" / "a.json", '{"train_config": {"lrate": 0.1, "steps": 1}}\n')
    meta = write(tmp_path / "proj" / "meta.yaml", "meta_job_args:\n  base_train_fname: "
                 "train.py\n  base_train_config: a.json\n  experiment_dir: out\n")
    assert run_mle("run", meta, cwd=tmp_path).returncode == 0
    assert (tmp_path / "proj" / "out" / "a" / "logs" / "seed_0.jsonl").is_file()
    assert run_mle("run", "meta.yaml", cwd=tmp_path / "proj").returncode == 0


def test_two_different_files_of_one_name_are_refused(tmp_path: Path) -> None:
    meta = _upstream_project(tmp_path / "top")
    # The YAML folder also has a toy/train.py that is not the working directory's one.
    write(tmp_path / "top" / "toy" / "toy" / "train.py", "print('other')\n")
    result = run_mle("run", "toy/single.yaml", cwd=tmp_path / "top")
    assert result.returncode == 2
    assert result.stderr == (
        "mle: error: toy/single.yaml:4: meta_job_args.base_train_fname: train script "
        "'toy/train.py' names two different files: toy/train.py (from the working "
        "directory) and toy/toy/train.py (from the meta YAML's folder); write the path so "
        "that it names one of them\n")
    assert not (tmp_path / "top" / "experiments").exists()
    assert meta.is_file()


def test_missing_file_names_both_places(tmp_path: Path) -> None:
    _upstream_project(tmp_path)
    (tmp_path / "toy" / "base.json").unlink()
    result = run_mle("run", "toy/single.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "mle: error: toy/single.yaml:5: meta_job_args.base_train_config: base config "
        f"'toy/base.json' does not exist in the working directory ({tmp_path}) nor in the "
        f"meta YAML's folder ({tmp_path / 'toy'})\n")
    assert _tree(tmp_path) == ["toy", "toy/single.yaml", "toy/train.py"]


def test_upstream_run_flags_are_accepted_with_their_meaning(tmp_path: Path) -> None:
    _upstream_project(tmp_path)
    write(tmp_path / "toy" / "other.json", '{"train_config": {"lrate": 0.3, "steps": 1}}\n')
    result = run_mle("run", "toy/single.yaml", "-nw", "-d", "-resource", "local",
                     "-train_config", "toy/other.json", "-exp_dir", "experiments/flagged",
                     "-del", "-reconnect", "-p", "Test", "report", "generation", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert ("mle: note: -del/--keep_after_upload (Google Cloud uploads), -reconnect/"
            "--remote_reconnect (ssh launches): accepted for mle-toolbox command lines; no "
            "effect here\n") in result.stderr
    root = tmp_path / "experiments" / "flagged"
    assert (root / "other" / "logs" / "seed_0.jsonl").is_file()
    debug_lines = [line for line in (root / "launcher.log").read_text().splitlines()
                   if " DEBUG " in line]
    assert len(debug_lines) == 1 and debug_lines[0].endswith(" DEBUG to run: other-seed0 "
                                                             f"(config hash {_hash(root)})")
    assert not (tmp_path / "experiments" / "toy_single").exists()
    with sqlite3.connect(tmp_path / ".mle" / "history.sqlite") as conn:
        purposes = [row[0] for row in conn.execute("SELECT purpose FROM experiments")]
    assert purposes == ["Test report generation"]
    # -np: no row in the history
    again = run_mle("run", "toy/single.yaml", "-np", "-exp_dir", "experiments/np", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert " DEBUG " not in (tmp_path / "experiments" / "np" / "launcher.log").read_text()
    with sqlite3.connect(tmp_path / ".mle" / "history.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM experiments").fetchone() == (1,)


def test_resume_reads_the_yaml_as_the_first_launch_did(tmp_path: Path) -> None:
    _upstream_project(tmp_path)
    assert run_mle("run", "toy/single.yaml", "-exp_dir", "experiments/r", cwd=tmp_path
                   ).returncode == 0
    # From another folder: same working directory and -exp_dir as the first launch.
    result = run_mle("resume", tmp_path / "experiments" / "r", cwd=tmp_path / "toy")
    assert result.returncode == 0, result.stderr
    assert "1 of 1 jobs completed earlier with the same config; skipped" in result.stdout


def test_bad_upstream_flag_values(tmp_path: Path) -> None:
    _upstream_project(tmp_path)
    cases = [
        (("-resource", "gcp-cloud"), "mle: error: --resource_to_run: expected one of local, "
         "sge-cluster, slurm-cluster (or local, sge, sge-drmaa, slurm); got 'gcp-cloud'\n"),
        (("-resource", "sge-cluster", "--backend", "local"), "mle: error: "
         "--resource_to_run: conflicts with --backend local ('sge-cluster' is sge); give one\n"),
        (("-train_fname", "nope.py"), "mle: error: --base_train_fname: train script "
         "'nope.py' does not exist\n"),
    ]
    for flags, message in cases:
        result = run_mle("run", "toy/single.yaml", *flags, cwd=tmp_path)
        assert (result.returncode, result.stderr) == (2, message)
    assert not (tmp_path / "experiments").exists()


def test_a_shared_experiments_folder_holds_many_experiments(tmp_path: Path) -> None:
    _upstream_project(tmp_path)
    shared = UPSTREAM_YAML.replace("experiments/toy_single", "experiments")
    write(tmp_path / "toy" / "shared.yaml", shared)
    write(tmp_path / "experiments" / "older_study" / "plan.json", "{}\n")
    write(tmp_path / "experiments" / "notes.txt", "kept\n")
    result = run_mle("run", "toy/shared.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    root = tmp_path / "experiments"
    assert (root / "experiment_config.yaml").read_text() == shared
    assert (root / "base" / "logs" / "seed_0.jsonl").is_file()
    assert (root / "notes.txt").read_text() == "kept\n"
    # A second YAML into the same folder is a real conflict: refused, nothing changed.
    other = write(tmp_path / "toy" / "other.yaml", shared.replace('"toy"', '"other"'))
    before = (root / "plan.json").read_text()
    result = run_mle("run", other, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        f"mle: error: experiment_dir {root} holds the results of another experiment "
        f"(launched from {tmp_path / 'toy' / 'shared.yaml'}); give this meta YAML its own "
        "experiment_dir (or run it with -exp_dir DIR) so nothing is overwritten\n")
    assert (root / "plan.json").read_text() == before
    # ... and runs with -exp_dir beside it.
    assert run_mle("run", other, "-exp_dir", "experiments/other", cwd=tmp_path
                   ).returncode == 0


CONDA_YAML = UPSTREAM_YAML + '    env_name: "mle-toolbox"\n    use_conda_venv: true\n'


def _without_conda() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CONDA_EXE"}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep)
                                  if not (Path(p) / "conda").exists())
    return env


def test_conda_env_without_conda_runs_with_the_launchers_python(tmp_path: Path) -> None:
    _upstream_project(tmp_path)
    write(tmp_path / "toy" / "single.yaml", CONDA_YAML)
    warning = ("mle: warning: toy/single.yaml:10: single_job_args.env_name: conda is not "
               f"installed here (no conda on PATH); jobs run with the launcher's Python "
               f"{sys.executable} instead of conda env 'mle-toolbox'\n")
    dry = subprocess.run([sys.executable, "-m", "mle_toolbox", "run", "toy/single.yaml",
                          "--dry-run"], cwd=tmp_path, env=_without_conda(),
                         capture_output=True, text=True, timeout=60, check=False)
    assert dry.returncode == 0, dry.stderr
    assert dry.stderr.count(warning) == 1
    assert f"command {sys.executable} " in dry.stdout
    run = subprocess.run([sys.executable, "-m", "mle_toolbox", "run", "toy/single.yaml"],
                         cwd=tmp_path, env=_without_conda(), capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count(warning) == 1


def test_missing_conda_env_fails_before_anything_starts(tmp_path: Path) -> None:
    _upstream_project(tmp_path)
    write(tmp_path / "toy" / "single.yaml", CONDA_YAML)
    fake = write(tmp_path / "bin" / "conda", "#!/bin/sh\necho '{\"envs\": "
                 "[\"/opt/conda\", \"/opt/conda/envs/jax\"]}'\n")
    fake.chmod(0o755)
    env = {**_without_conda(), "CONDA_EXE": str(fake)}
    result = subprocess.run([sys.executable, "-m", "mle_toolbox", "run", "toy/single.yaml"],
                            cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr == (
        "mle: error: toy/single.yaml:10: single_job_args.env_name: conda env 'mle-toolbox' "
        "does not exist (conda env list: base, jax); create it or change env_name\n")
    assert not (tmp_path / "experiments").exists()


def test_time_per_job_is_days_hours_minutes(tmp_path: Path) -> None:
    _upstream_project(tmp_path)
    write(tmp_path / "toy" / "single.yaml", UPSTREAM_YAML + '    time_per_job: "01:02:05"\n')
    dry = run_mle("run", "toy/single.yaml", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    # 1 day 2 hours 5 minutes, for the launcher's own limit and every scheduler script.
    assert "time=26:05:00 " in dry.stdout
    for backend, directive in (("sge", "#$ -l h_rt=26:05:00"),
                               ("slurm", "#SBATCH --time=26:05:00")):
        script = run_mle("run", "toy/single.yaml", "--dry-run", "--backend", backend,
                         cwd=tmp_path)
        if script.returncode == 2 and "not available" in script.stderr:
            continue  # no such scheduler on this machine: the unit tests render scripts
        assert directive in script.stdout, script.stdout + script.stderr


def test_status_json_agrees_after_a_time_limit_kill(tmp_path: Path) -> None:
    _upstream_project(tmp_path)
    write(tmp_path / "toy" / "train.py", "import time\nfrom mle_toolbox import MLExperiment\n"
          "mle = MLExperiment()\ntime.sleep(60)\n")
    write(tmp_path / "toy" / "single.yaml", UPSTREAM_YAML + "    time_per_job: 1s\n")
    result = run_mle("run", "toy/single.yaml", cwd=tmp_path)
    assert result.returncode == 1
    job_dir = tmp_path / "experiments" / "toy_single" / "base" / "jobs" / "seed_0"
    status = json.loads((job_dir / "status.json").read_text())
    assert (status["state"], status["error"]) == ("failed",
                                                  "timed out after 00:00:01 (time_per_job)")
    assert status["end"] >= status["start"]
    shown = run_mle("status", "experiments/toy_single", cwd=tmp_path)
    assert "failed" in shown.stdout and "running" not in shown.stdout.replace("0 running", "")


GRID_YAML = """\
meta_job_args:
    project_name: "examples"
    experiment_type: "hyperparameter-search"
    base_train_fname: "toy/train.py"
    base_train_config: "toy/base.json"
    experiment_dir: "experiments/toy_grid"
param_search_args:
    search_logging:
        reload_log: false
        verbose_log: true
        eval_metrics: ["loss"]
    search_resources:
        num_search_batches: 1
        num_evals_per_batch: 2
        num_seeds_per_eval: 1
    search_config:
        search_type: "grid"
        search_schedule: "sync"
        search_params:
            categorical:
                lrate: [0.1, 0.5]
"""


def test_a_search_without_max_objective_maximises(tmp_path: Path) -> None:
    _upstream_project(tmp_path)
    write(tmp_path / "toy" / "grid.yaml", GRID_YAML)
    line = ("search: grid, objective loss: maximise (max_objective: true), mean over seeds")
    dry = run_mle("run", "toy/grid.yaml", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert f"\n{line.replace('search: ', 'search      ')}\n" in dry.stdout
    result = run_mle("run", "toy/grid.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"mle: {line}\n" in result.stdout
    root = tmp_path / "experiments" / "toy_grid"
    best = json.loads((root / "best_config.json").read_text())
    # loss = lrate * (10 - step) + seed: the larger lrate has the larger final loss.
    assert best["params"] == {"lrate": 0.5} and best["max_objective"] is True
    report = (root / "report.md").read_text()
    assert "Objective: `loss`, maximised (max_objective: true)." in report
    assert "highest final `loss`" in report


def test_version_succeeds_the_last_mle_toolbox_release() -> None:
    import mle_toolbox

    assert mle_toolbox.__version__ == "0.4.0"
    major, minor, patch = (int(part) for part in mle_toolbox.__version__.split("."))
    assert (major, minor, patch) > (0, 3, 5)  # a mle_toolbox>=0.3 requirement is met
    shown = run_mle("--version")
    assert (shown.returncode, shown.stdout) == (0, "mle_toolbox 0.4.0\n")


PRE_PY = """\
import argparse, json, os
parser = argparse.ArgumentParser()
parser.add_argument("-exp_dir", "--experiment_dir")
parser.add_argument("-data_dir", "--data_dir")
args = parser.parse_args()
os.makedirs(args.data_dir, exist_ok=True)
with open(os.path.join(args.data_dir, "prepared.json"), "w") as f:
    json.dump({"exp_dir": args.experiment_dir}, f)
"""
# The train script needs what pre-processing prepared.
TRAIN_NEEDS_DATA = """\
import json
from mle_toolbox import MLExperiment
mle = MLExperiment()
prepared = json.load(open("data/prepared.json"))
mle.log.update({"step": 0}, {"loss": mle.train_config.lrate}, save=True)
"""
POST_PY = """\
import argparse, glob, os, sys
parser = argparse.ArgumentParser()
parser.add_argument("-exp_dir", "--experiment_dir")
parser.add_argument("-fail", "--fail", default="no")
args = parser.parse_args()
logs = sorted(glob.glob(os.path.join(args.experiment_dir, "*", "logs", "seed_*.jsonl")))
with open(os.path.join(args.experiment_dir, "post.txt"), "w") as f:
    f.write(str(len(logs)) + "\\n")
sys.exit(4 if args.fail == "yes" else 0)
"""
PROCESSING_YAML = UPSTREAM_YAML + """\
pre_processing_args:
    processing_fname: "toy/pre.py"
    processing_job_args:
        num_logical_cores: 1
        time_per_job: "00:00:01"
    extra_cmd_line_input:
        data_dir: "data"
post_processing_args:
    processing_fname: "toy/post.py"
    processing_job_args:
        time_per_job: "00:00:01"
    extra_cmd_line_input:
        fail: "FAIL"
"""


def _processing_project(top: Path, *, fail_post: str = "no") -> None:
    _upstream_project(top)
    write(top / "toy" / "train.py", TRAIN_NEEDS_DATA)
    write(top / "toy" / "pre.py", PRE_PY)
    write(top / "toy" / "post.py", POST_PY)
    write(top / "toy" / "single.yaml", PROCESSING_YAML.replace("FAIL", fail_post))


def test_pre_and_post_processing_jobs_run_once_around_the_sweep(tmp_path: Path) -> None:
    _processing_project(tmp_path)
    root = tmp_path / "experiments" / "toy_single"
    dry = run_mle("run", "toy/single.yaml", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert (f"processing  pre-processing (before the jobs): {sys.executable} "
            f"{tmp_path / 'toy' / 'pre.py'} -exp_dir {root} -data_dir data") in dry.stdout
    assert not root.exists() and not (tmp_path / "data").exists()
    result = run_mle("run", "toy/single.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((tmp_path / "data" / "prepared.json").read_text()) == {
        "exp_dir": str(root)}
    assert (root / "post.txt").read_text() == "1\n"  # after the one job had logged
    for stage in ("pre_processing", "post_processing"):
        assert (root / stage / "jobs" / "seed_0" / "exit_code").read_text() == "0\n"
    assert result.stdout.index("pre-processing job completed") < result.stdout.index(
        "post-processing job completed")


def test_a_failed_processing_job_counts_in_the_exit_code(tmp_path: Path) -> None:
    _processing_project(tmp_path, fail_post="yes")
    result = run_mle("run", "toy/single.yaml", cwd=tmp_path)
    assert result.returncode == 1
    root = tmp_path / "experiments" / "toy_single"
    assert (root / "post_processing" / "jobs" / "seed_0" / "exit_code").read_text() == "4\n"
    assert "mle: post-processing job failed: exit code 4" in result.stderr
    # A failing pre-processing job: the sweep's jobs never start.
    write(tmp_path / "toy" / "pre.py", "import sys\nsys.exit(5)\n")
    again = run_mle("run", "toy/single.yaml", "-exp_dir", "experiments/second", cwd=tmp_path)
    assert again.returncode == 1
    assert "mle: the experiment's jobs were not started (pre-processing failed)" in again.stderr
    assert not (tmp_path / "experiments" / "second" / "base").exists()


def test_processing_args_bad_input(tmp_path: Path) -> None:
    _upstream_project(tmp_path)
    cases = [
        ("pre_processing_args:\n    processing_fname: toy/nope.py\n",
         "toy/single.yaml:11: pre_processing_args.processing_fname: pre-processing script "
         f"'toy/nope.py' does not exist in the working directory ({tmp_path}) nor in the "
         f"meta YAML's folder ({tmp_path / 'toy'})"),
        ("post_processing_args:\n    processing_fname: toy/train.py\n"
         "    extra_cmd_line_input:\n        exp_dir: x\n",
         "toy/single.yaml:13: post_processing_args.extra_cmd_line_input.exp_dir: is set by mle "
         "(the experiment directory); choose another name"),
        ("post_processing_args:\n    processing_job_args:\n        time_per_job: soon\n",
         "toy/single.yaml:10: post_processing_args.processing_fname: required key is missing"),
    ]
    for extra, message in cases:
        write(tmp_path / "toy" / "single.yaml", UPSTREAM_YAML + extra)
        result = run_mle("run", "toy/single.yaml", cwd=tmp_path)
        assert (result.returncode, result.stderr) == (2, f"mle: error: {message}\n")
    assert not (tmp_path / "experiments").exists()


def test_a_list_of_base_configs_runs_one_search_per_config(tmp_path: Path) -> None:
    _upstream_project(tmp_path)
    write(tmp_path / "toy" / "other.json", '{"train_config": {"lrate": 0.9, "steps": 1}}\n')
    text = GRID_YAML.replace('base_train_config: "toy/base.json"',
                             'base_train_config: ["toy/base.json", "toy/other.json"]')
    write(tmp_path / "toy" / "grid.yaml", text)
    result = run_mle("run", "toy/grid.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    root = tmp_path / "experiments" / "toy_grid"
    plan = json.loads((root / "plan.json").read_text())
    assert [(r["run_id"], Path(r["source"]).name, r["params"]) for r in plan["runs"]] == [
        ("base_b_1_eval_0", "base.json", {"lrate": 0.1}),
        ("base_b_1_eval_1", "base.json", {"lrate": 0.5}),
        ("other_b_1_eval_0", "other.json", {"lrate": 0.1}),
        ("other_b_1_eval_1", "other.json", {"lrate": 0.5})]
    # each run keeps the rest of its own base config (steps 2 vs 1)
    assert json.loads((root / "other_b_1_eval_0" / "other_b_1_eval_0.json").read_text()) == {
        "train_config": {"lrate": 0.1, "steps": 1}}
    smbo = text.replace('search_type: "grid"', 'search_type: "smbo"')
    write(tmp_path / "toy" / "smbo.yaml", smbo)
    # An adaptive search runs once per base config, in experiment_dir/<config> (issue 16).
    shown = run_mle("run", "toy/smbo.yaml", "--dry-run", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    for name in ("base", "other"):
        assert (f"mle: search over base config toy/{name}.json in "
                f"{tmp_path / 'experiments' / 'toy_grid' / name}") in shown.stdout.splitlines()


SCHEDULER_YAML = UPSTREAM_YAML + """\
    log_file: "l-toy"
    err_file: "e-toy"
    num_gpus: 2
    gpu_type: "a100"
    exclude_nodes: ["node-1", "node-2"]
    modules_to_load: ["cuda/12.1", "odd $(touch pwned) name"]
    memory_per_cpu: 500
    partition: "gpu"
    time_between_launch: 1
    remote_exec_dir: "somewhere"
"""


def test_scheduler_options_render_into_sge_and_slurm_scripts(tmp_path: Path) -> None:
    from mle_toolbox.backends import backend_class, sge_script, slurm_script
    from mle_toolbox.config.meta import load_meta
    from mle_toolbox.launcher.job_options import unused_note

    _upstream_project(tmp_path)
    write(tmp_path / "toy" / "s.yaml", SCHEDULER_YAML)
    meta = load_meta(tmp_path / "toy" / "s.yaml", cwd=tmp_path)
    res = meta.resources
    slurm = slurm_script.directives(res, name="toy", tasks=2, max_running=None,
                                    options=slurm_script.SlurmOptions())
    assert {"--gres=gpu:a100:2", "--exclude=node-1,node-2", "--mem-per-cpu=500M",
            "--partition=gpu"} <= set(slurm)
    sge = sge_script.directives(res, name="toy", tasks=2, max_running=None,
                                options=sge_script.SgeOptions())
    assert ["-l", "gputype=a100"] in sge and ["-l", "hostname=!node-1&!node-2"] in sge
    assert unused_note(meta, backend=backend_class("slurm")) == (
        "single_job_args not used on the slurm backend: time_between_launch, remote_exec_dir "
        "(mle-toolbox's submission pacing and ssh launches; jobs here start as slots free up)")
    # Rendered scripts: names of the scheduler logs, modules quoted for the shell.
    dry = run_mle("run", "toy/s.yaml", "--dry-run", "--backend", "slurm", cwd=tmp_path)
    if dry.returncode == 0:  # sbatch on PATH (always in CI)
        assert "--output=" in dry.stdout and "/l-toy_%A_%a.txt --error=" in dry.stdout
        assert "/e-toy_%A_%a.err SCRIPT" in dry.stdout
        assert "submit      sbatch --parsable --hold --output=" in dry.stdout
        assert dry.stdout.count("release     each array is submitted held and released "
                                "once the job table has its ids") == 1
        assert ("module load 'odd $(touch pwned) name' || { printf 'mle_toolbox: module "
                "load %s failed\\n' 'odd $(touch pwned) name' >&2; exit 1; }") in dry.stdout
    local = run_mle("run", "toy/s.yaml", "--dry-run", cwd=tmp_path)
    assert local.stderr.count("mle: note: single_job_args not used on the local backend: "
                              "memory_per_cpu, partition, gpu_type, exclude_nodes, "
                              "modules_to_load, log_file, err_file (for the sge and slurm "
                              "backends); time_between_launch, remote_exec_dir") == 1
    assert "unknown key" not in local.stderr


def test_bad_scheduler_option_values(tmp_path: Path) -> None:
    _upstream_project(tmp_path)
    cases = [
        ('    log_file: "../../escape"\n', "toy/single.yaml:10: single_job_args.log_file: "
         "expected a file name (letters, digits, . _ -), got '../../escape'"),
        ('    exclude_nodes: ["a,b"]\n', "toy/single.yaml:10: single_job_args.exclude_nodes: "
         "expected host names (letters, digits, . _ -), got 'a,b'"),
        ('    exclude_nodes: [a]\n    include_nodes: [b]\n', "toy/single.yaml:11: "
         "single_job_args.include_nodes: give exclude_nodes or include_nodes, not both"),
        ('    gpu_type: "a 100"\n', "toy/single.yaml:10: single_job_args.gpu_type: expected "
         "a name without spaces or line breaks, got 'a 100'"),
    ]
    for extra, message in cases:
        write(tmp_path / "toy" / "single.yaml", UPSTREAM_YAML + extra)
        result = run_mle("run", "toy/single.yaml", cwd=tmp_path)
        assert (result.returncode, result.stderr) == (2, f"mle: error: {message}\n")
    assert not (tmp_path / "experiments").exists()


def test_use_venv_venv_activates_the_env_under_workon_home(tmp_path: Path) -> None:
    _upstream_project(tmp_path)
    venv = tmp_path / "venvs" / "toolbox-env"
    write(venv / "bin" / "activate", "export MLE_TEST_VENV=activated\n")
    write(tmp_path / "toy" / "train.py", "import os\nfrom mle_toolbox import MLExperiment\n"
          "mle = MLExperiment()\nprint('venv:', os.environ.get('MLE_TEST_VENV'))\n")
    write(tmp_path / "toy" / "single.yaml", UPSTREAM_YAML + '    env_name: "toolbox-env"\n'
          "    use_venv_venv: true\n")
    env = {**os.environ, "WORKON_HOME": str(tmp_path / "venvs")}
    dry = subprocess.run([sys.executable, "-m", "mle_toolbox", "run", "toy/single.yaml",
                          "--dry-run"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=60, check=False)
    assert dry.returncode == 0, dry.stderr
    assert f"(venv {venv})" in dry.stdout
    run = subprocess.run([sys.executable, "-m", "mle_toolbox", "run", "toy/single.yaml"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
                         check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    out = tmp_path / "experiments" / "toy_single" / "base" / "jobs" / "seed_0" / "stdout.log"
    assert out.read_text() == "venv: activated\n"
    # Without WORKON_HOME the name is looked up as a path, and refused when it is none.
    env.pop("WORKON_HOME")
    bad = subprocess.run([sys.executable, "-m", "mle_toolbox", "run", "toy/single.yaml",
                          "-exp_dir", "experiments/other"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60, check=False)
    assert (bad.returncode, bad.stderr) == (2, (
        "mle: error: toy/single.yaml:10: single_job_args.env_name: 'toy/toolbox-env' is not "
        "a virtual environment (no bin/activate)\n"))
