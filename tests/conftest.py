"""Shared fixtures: a throwaway experiment project and a way to run ``mle``."""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

TRAIN_PY = '''\
import sys
from mle_toolbox import MLExperiment

mle = MLExperiment()
cfg = mle.train_config
if mle.seed_id in cfg.get("fail_seeds", []):
    print("boom: seed", mle.seed_id, "was told to fail", file=sys.stderr)
    sys.exit(3)
for step in range(cfg.get("steps", 3)):
    mle.log.update({"step": step}, {"loss": cfg.lrate * (10 - step) + mle.seed_id}, save=True)
'''


def write(path: Path, text: str) -> Path:
    """Write dedented ``text`` to ``path`` (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project: train.py, two configs (lrate 0.1 / 0.2) and a 2 configs x 2 seeds meta.yaml."""
    write(tmp_path / "train.py", TRAIN_PY)
    write(tmp_path / "configs" / "a.json", '{"train_config": {"lrate": 0.1}}\n')
    write(tmp_path / "configs" / "b.json", '{"train_config": {"lrate": 0.2}}\n')
    write(tmp_path / "meta.yaml", """\
        meta_job_args:
          project_name: demo
          experiment_type: multiple-configs
          base_train_fname: train.py
          experiment_dir: out
        multi_config_args:
          config_fnames: [configs/a.json, configs/b.json]
          num_seeds: 2
        """)
    return tmp_path


def run_mle(*args: str | os.PathLike[str], cwd: Path | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python -m mle_toolbox ARGS`` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "mle_toolbox", *map(str, args)], cwd=cwd,
        capture_output=True, text=True, timeout=timeout, check=False,
    )


@pytest.fixture
def mle() -> Callable[..., subprocess.CompletedProcess[str]]:
    """The ``run_mle`` function as a fixture."""
    return run_mle


def need_tools(*names: str) -> pytest.MarkDecorator:
    """Skip without the Debian tools ``names`` (scripts/terminal-tools.sh installs them);
    with MLE_REQUIRE_TERMINAL_TOOLS=1 (CI) a missing tool fails instead."""
    import shutil

    missing = [n for n in names if shutil.which(n) is None]
    if missing and os.environ.get("MLE_REQUIRE_TERMINAL_TOOLS") == "1":
        raise RuntimeError(f"MLE_REQUIRE_TERMINAL_TOOLS=1 but {', '.join(missing)} missing: "
                           "run scripts/terminal-tools.sh")
    return pytest.mark.skipif(bool(missing), reason=f"{', '.join(missing)} not installed "
                              "(scripts/terminal-tools.sh installs them)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test item (``_leftover_cluster_jobs`` reads it)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(autouse=True)
def _leftover_cluster_jobs(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a failed SGE or Slurm test, cancel whatever it left in the queue.

    A test that fails while its jobs are queued (a timeout, an assertion mid-sweep) would
    otherwise leave them to compete with, and be counted by, the tests after it. Tests run
    one at a time, so every job of this user in the queue then is the failed test's.
    """
    yield
    report = getattr(request.node, "report_call", None)
    if report is None or not report.failed:
        return
    markers = {mark.name for mark in request.node.iter_markers()}
    user = getpass.getuser()
    if "sge" in markers and shutil.which("qdel"):
        subprocess.run(["qdel", "-f", "-u", user], capture_output=True, timeout=60,
                       check=False)
    if "slurm" in markers and shutil.which("scancel"):
        subprocess.run(["scancel", "-u", user], capture_output=True, timeout=60, check=False)
