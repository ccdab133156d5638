"""What ``mle run`` leaves out to keep its fixed cost down (issue 18; figures in
benchmarks/bench_launch.py): modules it does not import, work it defers, and that the
deferred pieces still behave when they are needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mle_toolbox.config.source import load_yaml
from mle_toolbox.errors import ConfigError
from tests.conftest import REPO

# Run the CLI in-process, then report which of these modules it loaded and whether
# yaml.reader's pattern was ever compiled.
_PROBE = """\
import json, runpy, sys
sys.argv = ["mle", *sys.argv[1:]]
try:
    runpy.run_module("mle_toolbox", run_name="__main__", alter_sys=True)
except SystemExit as stop:
    code = stop.code
reader = sys.modules.get("yaml.reader")
print(json.dumps({"code": code, "loaded": sorted(m for m in %r if m in sys.modules),
                  "pattern": type(reader.Reader.NON_PRINTABLE).__name__}))
"""
NOT_LOADED = ("dataclasses", "inspect", "secrets", "statistics")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "train.py").write_text("import sys\n")  # a job that logs nothing
    (tmp_path / "c.json").write_text('{"train_config": {"lrate": 0.1}}')
    (tmp_path / "meta.yaml").write_text(
        "meta_job_args:\n  experiment_type: multiple-configs\n  base_train_fname: train.py\n"
        "  experiment_dir: out\nmulti_config_args:\n  config_fnames: [c.json]\n"
        "  num_seeds: 2\n")
    return tmp_path


def _probe(project: Path, *args: str) -> dict[str, object]:
    argv = [sys.executable, "-c", _PROBE % (NOT_LOADED,), "run", "meta.yaml", *args]
    done = subprocess.run(argv, cwd=project, capture_output=True, text=True, timeout=120,
                          check=False, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO),
                               "HOME": str(project), "MLE_HISTORY_DB": str(project / "h.db")})
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize("args", [("--dry-run",), ("--no-report",)])
def test_mle_run_loads_neither_dataclasses_inspect_secrets_nor_statistics(
        project: Path, args: tuple[str, ...]) -> None:
    result = _probe(project, *args)
    assert result == {"code": 0, "loaded": [], "pattern": "_LazyPattern"}
    if args == ("--no-report",):
        assert sorted(p.name for p in (project / "out" / "c" / "jobs").iterdir()) == [
            "seed_0", "seed_1"]


def test_a_control_character_in_a_yaml_file_is_still_refused_as_pyyaml_words_it(
        tmp_path: Path) -> None:
    import yaml

    meta = tmp_path / "meta.yaml"
    meta.write_text('meta_job_args:\n  experiment_dir: "out\x07"\n')
    with pytest.raises(ConfigError) as caught:
        load_yaml(meta, what="meta YAML")
    with pytest.raises(yaml.YAMLError) as plain:
        yaml.safe_load(meta.read_text())
    assert str(caught.value) == f"{meta}: YAML error: {plain.value}"
    assert "unacceptable character #x0007" in str(caught.value)
