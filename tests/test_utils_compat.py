"""mle-toolbox 0.3.5's ``mle_toolbox.utils`` (and its top-level helpers) as train.py
scripts and notebooks call them: pickles, seeds, the job's command line and config,
mle_config, the cluster probe, single_job_args, and a script built on them under mle run."""

from __future__ import annotations

import json
import os
import pickle
import random
import stat
import subprocess
import sys
from argparse import Namespace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import mle_toolbox
from mle_toolbox import utils
from mle_toolbox.errors import ConfigError
from mle_toolbox.job.job_config import ConfigDict
from mle_toolbox.utils import (
    ask_for_binary_input,
    ask_for_resource_to_run,
    check_single_job_args,
    compose_protocol_data,
    determine_resource,
    get_extra_cmd_line_input,
    get_jax_os_ready,
    get_os_env_ready,
    load_experiment_config,
    load_job_config,
    load_mle_toolbox_config,
    load_pkl_object,
    parse_experiment_args,
    print_framed,
    save_pkl_object,
    set_random_seeds,
    setup_proxy_server,
    toolbox_config,
)
from mle_toolbox.utils.helpers import NotOfferedError
from tests.conftest import REPO, run_mle, write

# mle-toolbox 0.3.5's mle_toolbox/utils/__init__.py __all__
UPSTREAM_UTILS = [
    "parse_experiment_args", "get_extra_cmd_line_input", "set_random_seeds",
    "determine_resource", "ask_for_resource_to_run", "ask_for_binary_input",
    "load_job_config", "load_experiment_config", "setup_proxy_server", "mle_config",
    "check_single_job_args", "load_mle_toolbox_config", "load_pkl_object",
    "load_result_logs", "combine_experiments", "load_hyper_log", "print_framed",
    "get_os_env_ready", "get_jax_os_ready", "save_pkl_object", "compose_protocol_data",
]

COMMENTED_CONFIG = """\
{
    // an mle-toolbox job config: JSON with comments
    "train_config": {"lrate": 0.1, "device_name": "tpu0"},  # the learning rate
    "net_config": {"units": [8, 4]},
    "device_config": {"num_devices": 2},
    "log_config": {"time_to_track": ["step"], "what_to_track": ["loss"],
                   "use_tboard": true}
}
"""


def _subprocess(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO), **env})


# --- the names ------------------------------------------------------------------------

def test_every_upstream_utils_name_imports_and_star_import_gives_them_all() -> None:
    for name in UPSTREAM_UTILS:
        assert getattr(utils, name) is not None, name
    namespace: dict[str, Any] = {}
    exec("from mle_toolbox.utils import *", namespace)
    assert set(UPSTREAM_UTILS) <= set(namespace)
    assert get_jax_os_ready is get_os_env_ready
    with pytest.raises(AttributeError, match=r"'mle_toolbox\.utils' has no attribute 'nope'"):
        _ = utils.nope  # type: ignore[attr-defined]


def test_the_top_level_names_upstream_exports() -> None:
    assert mle_toolbox.check_single_job_args is check_single_job_args
    assert mle_toolbox.setup_proxy_server is setup_proxy_server
    assert mle_toolbox.mle_config is utils.mle_config
    assert mle_toolbox.load_experiment_config is load_experiment_config


def test_importing_the_names_loads_nothing_heavy_calling_set_random_seeds_loads_numpy() -> None:
    names = ", ".join(n for n in UPSTREAM_UTILS if n != "mle_config")
    code = ("import sys, json\n"
            f"from mle_toolbox.utils import {names}\n"
            "heavy = ['numpy', 'yaml', 'pickle', 'argparse', 'subprocess', 'torch', 'jax']\n"
            "before = [m for m in heavy if m in sys.modules]\n"
            "set_random_seeds(3)\n"
            "print(json.dumps([before, 'numpy' in sys.modules]))")
    done = _subprocess(code)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [[], True]


# --- pickles --------------------------------------------------------------------------

def test_a_pickle_written_as_mle_toolbox_writes_it_loads(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    obj = {"params": np.arange(6.0).reshape(2, 3), "step": 7, "name": "net"}
    with open(tmp_path / "upstream.pkl", "wb") as handle:  # mle-toolbox 0.3.5's way
        pickle.dump(obj, handle, pickle.HIGHEST_PROTOCOL)
    monkeypatch.chdir(tmp_path)
    loaded = load_pkl_object("upstream.pkl")  # relative to the working directory
    np.testing.assert_array_equal(loaded["params"], obj["params"])
    assert (loaded["step"], loaded["name"]) == (7, "net")
    with open(tmp_path / "old.pkl", "wb") as handle:
        pickle.dump([1, 2], handle, protocol=2)
    assert load_pkl_object(tmp_path / "old.pkl") == [1, 2]


def test_save_pkl_object_writes_the_highest_protocol_and_replaces_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    save_pkl_object({"a": 1}, "out.pkl")
    save_pkl_object({"b": (2, 3.5)}, "out.pkl")
    raw = (tmp_path / "out.pkl").read_bytes()
    assert raw[:2] == bytes([0x80, pickle.HIGHEST_PROTOCOL])
    with open(tmp_path / "out.pkl", "rb") as handle:
        assert pickle.load(handle) == {"b": (2, 3.5)}
    save_pkl_object([0], tmp_path / "new" / "dir" / "x.pkl")
    assert load_pkl_object(str(tmp_path / "new" / "dir" / "x.pkl")) == [0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "out.pkl"]  # no temp left


# --- seeds ----------------------------------------------------------------------------

def test_set_random_seeds_makes_random_and_numpy_draws_repeat(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    set_random_seeds(11, verbose=True)
    first = [random.random(), float(np.random.rand())]
    set_random_seeds(11)
    assert [random.random(), float(np.random.rand())] == first
    random.seed(11)
    np.random.seed(11)
    assert [random.random(), float(np.random.rand())] == first
    set_random_seeds(12)
    assert random.random() != first[0]
    assert os.environ["PYTHONHASHSEED"] == "12"
    assert capsys.readouterr().out == "set_random_seeds: seeded random, numpy with 11\n"


def test_set_random_seeds_with_none_changes_nothing_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    random.seed(5)
    state = random.getstate()
    assert set_random_seeds(None) is None
    assert random.getstate() == state
    assert "seed_id is None" in capsys.readouterr().out


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def seed(self, name: str) -> Any:
        return lambda value: self.calls.append((name, value))


def test_torch_and_gym_are_seeded_when_installed_and_jax_gives_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    rec = _Recorder()
    cudnn = SimpleNamespace(deterministic=False, benchmark=True)
    torch = SimpleNamespace(
        backends=SimpleNamespace(cudnn=cudnn), manual_seed=rec.seed("torch"),
        cuda=SimpleNamespace(is_available=lambda: True, manual_seed_all=rec.seed("cuda")))
    gym = SimpleNamespace(spaces=SimpleNamespace(prng=SimpleNamespace(seed=rec.seed("gym"))))
    jax = SimpleNamespace(random=SimpleNamespace(PRNGKey=lambda s: ("key", s)))
    for name, module in (("torch", torch), ("gym", gym), ("jax", jax)):
        monkeypatch.setitem(sys.modules, name, module)
    assert set_random_seeds(4, return_key=True, verbose=True) == ("key", 4)
    assert rec.calls == [("torch", 4), ("cuda", 4), ("gym", 4)]
    assert (cudnn.deterministic, cudnn.benchmark) == (True, False)
    assert capsys.readouterr().out == (
        "set_random_seeds: seeded random, numpy, torch, gym with 4\n")


def test_return_key_without_jax_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jax", None)  # not importable, as when not installed
    with pytest.raises(ValueError, match=r"return_key=True\) makes a jax PRNG key: install"):
        set_random_seeds(1, return_key=True)


# --- the job's command line and config ------------------------------------------------

def test_parse_experiment_args_reads_the_jobs_command_line() -> None:
    args, extra = parse_experiment_args(argv=[
        "-config", "c.json", "-seed", "3", "-exp_dir", "runs/a", "-lrate", "0.5",
        "-model_ckpt", "m.pkl", "-note", "x"])
    assert (args.config_fname, args.experiment_dir, args.seed_id) == ("c.json", "runs/a", 3)
    assert args.model_ckpt_path == args.model_ckpt == "m.pkl"
    assert extra == ["-lrate", "0.5", "-note", "x"]
    assert get_extra_cmd_line_input(extra) == {"-lrate": 0.5, "-note": "x"}
    assert get_extra_cmd_line_input(None) is None
    defaults, none = parse_experiment_args("base.json", 7, "exp/", argv=[])
    assert vars(defaults) == {"config_fname": "base.json", "experiment_dir": "exp/",
                              "seed_id": 7, "model_ckpt_path": None, "model_ckpt": None,
                              "wb_project": None, "wb_group": None, "wb_name": None}
    assert none == []


def test_a_seed_that_is_no_integer_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_experiment_args(argv=["-seed", "one"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err == (
        "parse_experiment_args: -seed must be an integer, got 'one'\n")


def test_load_job_config_reads_a_commented_json_config(tmp_path: Path) -> None:
    config = write(tmp_path / "base_config.json", COMMENTED_CONFIG)
    train, model, log, device = load_job_config(str(config), "exp", 2, "ckpt.pkl",
                                                train_config_ext={"extra": 1},
                                                device_config_ext={"device": "gpu"})
    assert train == {"lrate": 0.1, "device_name": "cpu", "seed_id": 2,
                     "model_ckpt": "ckpt.pkl", "extra": 1}
    assert model is not None and model.units == [8, 4]
    assert device == {"num_devices": 2, "device": "gpu"}
    assert (log.seed_id, log.experiment_dir, log.config_fname, log.tboard_fname) == (
        2, "exp", str(config), "base_config")
    assert log.what_to_track == ["loss"]
    yaml_config = write(tmp_path / "c.yaml", "train_config: {seed_id: 9}\nlog_config:\n"
                        "  time_to_track: [step]\n  what_to_track: [loss]\n")
    train, model, log, device = load_job_config(str(yaml_config), "e", None)
    assert (train.seed_id, log.seed_id, model, device) == (9, 9, None, None)


def test_load_job_config_without_the_file_uses_mle_toolboxs_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    train, model, log, device = load_job_config(str(tmp_path / "none.json"), "exp")
    assert (train, model, device) == ({"seed_id": 0}, None, None)
    assert log == {"time_to_track": ["num_updates"], "what_to_track": ["loss"],
                   "config_fname": None, "experiment_dir": "exp", "seed_id": 0}
    assert "none.json not found: using the default job config" in capsys.readouterr().out


def test_a_job_config_without_what_to_track_names_the_key(tmp_path: Path) -> None:
    config = write(tmp_path / "c.json", '{"train_config": {}, "log_config": '
                   '{"time_to_track": ["step"]}}')
    with pytest.raises(ConfigError) as err:
        load_job_config(str(config), "exp")
    assert str(err.value) == (f"{config}: log_config.what_to_track: missing: an mle-toolbox "
                              "job config needs it")


def test_load_experiment_config_reads_the_meta_yaml_as_mle_run_checks_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "train.py", "print('hi')\n")
    write(tmp_path / "c.json", '{"train_config": {}}\n')
    write(tmp_path / "meta.yaml", "meta_job_args:\n  experiment_type: single-config\n"
          "  base_train_fname: train.py\n  base_train_config: c.json\n"
          "  experiment_dir: exp\nsingle_job_args: {num_logical_cores: 2}\n")
    cmd = Namespace(config_fname="meta.yaml", base_train_fname=None,
                    base_train_config=None, experiment_dir="other")
    config = load_experiment_config(cmd)
    assert config.meta_job_args.experiment_dir == "other"
    assert config.single_job_args.num_logical_cores == 2
    as_dict = load_experiment_config({"config_fname": "meta.yaml", "experiment_dir": {}})
    assert as_dict.meta_job_args.experiment_dir == "exp"  # an unset DotMap key: {}
    cmd.base_train_config = "missing.json"
    with pytest.raises(ConfigError, match=r"missing\.json"):
        load_experiment_config(cmd)
    with pytest.raises(TypeError, match="experiment_dir is missing"):
        load_experiment_config("c.json")


# --- mle_config, the cluster probe, single_job_args -----------------------------------

def test_mle_config_is_the_toml_file_or_mle_toolboxs_minimal_config(tmp_path: Path) -> None:
    minimal = load_mle_toolbox_config(str(tmp_path / "absent.toml"))
    assert minimal.general.random_seed == 42
    assert minimal.general.use_credential_encryption is False
    toml = write(tmp_path / "mle_config.toml", '[general]\nrandom_seed = 7\n'
                 '[sge.default_job_arguments]\nqueue = "short"\n')
    assert load_mle_toolbox_config(str(toml)).sge.default_job_arguments.queue == "short"
    bad = write(tmp_path / "bad.toml", "[general\n")
    with pytest.raises(ConfigError, match=r"bad.toml: not valid TOML: .*line 1"):
        load_mle_toolbox_config(str(bad))
    done = _subprocess("import mle_toolbox\nprint(mle_toolbox.mle_config.general.random_seed)",
                       HOME=str(tmp_path))
    assert (done.returncode, done.stdout) == (0, "7\n"), done.stderr


def _fake_commands(folder: Path, **codes: int) -> str:
    for name, code in codes.items():
        path = folder / name
        path.write_text(f"#!/bin/sh\nexit {code}\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(folder)


@pytest.mark.parametrize(("codes", "expected"), [
    ({"qstat": 0, "squeue": 0}, "sge-cluster"),
    ({"squeue": 0}, "slurm-cluster"),
    ({"qstat": 1, "squeue": 1}, "local"),
    ({}, "local"),
])
def test_determine_resource_asks_qstat_then_squeue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codes: dict[str, int], expected: str,
) -> None:
    monkeypatch.setenv("PATH", _fake_commands(tmp_path, **codes))
    assert determine_resource() == expected


def test_setup_proxy_server_sets_the_clusters_proxies_from_mle_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", _fake_commands(tmp_path, squeue=0))
    monkeypatch.setitem(toolbox_config._CACHE, "mle_config", ConfigDict({
        "gcp": {"credentials_path": "~/creds.json"},
        "slurm": {"info": {"http_proxy": "http://proxy:3128",
                           "https_proxy": "http://proxy:3129"}}}))
    setup_proxy_server()
    assert os.environ["GOOGLE_APPLICATION_CREDENTIALS"] == os.path.expanduser("~/creds.json")
    assert (os.environ["HTTP_PROXY"], os.environ["HTTPS_PROXY"]) == (
        "http://proxy:3128", "http://proxy:3129")


def test_check_single_job_args_completes_and_rewrites_the_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(toolbox_config._CACHE, "mle_config", ConfigDict({
        "sge": {"default_job_arguments": {"queue": "short", "num_logical_cores": 1}}}))
    given = {"num_logical_cores": 4, "time_per_job": "01:02:30"}
    assert check_single_job_args("sge-cluster", given) is given  # completed in place
    assert given == {"queue": "short", "num_logical_cores": 4, "time_per_job": "26:30:00"}
    assert check_single_job_args("slurm-cluster", {"time_per_job": "00:05:00"}) == {
        "time_per_job": "0-05:00"}
    assert check_single_job_args("local", None) == {"job_name": "temp", "log_file": "log",
                                                    "err_file": "err"}


def test_check_single_job_args_rejects_bad_values_and_changes_nothing() -> None:
    given = {"time_per_job": "soon"}
    with pytest.raises(ConfigError) as err:
        check_single_job_args("slurm-cluster", given)
    assert str(err.value).startswith("check_single_job_args('slurm-cluster'): time_per_job: "
                                     "expected a time as dd:hh:mm")
    assert given == {"time_per_job": "soon"}
    with pytest.raises(ValueError, match="no GCP backend"):
        check_single_job_args("gcp-cloud", {})


# --- print_framed, environment, prompts, protocol data --------------------------------

def test_print_framed_centres_the_text(capsys: pytest.CaptureFixture[str]) -> None:
    print_framed("abc", 11)
    print_framed("ab", 11, "-")
    print_framed("Hello")
    print_framed("x" * 90)
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["==  abc  ==", "---  ab  --"]
    assert out[2] == "=" * 38 + "  Hello  " + "=" * 38 and len(out[2]) == 85
    assert out[3] == "  " + "x" * 90 + "  "


def test_get_os_env_ready_sets_xla_and_cuda_variables(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("XLA_FLAGS", "CUDA_VISIBLE_DEVICES", "XLA_PYTHON_CLIENT_PREALLOCATE",
                 "XLA_PYTHON_CLIENT_MEM_FRACTION"):
        monkeypatch.delenv(name, raising=False)
    get_os_env_ready(num_devices=4)
    assert os.environ["XLA_FLAGS"] == "--xla_force_host_platform_device_count=4"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == ""
    get_jax_os_ready(2, True, 0.5, "gpu")
    assert (os.environ["CUDA_VISIBLE_DEVICES"], os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"],
            os.environ["XLA_PYTHON_CLIENT_MEM_FRACTION"]) == ("0,1", "True", "0.5")
    assert capsys.readouterr().out.splitlines() == [
        "get_os_env_ready: XLA set up for 4 CPU device(s)",
        "get_os_env_ready: XLA set up for 2 GPU(s)"]
    with pytest.raises(ValueError, match="device_type must be one of cpu, gpu, tpu, got 'GPU'"):
        get_os_env_ready(device_type="GPU")
    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(ModuleNotFoundError, match="install jax"):
        get_os_env_ready(device_type="tpu")


@pytest.mark.parametrize(("stdin", "default", "expected"), [
    ("maybe\ny\n", "N", True), ("N\n", "Y", False), ("", "N", False), ("", "Y", True),
])
def test_ask_for_binary_input_reads_stdin(stdin: str, default: str, expected: bool) -> None:
    code = ("from mle_toolbox.utils import ask_for_binary_input\n"
            f"print(ask_for_binary_input('Delete?', {default!r}, timeout_s=20))")
    done = subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True,
                          text=True, timeout=60, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert " Delete? [Y/N] " in done.stdout
    assert done.stdout.endswith(f"{expected}\n")
    assert ("Please answer Y or N" in done.stdout) == (stdin == "maybe\ny\n")


def test_ask_for_binary_input_takes_the_default_when_no_answer_comes() -> None:
    code = ("from mle_toolbox.utils import ask_for_binary_input\n"
            "print(ask_for_binary_input('Go?', 'Y', timeout_s=0.2))")
    with subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}) as proc:
        out, _ = proc.communicate(timeout=60)  # stdin stays open, nothing is written
    assert out.endswith("True\n")


def test_ask_for_binary_input_without_a_real_stdin_takes_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdin", SimpleNamespace())  # no fileno(): a notebook's stdin
    assert ask_for_binary_input("Go?", "y") is True


def test_ask_for_resource_to_run_says_how_the_backend_is_chosen() -> None:
    with pytest.raises(NotOfferedError) as err:
        ask_for_resource_to_run()
    assert "mle_toolbox never asks where to run" in str(err.value)
    assert "--backend local|sge|sge-drmaa|slurm" in str(err.value)
    assert err.value.exit_code == 2


def test_compose_protocol_data_counts_the_jobs(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    meta = {"meta_job_args": {"project_name": "p", "experiment_type": "multiple-configs",
                              "base_train_fname": "train.py", "experiment_dir": "exp",
                              "base_train_config": "c.json"},
            "single_job_args": {"num_logical_cores": 2, "time_per_job": "00:01:00"},
            "multi_config_args": {"config_fnames": ["a.json", "b.json"], "num_seeds": 3}}
    data, extra = compose_protocol_data(meta, "local", "try it")
    assert data == {"purpose": "try it", "exec_resource": "local", "project_name": "p",
                    "experiment_dir": os.path.join(os.getcwd(), "exp"),
                    "experiment_type": "multiple-configs", "base_fname": "train.py",
                    "config_fname": "c.json", "num_seeds": 3, "num_total_jobs": 6,
                    "num_job_batches": 1, "num_jobs_per_batch": 6, "time_per_job": "00:01:00",
                    "num_cpus": 2, "num_gpus": 0}
    assert extra == {"single_job_args": meta["single_job_args"],
                     "meta_job_args": meta["meta_job_args"]}
    search = {**meta, "meta_job_args": {**meta["meta_job_args"],
                                        "experiment_type": "hyperparameter-search"},
              "param_search_args": {"search_config": {"search_schedule": "sync"},
                                    "search_resources": {"num_search_batches": 4,
                                                         "num_evals_per_batch": 5,
                                                         "num_seeds_per_eval": 2}}}
    data, extra = compose_protocol_data(search, "sge-cluster", "grid")
    assert (data["num_seeds"], data["num_total_jobs"], data["num_job_batches"],
            data["num_jobs_per_batch"]) == (2, 40, 4, 10)
    assert extra["job_spec_args"] == search["param_search_args"]


# --- a train.py built on mle_toolbox.utils, under mle run -----------------------------

TRAIN_PY = '''\
"""An mle-toolbox 0.3.5 style script built on mle_toolbox.utils (no MLExperiment)."""
import os
import random

import numpy as np
from mle_toolbox.utils import (get_extra_cmd_line_input, load_job_config, load_pkl_object,
                               parse_experiment_args, print_framed, save_pkl_object,
                               set_random_seeds)


def main():
    args, extra = parse_experiment_args()
    train_config, model_config, log_config, device_config = load_job_config(
        args.config_fname, args.experiment_dir, args.seed_id)
    extra_input = get_extra_cmd_line_input(extra)
    set_random_seeds(train_config.seed_id, verbose=True)
    draws = [random.random() for _ in range(3)] + np.random.rand(2).tolist()
    print_framed(f"seed {train_config.seed_id} lrate {train_config.lrate}")
    fname = os.path.join(args.experiment_dir, f"draws_{log_config.seed_id}.pkl")
    save_pkl_object({"draws": draws, "lrate": train_config.lrate,
                     "scale": extra_input["-scale"], "units": model_config.units}, fname)
    assert load_pkl_object(fname)["draws"] == draws


if __name__ == "__main__":
    main()
'''

META_YAML = """\
meta_job_args:
  project_name: utils_compat
  experiment_type: multiple-configs
  base_train_fname: train.py
  experiment_dir: experiments
single_job_args:
  extra_cmd_line_input:
    scale: 2.5
multi_config_args:
  config_fnames: [configs/base.json]
  num_seeds: 2
"""


def test_a_train_py_built_on_mle_toolbox_utils_runs_under_mle_run(tmp_path: Path) -> None:
    write(tmp_path / "train.py", TRAIN_PY)
    write(tmp_path / "configs" / "base.json", COMMENTED_CONFIG.replace(
        '"net_config": {"units": [8, 4]}', '"model_config": {"units": 8}'))
    write(tmp_path / "meta.yaml", META_YAML)
    result = run_mle("run", "meta.yaml", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    run = tmp_path / "experiments" / "base"
    for seed in (0, 1):
        random.seed(seed)
        np.random.seed(seed)
        want = [random.random() for _ in range(3)] + np.random.rand(2).tolist()
        with open(run / f"draws_{seed}.pkl", "rb") as handle:
            assert pickle.load(handle) == {"draws": want, "lrate": 0.1, "scale": 2.5,
                                           "units": 8}
        stdout = (run / "jobs" / f"seed_{seed}" / "stdout.log").read_text()
        assert f"set_random_seeds: seeded random, numpy with {seed}\n" in stdout
        assert f"  seed {seed} lrate 0.1  " in stdout
