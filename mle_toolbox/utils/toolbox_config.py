"""mle-toolbox's user configuration (``~/mle_config.toml``) and the helpers that read it:
``mle_config``, ``load_mle_toolbox_config``, ``determine_resource``, ``setup_proxy_server``
and ``check_single_job_args``.

mle_toolbox itself reads no user configuration file: ``mle run`` takes everything from
the meta YAML and its flags. ``mle_config`` is still what mle-toolbox gave a script: the
TOML file when there is one (read, never used by the launcher), else mle-toolbox's own
minimal stand-in (a ``general`` section only). Encrypted credentials stay as stored:
nothing here connects over SSH.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from ..job.job_config import ConfigDict

DEFAULT_CONFIG_FNAME = "~/mle_config.toml"
# What mle-toolbox 0.3.5 hands out when there is no ~/mle_config.toml.
_MINIMAL = {"general": {
    "use_conda_virtual_env": False, "use_venv_virtual_env": False,
    "use_credential_encryption": False, "use_slack_bot": False, "random_seed": 42,
    "use_gcloud_protocol_sync": False, "local_protocol_fname": "~/local_mle_protocol.db",
}}
# mle-toolbox's local defaults for single_job_args (check_single_job.py)
_LOCAL_DEFAULTS = {"job_name": "temp", "log_file": "log", "err_file": "err"}

_CACHE: dict[str, ConfigDict] = {}  # mle_config, once read


def load_mle_toolbox_config(config_fname: str = DEFAULT_CONFIG_FNAME) -> ConfigDict:
    """``config_fname`` (TOML, ``~`` expanded) with attribute access, or without that file
    mle-toolbox's minimal config. A file that is not valid TOML is a ConfigError."""
    from ..errors import ConfigError

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # tomllib's backport (a dependency on Python 3.10)
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

    path = os.path.expanduser(config_fname)
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return ConfigDict(_MINIMAL)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"not valid TOML: {err}", file=config_fname) from None
    return ConfigDict(data)


def __getattr__(name: str) -> Any:
    # ``mle_config``: read on first use (mle-toolbox read it at import), then kept.
    if name == "mle_config":
        if name not in _CACHE:
            _CACHE[name] = load_mle_toolbox_config()
        return _CACHE[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _config() -> ConfigDict:
    config: ConfigDict = __getattr__("mle_config")
    return config


def determine_resource() -> str:
    """``sge-cluster`` when ``qstat`` works here, else ``slurm-cluster`` when ``squeue``
    does, else ``local`` (each asked once, with a 10 s deadline)."""
    from ..backends.upstream_resources import probe_resource

    return probe_resource()


def setup_proxy_server() -> None:
    """Set ``GOOGLE_APPLICATION_CREDENTIALS`` and the cluster's HTTP(S) proxies from
    ``mle_config`` (its ``gcp.credentials_path``, ``<sge|slurm>.info.http_proxy`` /
    ``https_proxy``). Without those keys (and without a config file) it sets nothing."""
    config = _config()
    credentials = _section(config, "gcp").get("credentials_path")
    if credentials:
        os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = os.path.expanduser(str(credentials))
    from ..backends.upstream_resources import config_section

    section = config_section(determine_resource())
    if section is None:  # not on a cluster
        return
    info = _section(_section(config, section), "info")
    if info.get("http_proxy"):
        os.environ["HTTP_PROXY"] = str(info["http_proxy"])
        os.environ["HTTPS_PROXY"] = str(info.get("https_proxy", ""))


def check_single_job_args(resource_to_run: str, job_arguments: dict[str, Any] | None
                          ) -> dict[str, Any]:
    """``single_job_args`` checked against mle_toolbox's schema and completed, as
    mle-toolbox did: ``mle_config``'s ``<sge|slurm>.default_job_arguments`` for missing
    keys, ``time_per_job`` (``dd:hh:mm``) rewritten as qsub (``hh:mm:ss``) or sbatch
    (``d-hh:mm``) want it; local jobs get a job name and log file names.

    The dict given is completed in place and returned (as mle-toolbox did); a bad value
    raises ConfigError naming the key, and changes nothing.
    """
    from ..backends import RESOURCE_NAMES
    from ..backends.upstream_resources import config_section, time_per_job_text
    from ..config.job_args import resources
    from ..config.schema import Node
    from ..config.source import Source

    if resource_to_run not in RESOURCE_NAMES:
        raise ValueError(f"check_single_job_args: resource_to_run must be one of "
                         f"{', '.join(RESOURCE_NAMES)}, got {resource_to_run!r} (mle_toolbox "
                         "has no GCP backend)")
    args = {} if job_arguments is None else job_arguments
    section = config_section(resource_to_run)  # None: local
    defaults = (_LOCAL_DEFAULTS if section is None else _section(
        _section(_config(), section), "default_job_arguments"))
    full = {**defaults, **args}
    src = Source(origin=f"check_single_job_args({resource_to_run!r})")
    limit = resources(Node.root(full, src=src, what="single_job_args")).time_limit_s
    if limit is not None and section is not None:
        full["time_per_job"] = time_per_job_text(resource_to_run, limit)
    args.update(full)
    return args


def _section(config: dict[str, Any], key: str) -> dict[str, Any]:
    value = config.get(key)
    return value if isinstance(value, dict) else {}
