"""What the rest of the package learns about a backend comes from the backend itself.

Adding a scheduler then touches only backends/, its template, its setup script and
its tests (README: Adding a backend).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mle_toolbox
from mle_toolbox.backends import (
    BACKEND_NAMES,
    DEFAULT_BACKEND,
    RESOURCE_NAMES,
    backend_class,
    detachable_backends,
)

PACKAGE = Path(mle_toolbox.__file__).parent
SCHEDULER_WORDS = {*BACKEND_NAMES, *RESOURCE_NAMES, "drmaa", "qsub", "sbatch", "qdel",
                   "scancel", "qstat", "squeue"}


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_every_backend_declares_its_capabilities(name: str) -> None:
    cls = backend_class(name)
    assert cls.name == name
    for flag in ("throttles", "jobs_outlive_launcher", "shows_scripts_in_dry_run", "packs_jobs"):
        assert isinstance(getattr(cls, flag), bool), flag
    assert cls.orphan_folder is None or isinstance(cls.orphan_folder, str)
    assert callable(cls.cancel_orphans) and callable(cls.scripts)


def test_the_capabilities_say_what_each_scheduler_does() -> None:
    assert detachable_backends() == ("sge", "sge-drmaa", "slurm")
    assert [backend_class(n).shows_scripts_in_dry_run for n in BACKEND_NAMES] == [
        False, True, False, True]
    # single_job_args.jobs_per_task: array tasks run several jobs; local runs each alone.
    assert [backend_class(n).packs_jobs for n in BACKEND_NAMES] == [False, True, True, True]
    # DRMAA submits the same arrays as qsub: mle cancel looks in one folder for both.
    assert [backend_class(n).orphan_folder for n in BACKEND_NAMES] == [
        None, "sge", "sge", "slurm"]
    assert backend_class("local").cancel_orphans({"x"}, force=False) == 0
    assert set(RESOURCE_NAMES.values()) <= set(BACKEND_NAMES)
    assert DEFAULT_BACKEND in BACKEND_NAMES


def test_no_module_outside_backends_names_a_scheduler() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name == "backends":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in SCHEDULER_WORDS:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value!r}")
    assert found == []
