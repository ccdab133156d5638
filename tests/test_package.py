"""Packaging: light import, CLI entry points, templates inside the wheel."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import mle_toolbox
from mle_toolbox.templates import template_path
from tests.conftest import REPO, run_mle

HEAVY = ["numpy", "yaml", "commentjson", "drmaa", "matplotlib", "rich", "pandas", "torch"]


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
