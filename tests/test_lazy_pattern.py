"""lazy_pattern.compile_on_first_use: the launcher's patterns that only some inputs
reach are compiled when first used, not at every ``mle run`` (issue 18)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mle_toolbox.config import job_args, meta, schema
from mle_toolbox.launcher import git_head
from mle_toolbox.lazy_pattern import compile_on_first_use
from tests.conftest import REPO

LAZY = {"mle_toolbox.config.schema": ("_DD_HH_MM", "_D_HH_MM_SS", "_UNITS", "_MEMORY", "_WORD",
                                      "CONFIG_KEY"),
        "mle_toolbox.config.job_args": ("_LOG_NAME",), "mle_toolbox.config.meta": ("_PERCENTILE",),
        "mle_toolbox.launcher.git_head": ("_OBJECT_ID", "_BRANCH")}


def test_a_lazy_pattern_is_compiled_once_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[tuple[str, int]] = []
    real = re.compile
    monkeypatch.setattr(re, "compile", lambda p, f=0: compiled.append((p, f)) or real(p, f))
    lazy = compile_on_first_use(r"^\s*(\d+)\s*([KMGT]?)B?$", re.IGNORECASE)
    assert compiled == []
    for text in ("12 gb", "3", "x", "7T", "", "12 GBB"):
        ours, theirs = lazy.match(text), real(r"^\s*(\d+)\s*([KMGT]?)B?$", re.I).match(text)
        assert (ours and ours.groups()) == (theirs and theirs.groups()), text
    assert lazy.fullmatch("4k") is not None and lazy.pattern == r"^\s*(\d+)\s*([KMGT]?)B?$"
    assert compiled == [(r"^\s*(\d+)\s*([KMGT]?)B?$", re.IGNORECASE)]


@pytest.mark.parametrize(("module", "name", "texts"), [
    (schema, "_DD_HH_MM", ["01:02:03", "1:24:00", "001:23:59", "1:2:3:4"]),
    (schema, "_UNITS", ["1h30m", "45s", "2d 3h", "h", "1x"]),
    (schema, "_MEMORY", ["4GB", " 512 mb ", "1.5T", "lots"]),
    (schema, "CONFIG_KEY", ["lrate", "model_config.width", "1bad", "a..b"]),
    (job_args, "_LOG_NAME", ["out.log", ".hidden", "a/b"]),
    (meta, "_PERCENTILE", ["p0", "p50", "p100", "p101", "p05"]),
    (git_head, "_BRANCH", ["refs/heads/main", "refs/tags/v1", "refs/heads/a b"]),
])
def test_the_launcher_s_lazy_patterns_match_as_compiled_ones(
        module: object, name: str, texts: list[str]) -> None:
    lazy = getattr(module, name)
    plain = re.compile(lazy.pattern, lazy.flags)
    for text in texts:
        for method in ("match", "fullmatch"):
            ours, theirs = getattr(lazy, method)(text), getattr(plain, method)(text)
            assert (ours and ours.groups()) == (theirs and theirs.groups()), (name, text)


_PROBE = """\
import importlib, json, sys
from mle_toolbox.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "compiled": sorted(
    f"{module}.{name}" for module, names in %r.items() for name in names
    if getattr(importlib.import_module(module), name)._compiled is not None)}))
"""


def test_mle_run_compiles_none_of_them_for_a_plain_sweep(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("import sys\n")
    (tmp_path / "c.json").write_text('{"train_config": {"lrate": 0.1}}')
    (tmp_path / "meta.yaml").write_text(
        "meta_job_args:\n  experiment_type: multiple-configs\n  base_train_fname: train.py\n"
        "  experiment_dir: out\nmulti_config_args:\n  config_fnames: [c.json]\n"
        "  num_seeds: 2\n")
    done = subprocess.run(
        [sys.executable, "-c", _PROBE % (LAZY,), "run", "meta.yaml", "--no-report"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO), "MLE_HISTORY_DB": str(tmp_path / "h.db")})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"code": 0, "compiled": []}
    # ... and a meta YAML that reaches one of them compiles that one
    (tmp_path / "meta.yaml").write_text((tmp_path / "meta.yaml").read_text().replace(
        "multi_config_args:", "single_job_args:\n  time_per_job: '00:01:00'\n"
        "multi_config_args:"))
    done = subprocess.run(
        [sys.executable, "-c", _PROBE % (LAZY,), "run", "meta.yaml", "--dry-run"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "code": 0, "compiled": ["mle_toolbox.config.schema._DD_HH_MM"]}
