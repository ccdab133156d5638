"""What ``mle run`` leaves out to keep its fixed cost down (issue 18; figures in
benchmarks/bench_launch.py): modules it does not import, work it defers, and that the
deferred pieces still behave when they are needed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mle_toolbox.config.source import load_yaml
from mle_toolbox.errors import ConfigError
from mle_toolbox.launcher.launcher_log import LauncherLog
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
                  "launch_loaded": sorted(m for m in %r if m in sys.modules),
                  "pattern": reader and type(reader.Reader.NON_PRINTABLE).__name__}))
"""
NOT_BUILT = ("dataclasses", "inspect", "logging", "secrets", "statistics", "traceback")
# and, on the local run path, what argparse's formatter, the git lookup and the job
# wrapper's path imported (shutil with bz2 and lzma; importlib.resources with tempfile
# and zipfile), OpenSSL's hashlib for sha256, random (only a random search samples) and
# the command runner (only git itself needs it): ~15 ms of every launch (issue 18);
# typing (~6 ms): annotations are strings, typing's names are imported for mypy only
NOT_LOADED = (*NOT_BUILT, "typing", "shutil", "bz2", "lzma", "importlib.resources", "tempfile",
              "zipfile", "hashlib", "_hashlib", "random", "mle_toolbox.backends.commands",
              "mle_toolbox.search.registry",  # a sweep without a search has no search type
              "yaml")  # a plain meta YAML is read by config/plain_yaml.py (~13 ms)
# Only what a dry run prints (commands, shell-quoted) needs it.
NOT_LOADED_BY_A_LAUNCH = ("shlex",)


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
    # -S: no site module, so no .pth file of the environment (one here imports certifi,
    # importlib.resources, tempfile, shutil, ...) loads a module before the launcher
    # does; PyYAML, the launcher's one dependency, is found through PYTHONPATH.
    import yaml

    site = str(Path(yaml.__file__).resolve().parent.parent)
    argv = [sys.executable, "-S", "-c", _PROBE % (NOT_LOADED, NOT_LOADED_BY_A_LAUNCH), "run",
            "meta.yaml", *args]
    done = subprocess.run(argv, cwd=project, capture_output=True, text=True, timeout=120,
                          check=False, env={"PATH": "/usr/bin:/bin", "HOME": str(project),
                                            "PYTHONPATH": f"{REPO}{os.pathsep}{site}",
                                            "MLE_HISTORY_DB": str(project / "h.db")})
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize("args", [("--dry-run",), ("--no-report",)])
def test_mle_run_loads_none_of_the_modules_it_left_out(
        project: Path, args: tuple[str, ...]) -> None:
    result = _probe(project, *args)
    launch_loaded = result.pop("launch_loaded")
    assert result == {"code": 0, "loaded": [], "pattern": None}
    assert launch_loaded == ([] if args == ("--no-report",) else ["shlex"])
    if args == ("--no-report",):
        assert sorted(p.name for p in (project / "out" / "c" / "jobs").iterdir()) == [
            "seed_0", "seed_1"]


def test_a_meta_yaml_pyyaml_reads_compiles_none_of_its_patterns_it_does_not_use(
        project: Path) -> None:
    # "on" is YAML 1.1's true: not plain (config/plain_yaml.py), so PyYAML reads the file,
    # imported with its module-level patterns compiled on first use (import_yaml).
    (project / "meta.yaml").write_text(
        (project / "meta.yaml").read_text().replace("num_seeds: 2", "num_seeds: 2\n"
                                                    "single_job_args:\n  use_conda_venv: on"))
    result = _probe(project, "--dry-run")
    assert result == {"code": 0, "loaded": ["yaml"], "launch_loaded": ["shlex"],
                      "pattern": "_LazyPattern"}


def test_a_launch_whose_jobs_log_summarizes_them_without_statistics(project: Path) -> None:
    # summary.json is written after the last job of every launch. On 3.11+ its mean and
    # std are worked out by results/moments.py, bit for bit statistics' values, so that
    # statistics (fractions, decimal, random: ~5 ms) is not imported; 3.10 keeps it.
    import statistics

    (project / "train.py").write_text(
        "from mle_toolbox import MLExperiment\nmle = MLExperiment()\n"
        "for step in range(3):\n"
        "    mle.log.update({'step': step}, {'loss': 0.1 + mle.seed_id * 0.37 / (step + 1)},"
        " save=True)\n")
    (project / "meta.yaml").write_text(
        (project / "meta.yaml").read_text().replace("num_seeds: 2", "num_seeds: 3"))
    loaded = [] if sys.version_info >= (3, 11) else ["random", "statistics"]
    assert _probe(project, "--no-report") == {"code": 0, "loaded": loaded,
                                              "launch_loaded": [], "pattern": None}
    summary = json.loads((project / "out" / "c" / "summary.json").read_text())
    finals = [0.1 + seed * 0.37 / 3 for seed in range(3)]
    loss = summary["metrics"]["loss"]["final"]
    assert loss["mean"] == statistics.fmean(finals)
    assert loss["std"] == statistics.pstdev(finals)


def test_on_path_answers_as_shutil_which(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from mle_toolbox.launcher.git_head import on_path

    tool, plain, folder = tmp_path / "bin" / "tool", tmp_path / "bin" / "plain", tmp_path / "dir"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    plain.write_text("not executable")
    (folder / "tool").mkdir(parents=True)  # a folder named like the tool is no executable
    for path in (f"{folder}{os.pathsep}{tool.parent}", str(folder), "", None, "/usr/bin"):
        if path is None:
            monkeypatch.delenv("PATH", raising=False)
        else:
            monkeypatch.setenv("PATH", path)
        for name in ("tool", "plain", "git", "sh", "no-such-tool-here"):
            assert on_path(name) == (shutil.which(name) is not None), (path, name)


@pytest.mark.parametrize("columns", [None, "50", "0", "-3", "wide", "200"])
def test_the_run_parser_is_as_wide_as_argparse_makes_it(
        columns: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse
    import shutil

    from mle_toolbox.cli import _terminal_columns, build_parser

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert _terminal_columns() == shutil.get_terminal_size().columns
    parser = build_parser(only_run=True)
    run = next(action for action in parser._actions  # the subcommands' action
               if isinstance(action, argparse._SubParsersAction)).choices["run"]
    ours = run.format_help()
    run.formatter_class = argparse.HelpFormatter  # argparse's own, which imports shutil
    assert ours == run.format_help()
    assert all(len(line) <= _terminal_columns() for line in ours.splitlines())


def test_sha256_hex_is_hashlib_s_digest_with_or_without_the_builtin_module(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    from mle_toolbox import digest

    assert digest._SHA256 is not None  # CPython ships _sha256 (3.11) / _sha2 (3.12+)
    for data in (b"", b"abc", bytes(range(256)) * 1000):
        assert digest.sha256_hex(data) == hashlib.sha256(data).hexdigest()
    monkeypatch.setattr(digest, "_SHA256", None)  # an interpreter without it: hashlib
    assert digest.sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()


def test_the_templates_are_found_where_importlib_resources_finds_them() -> None:
    from importlib import resources

    from mle_toolbox.templates import template_dir, template_path

    assert template_dir() == Path(str(resources.files("mle_toolbox") / "_templates")) or (
        template_dir() == REPO / "templates")
    assert template_path("job_wrapper.sh").read_text().startswith("#!")


_LAZY_YAML = """\
import json, sys
from pathlib import Path
from mle_toolbox.config.source import import_yaml, load_yaml
yaml = import_yaml()
before = type(yaml.constructor.SafeConstructor.timestamp_regexp).__name__
data, _ = load_yaml(Path(sys.argv[1]), what="meta YAML")
same = data == yaml.safe_load(Path(sys.argv[1]).read_text())
print(json.dumps({"before": before, "same": same, "data": repr(data)}))
"""


def test_pyyaml_s_patterns_compiled_on_first_use_read_every_implicit_type(
        tmp_path: Path) -> None:
    # import_yaml compiles no module-level pattern of PyYAML (~12 ms); each is compiled
    # when first matched, and a document of every implicit type reads as before.
    import yaml

    doc = tmp_path / "meta.yaml"
    doc.write_text("a: 2001-12-14\nb: [1, 2.5, yes, null, ~, 0x1f, .inf, 0b101, 1_000]\n"
                   "c: !!str 3\nd: {<<: {e: 1}, f: 2}\nh: 2001-12-14t21:59:43.10-05:00\n")
    site = str(Path(yaml.__file__).resolve().parent.parent)
    done = subprocess.run([sys.executable, "-S", "-c", _LAZY_YAML, str(doc)],
                          capture_output=True, text=True, timeout=60, check=True,
                          env={"PYTHONPATH": f"{REPO}{os.pathsep}{site}"})
    result = json.loads(done.stdout)
    assert result["before"] == "_LazyPattern" and result["same"] is True
    assert result["data"] == repr(yaml.safe_load(doc.read_text()))
    assert "datetime.date(2001, 12, 14)" in result["data"]


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


def test_the_launcher_log_writes_logging_s_line_format(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    log, path = LauncherLog(), tmp_path / "exp" / "launcher.log"
    log.info("never written: nothing attached")
    with log.attached(path):
        log.info("launch: %d jobs to run, %d done earlier", 8, 0)
        log.debug("to run: %s", "a-seed0")  # only with -d
        log.warning("%s: parent %s saved no checkpoints", "e1", "e0")
    with log.attached(path, debug=True):
        log.debug("to run: %s (config hash %s)", "a-seed0", "99c7")
    log.warning("outside a launch: %s", "stderr")
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"  # logging's asctime
    lines = path.read_text().splitlines()
    assert [re.sub(f"^{stamp} ", "", line) for line in lines] == [
        "INFO launch: 8 jobs to run, 0 done earlier", "WARNING e1: parent e0 saved no checkpoints",
        "DEBUG to run: a-seed0 (config hash 99c7)"]
    assert all(re.match(f"^{stamp} [A-Z]+ ", line) for line in lines)
    assert capsys.readouterr().err == "outside a launch: stderr\n"


def test_a_launcher_log_line_that_cannot_be_written_is_dropped_quietly(
        capsys: pytest.CaptureFixture[str]) -> None:
    log = LauncherLog()
    with log.attached(Path("/dev/full")):  # every write: ENOSPC, as on a full disk
        log.info("%s completed", "a-seed0")
        log.warning("lost too")
    assert capsys.readouterr() == ("", "")


def test_main_called_in_process_leaves_the_collector_as_it_was(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The command's process freezes what is left at its exit (cli.main); a caller of
    # main(argv) in its own process (tests, tools) keeps collecting as before.
    import gc
    import types

    from mle_toolbox import cli

    frozen_by_cli: list[str] = []
    monkeypatch.setattr(cli, "gc", types.SimpleNamespace(
        isenabled=gc.isenabled, disable=gc.disable, enable=gc.enable,
        freeze=lambda: frozen_by_cli.append("freeze")))
    monkeypatch.chdir(project)
    assert cli.main(["run", "meta.yaml", "--dry-run"]) == 0
    assert gc.isenabled() and frozen_by_cli == []
    monkeypatch.setattr(sys, "argv", ["mle", "run", "meta.yaml", "--dry-run"])
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        assert cli.main() == 0  # as the console script calls it: the exit freeze is done
    finally:
        for signum, handler in handlers.items():  # main() installs its own
            signal.signal(signum, handler)
    assert gc.isenabled() and frozen_by_cli == ["freeze"]


def test_the_cluster_backends_are_built_without_dataclasses_or_typing() -> None:
    # An sge, sge-drmaa or slurm launch imports these besides what the local one does
    # (-S: no site .pth imports typing first).
    code = ("import json, sys\nimport mle_toolbox.backends.sge, mle_toolbox.backends.slurm\n"
            "import mle_toolbox.backends.sge_drmaa, mle_toolbox.backends.queue_view\n"
            f"print(json.dumps([m for m in {(*NOT_BUILT, 'typing')!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          timeout=60, check=True, env={"PYTHONPATH": str(REPO)})
    assert json.loads(done.stdout) == []
