"""mle-toolbox 0.3.5's job-side readers: ``parse_experiment_args``, ``load_job_config``,
``get_extra_cmd_line_input`` and ``load_experiment_config`` (both of its forms).

The command line and the config file are read by job/job_config.py, as MLExperiment
reads them: one reader, one dialect (``-config C -seed S -exp_dir D``, JSON with comments
or YAML).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..job.job_config import ConfigDict, load_config, parse_job_args
from .helpers import print_framed

if TYPE_CHECKING:
    from argparse import Namespace

# mle-toolbox's stand-in when the config file named does not exist.
_DEFAULT_LOG = {"time_to_track": ["num_updates"], "what_to_track": ["loss"]}


def parse_experiment_args(default_config_fname: str = "configs/base_config.json",
                          default_seed: int | None = None,
                          default_experiment_dir: str = "experiments/", *,
                          argv: Sequence[str] | None = None) -> tuple[Namespace, list[str]]:
    """(args, extra) of a job's command line (``argv``, default ``sys.argv[1:]``).

    ``args``: ``config_fname``, ``experiment_dir``, ``seed_id`` (an int or None),
    ``model_ckpt_path`` (also as ``model_ckpt``), ``wb_project``, ``wb_group``, ``wb_name``;
    ``extra``: the other flags as ``["-key", "value", ...]``.
    """
    from argparse import Namespace  # argparse's namespace, as mle-toolbox returned

    known, extra = parse_job_args(sys.argv[1:] if argv is None else argv)
    seed: int | None = default_seed
    if "seed" in known:
        try:
            seed = int(known["seed"])
        except ValueError:
            print(f"parse_experiment_args: -seed must be an integer, got {known['seed']!r}",
                  file=sys.stderr)
            raise SystemExit(2) from None
    ckpt = known.get("model_ckpt")
    args = Namespace(config_fname=known.get("config", default_config_fname),
                     experiment_dir=known.get("exp_dir", default_experiment_dir),
                     seed_id=seed, model_ckpt_path=ckpt, model_ckpt=ckpt,
                     wb_project=known.get("wb_project"), wb_group=known.get("wb_group"),
                     wb_name=known.get("wb_name"))
    return args, [item for key, value in extra.items() for item in (f"-{key}", value)]


def get_extra_cmd_line_input(extra_cmd_args: Sequence[str] | None = None) -> ConfigDict | None:
    """``["-key", "value", ...]`` pairs as a dict (keys as given, values as floats where
    they read as numbers, else strings); None for None. An odd last item is dropped."""
    if extra_cmd_args is None:
        return None
    pairs = {}
    for index in range(0, len(extra_cmd_args) - 1, 2):
        pairs[extra_cmd_args[index]] = _float_or_text(extra_cmd_args[index + 1])
    return ConfigDict(pairs)


def load_job_config(  # noqa: PLR0917 - mle-toolbox's positional order
    config_fname: str, experiment_dir: str, seed_id: int | None = 0,
    model_ckpt: str | None = None, train_config_ext: Mapping[str, Any] | None = None,
    log_config_ext: Mapping[str, Any] | None = None,
    model_config_ext: Mapping[str, Any] | None = None,
    device_config_ext: Mapping[str, Any] | None = None,
) -> tuple[ConfigDict, ConfigDict | None, ConfigDict, ConfigDict | None]:
    """(train_config, model_config, log_config, device_config) of a job config file.

    ``model_config`` (or ``net_config``) and ``device_config`` are None when absent. A
    file that does not exist gives mle-toolbox's default (empty train_config, a log of
    ``loss`` over ``num_updates``) and says so. log_config gets ``config_fname``,
    ``experiment_dir`` and ``seed_id``; train_config ``seed_id`` and ``model_ckpt``
    (when given); the ``*_ext`` mappings are copied in last.
    """
    fname: str | None = config_fname
    if os.path.exists(config_fname):
        config = ConfigDict(load_config(config_fname))
        for key in ("train_config", "log_config"):
            _require(config, key, file=config_fname)
    else:
        config = ConfigDict({"train_config": {}, "log_config": _DEFAULT_LOG})
        print_framed(f"{config_fname} not found: using the default job config")
        fname = None
    for key in ("time_to_track", "what_to_track"):
        _require(config.log_config, key, file=config_fname, parent="log_config")
    train = ConfigDict(config.train_config)
    log = ConfigDict({**config.log_config, "config_fname": fname,
                      "experiment_dir": experiment_dir})
    model = _optional(config, "net_config", "model_config")
    device = _optional(config, "device_config")
    if "device_name" in train:
        train["device_name"] = _device_name()
    if "tboard_fname" not in log and log.get("use_tboard") and fname is not None:
        log["tboard_fname"] = os.path.splitext(os.path.basename(fname))[0]
    if seed_id is not None:
        train["seed_id"] = int(seed_id)
        log["seed_id"] = seed_id
    else:
        log["seed_id"] = train.get("seed_id", "seed_default")
    if model_ckpt is not None:
        train["model_ckpt"] = model_ckpt
    train.update(ConfigDict(dict(train_config_ext or {})))
    log.update(ConfigDict(dict(log_config_ext or {})))
    if model_config_ext is not None:
        model = ConfigDict({**(model or {}), **model_config_ext})
    if device_config_ext is not None:
        device = ConfigDict({**(device or {}), **device_config_ext})
    return train, model, log, device


def load_experiment_config(config_fname: Any, experiment_dir: str | None = None,
                           seed_id: int | None = None, model_ckpt: str | None = None) -> Any:
    """Both of mle-toolbox's ``load_experiment_config``:

    * ``(config_fname, experiment_dir, seed_id, model_ckpt=None)`` (0.3.0, a job config):
      ``(train_config, model_config, log_config)``;
    * ``(cmd_args)`` (0.3.5, the launcher's): the meta YAML ``cmd_args.config_fname``,
      checked as ``mle run`` checks it, with ``cmd_args``' ``base_train_fname``,
      ``base_train_config`` and ``experiment_dir`` (when not None) put into its
      ``meta_job_args``; a bad meta YAML raises ConfigError.
    """
    if isinstance(config_fname, str | os.PathLike):
        if experiment_dir is None:
            raise TypeError("load_experiment_config(config_fname, experiment_dir, seed_id): "
                            "experiment_dir is missing (or pass mle's parsed command line, "
                            "whose config_fname is the meta YAML)")
        from ..results.upstream import load_experiment_config as job_config

        return job_config(os.fspath(config_fname), experiment_dir, seed_id, model_ckpt)
    return _meta_config(config_fname)


def _meta_config(cmd_args: Any) -> ConfigDict:
    from pathlib import Path

    from ..config.meta import load_meta
    from ..config.paths import Overrides

    path = _field(cmd_args, "config_fname")
    if path is None:
        raise TypeError("load_experiment_config(cmd_args): cmd_args.config_fname must name "
                        "the meta YAML")
    given = {key: _field(cmd_args, key) for key in
             ("base_train_fname", "base_train_config", "experiment_dir")}
    load_meta(Path(path), overrides=Overrides(train_fname=given["base_train_fname"],
                                              train_config=given["base_train_config"],
                                              experiment_dir=given["experiment_dir"]))
    config = ConfigDict(load_config(path))
    config.meta_job_args.update({k: v for k, v in given.items() if v is not None})
    return config


def _field(cmd_args: Any, key: str) -> str | None:
    """A path field of argparse's namespace, a DotMap or a dict; None when unset (a
    DotMap answers an unset key with an empty DotMap)."""
    value = cmd_args.get(key) if isinstance(cmd_args, Mapping) else getattr(cmd_args, key,
                                                                             None)
    return os.fspath(value) if isinstance(value, str | os.PathLike) else None


def _float_or_text(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _require(section: Mapping[str, Any], key: str, *, file: str, parent: str = "") -> None:
    if key not in section:
        from ..errors import ConfigError

        raise ConfigError("missing: an mle-toolbox job config needs it", file=file,
                          key=f"{parent}.{key}" if parent else key)


def _optional(config: ConfigDict, *keys: str) -> ConfigDict | None:
    for key in keys:
        if key in config:
            return ConfigDict(config[key])
    return None


def _device_name() -> str:
    """``cuda`` when torch is installed and sees a GPU, else ``cpu``."""
    from .seeding import installed_module

    torch = installed_module("torch")
    return "cuda" if torch is not None and torch.cuda.is_available() else "cpu"
