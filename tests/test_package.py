"""Packaging: light import, CLI entry points, templates inside the wheel."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import mle_toolbox
from mle_toolbox.errors import MleError
from mle_toolbox.templates import read_template, template_dir, template_path
from tests.conftest import REPO, run_mle

HEAVY = ["numpy", "yaml", "commentjson", "drmaa", "matplotlib", "rich", "pandas", "torch",
         "optuna", "sqlite3", "h5py", "scipy", "tensorboardX", "wandb"]


def test_import_does_not_load_heavy_modules() -> None:
    code = ("import sys, json\nfrom mle_toolbox import MLExperiment, load_log\n"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=30)
    assert json.loads(done.stdout) == []


def test_version_and_help() -> None:
    version = run_mle("--version")
    assert version.returncode == 0
    assert version.stdout.strip() == f"mle_toolbox {mle_toolbox.__version__}"
    helped = run_mle("--help")
    assert helped.returncode == 0 and "run" in helped.stdout
    run_help = run_mle("run", "--help")
    assert "--dry-run" in run_help.stdout and "--max-running" in run_help.stdout
    missing = run_mle("run", "/nonexistent/meta.yaml")
    assert missing.returncode == 2
    assert missing.stderr.strip().startswith("mle: error: ")


def test_templates_are_found() -> None:
    assert template_path("job_wrapper.sh").read_text().startswith("#!/usr/bin/env bash")


def test_wheel_contains_package_and_templates(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation",
                    "--outdir", str(tmp_path), str(REPO)], check=True, capture_output=True,
                   timeout=300)
    wheel = next(tmp_path.glob("mle_toolbox-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "mle_toolbox/cli.py" in names
    assert "mle_toolbox/_templates/job_wrapper.sh" in names
    assert "mle_toolbox/_templates/sge_job.sh" in names
    # mle init's project templates, every one the scaffold writes
    from mle_toolbox.commands.init import PROJECT_FILES

    assert {f"mle_toolbox/_templates/{name}" for name in PROJECT_FILES} <= names


def _light(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", "import sys, json\n" + code + "\n"
                           f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"],
                          capture_output=True, text=True, check=True, timeout=30)
    return list(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("code", [
    "import mle_toolbox",
    "from mle_toolbox import MLExperiment",
    "from mle_toolbox import MLExperiment, MetricLogger, experiment, load_log, load_meta_log",
    "import mle_toolbox.job.experiment, mle_toolbox.job.metrics, mle_toolbox.results.merge, "
    "mle_toolbox.files.layout, mle_toolbox.files.atomic",
    # mle-toolbox's analysis paths: matplotlib, scipy, h5py only when a function is called
    "import mle_toolbox.utils, mle_toolbox.visualize, mle_toolbox.experimental.hypothesis, "
    "mle_toolbox.job.mle_logger, mle_toolbox.job.trackers, mle_toolbox.results.hdf5",
    "from mle_toolbox import MLELogger, load_config, merge_seed_logs, load_result_logs",
    # mle-toolbox 0.3.5's utils names: numpy, torch, jax only when a helper is called
    "from mle_toolbox.utils import set_random_seeds, load_pkl_object, save_pkl_object, "
    "print_framed, load_job_config, parse_experiment_args, determine_resource, "
    "get_os_env_ready, check_single_job_args, load_experiment_config",
    "from mle_toolbox import check_single_job_args, setup_proxy_server, mle_config",
])
def test_the_job_side_imports_stay_light(code: str) -> None:
    assert _light(code) == []


def test_history_report_and_cli_modules_import_nothing_heavy() -> None:
    code = ("import sys, json\nimport mle_toolbox.cli, mle_toolbox.launcher.history, "
            "mle_toolbox.commands.history_view, mle_toolbox.results.report, "
            "mle_toolbox.results.plots, mle_toolbox.launcher.progress, "
            "mle_toolbox.launcher.launch, mle_toolbox.commands.run\n"
            "mle_toolbox.cli.build_parser()\n"
            f"print(json.dumps([m for m in {[*HEAVY, 'sqlite3']!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=30)
    assert json.loads(done.stdout) == []


def test_the_version_is_the_packages(tmp_path: Path) -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", mle_toolbox.__version__)
    done = subprocess.run([sys.executable, "-m", "mle_toolbox", "--version"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=30, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (
        0, f"mle_toolbox {mle_toolbox.__version__}\n", "")


def test_help_exits_zero_and_lists_the_commands(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "mle_toolbox", "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("usage: mle ")
    assert "run" in done.stdout and "cancel" in done.stdout
    for command in ("ls", "show", "report"):
        assert re.search(rf"^    {command} +\S", done.stdout, re.MULTILINE), command


@pytest.mark.skipif(shutil.which("mle") is None, reason="console script not on PATH")
def test_the_mle_console_script_is_the_same_cli() -> None:
    done = subprocess.run(["mle", "--version"], capture_output=True, text=True, timeout=30,
                          check=False)
    assert (done.returncode, done.stdout) == (0, f"mle_toolbox {mle_toolbox.__version__}\n")


def test_template_dir_holds_the_job_wrapper() -> None:
    folder = template_dir()
    assert (folder / "job_wrapper.sh").is_file()
    assert template_path("job_wrapper.sh") == folder / "job_wrapper.sh"
    assert read_template("job_wrapper.sh").startswith("#!/usr/bin/env bash\n")
    with pytest.raises(MleError, match=re.escape("template 'nope.sh' missing from")):
        template_path("nope.sh")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation",
                    "--outdir", str(out), str(REPO)], check=True, capture_output=True,
                   timeout=300)
    (found,) = out.glob("mle_toolbox-*.whl")
    return found


def test_wheel_metadata_entry_point_and_modules(wheel: Path) -> None:
    assert wheel.name.startswith(f"mle_toolbox-{mle_toolbox.__version__}-py3-none-any")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"mle_toolbox-{mle_toolbox.__version__}.dist-info"
        metadata = archive.read(f"{info}/METADATA").decode()
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        wrapper = archive.getinfo("mle_toolbox/_templates/job_wrapper.sh")
    assert f"Version: {mle_toolbox.__version__}\n" in metadata
    assert "mle = mle_toolbox.cli:main" in entry_points
    assert {"mle_toolbox/cli.py", "mle_toolbox/__main__.py", "mle_toolbox/job/experiment.py",
            "mle_toolbox/_templates/job_wrapper.sh"} <= names
    sources = {f"mle_toolbox/{p.relative_to(REPO / 'mle_toolbox').as_posix()}"
               for p in (REPO / "mle_toolbox").rglob("*.py")}
    assert sources <= names
    assert not any(n.startswith(("tests/", "experiments/", "benchmarks/")) for n in names)
    assert wrapper.file_size == (REPO / "templates" / "job_wrapper.sh").stat().st_size


def test_installed_wheel_finds_its_templates(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                    "--quiet", "--target", str(target), str(wheel)], check=True,
                   capture_output=True, timeout=120)
    # -S: no site-packages and no editable-install hook, only the unpacked wheel
    done = subprocess.run(
        [sys.executable, "-S", "-c", "import mle_toolbox.templates as t; "
         "print(t.template_path('job_wrapper.sh'))"],
        env={**os.environ, "PYTHONPATH": str(target)}, cwd=tmp_path, capture_output=True,
        text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == target / "mle_toolbox" / "_templates" / "job_wrapper.sh"


def test_installed_wheel_scaffolds_a_project(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                    "--quiet", "--target", str(target), str(wheel)], check=True,
                   capture_output=True, timeout=120)
    # -S: only the unpacked wheel (no checkout beside it), so the templates come from it.
    done = subprocess.run([sys.executable, "-S", "-c", "import sys; from mle_toolbox.cli import "
                           "main; sys.exit(main(['init', 'proj']))"],
                          env={**os.environ, "PYTHONPATH": str(target)}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "proj" / "configs" / "base.json").read_bytes() == (
        REPO / "templates" / "project" / "configs" / "base.json").read_bytes()
    assert (tmp_path / "proj" / ".gitignore").is_file()


# What a job does not use on every run (issue 18): loaded only when a job needs it.
# json, pathlib, signal and what they import (re, enum, functools, collections, urllib)
# too: jsontext, JobPaths and _signal do the job's part of their work without them.
JOB_LAZY = ["tempfile", "socket", "statistics", "traceback", "pickle", "dataclasses",
            "inspect", "typing", "importlib", "json", "re", "enum", "pathlib", "signal",
            "functools", "collections", "contextlib", "fnmatch", "urllib.parse",
            "mle_toolbox.job.checkpoints", "mle_toolbox.results.merge",
            "mle_toolbox.job.trackers"]
_NEW_MODULES = ("import sys\nbefore = set(sys.modules)\n{code}\nnew = set(sys.modules) - before\n"
                "import json\nprint(json.dumps(sorted(m for m in {lazy!r} if m in new)))")


def _newly_loaded(code: str, *, cwd: Path) -> list[str]:
    # Against the modules a bare interpreter has without site (-S): a .pth file in
    # site-packages may import typing, pathlib or tempfile at every start, which would
    # hide them here (this machine's does); PYTHONPATH still finds the package.
    done = subprocess.run([sys.executable, "-S", "-c",
                           _NEW_MODULES.format(code=code, lazy=JOB_LAZY)],
                          capture_output=True, text=True, check=True, timeout=30, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_importing_mlexperiment_loads_only_what_every_job_uses(tmp_path: Path) -> None:
    assert _newly_loaded("from mle_toolbox import MLExperiment", cwd=tmp_path) == []


def test_a_job_that_logs_and_ends_loads_none_of_the_lazy_modules(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text('{"train_config": {"lrate": 0.1}}')
    code = ("from mle_toolbox import MLExperiment\n"
            "mle = MLExperiment(argv=['-config', 'c.json', '-seed', '3', '-exp_dir', 'run'])\n"
            "mle.log.update({'step': 0}, {'loss': 1.0}, save=True)\nmle.finish()")
    assert _newly_loaded(code, cwd=tmp_path) == []
    status = json.loads((tmp_path / "run" / "jobs" / "seed_3" / "status.json").read_text())
    assert status["state"] == "completed" and status["host"] == os.uname().nodename
    assert (tmp_path / "run" / "logs" / "seed_3.jsonl").read_text().count("\n") == 1


def test_lazy_names_still_load_on_first_use(tmp_path: Path) -> None:
    code = ("import mle_toolbox\nassert callable(mle_toolbox.load_model)\n"
            "assert callable(mle_toolbox.load_log)")
    assert {"mle_toolbox.job.checkpoints", "mle_toolbox.results.merge"} <= set(
        _newly_loaded(code, cwd=tmp_path))
