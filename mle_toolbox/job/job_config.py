"""What a job reads at start: its command line and its config file.

``parse_job_args`` splits ``-config C -seed S -exp_dir D`` from the extra flags,
``load_config`` reads a JSON (comments allowed) or YAML config, and ``ConfigDict``
gives the result attribute access (``cfg.lrate``), as mle-toolbox's DotMap did.
Apart from experiment.py, which holds what MLExperiment does with them (seeding,
logging, the status file): ``results.upstream.load_config`` reads configs the same
way without making an experiment. On every job's import path, so it imports no more
than before the split (no json: jsontext; no typing).
"""

from __future__ import annotations

import os

from ..files.jsontext import loads

TYPE_CHECKING = False  # typing's flag without importing typing on a job's import path
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    _Dict = dict[str, Any]
else:
    _Dict = dict

_FLAGS = {"config": "config", "config_fname": "config", "seed": "seed", "seed_id": "seed",
          "exp_dir": "exp_dir", "experiment_dir": "exp_dir", "model_ckpt": "model_ckpt",
          "model_ckpt_path": "model_ckpt", "wb_project": "wb_project", "wb_group": "wb_group",
          "wb_name": "wb_name"}


class ConfigDict(_Dict):
    """A dict with attribute access (``cfg.lrate``) that keeps ``.get`` and ``**``."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        super().__init__()
        for key, value in (data or {}).items():
            self[key] = _attr_access(value)

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"config has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


def _attr_access(value: Any) -> Any:
    # Dicts inside lists too, as DotMap does: ``cfg.layers[0].width``.
    if isinstance(value, dict):
        return ConfigDict(value)
    if isinstance(value, list):
        return [_attr_access(item) for item in value]
    return value


def parse_job_args(argv: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Split ``-config C -seed S -exp_dir D`` (one or two dashes) from extra ``-key value``.

    Extra values stay strings: the script decides their types.
    """
    known: dict[str, str] = {}
    extra: dict[str, str] = {}
    items = list(argv)
    index = 0
    while index < len(items):
        flag = items[index]
        if not flag.startswith("-") or flag in ("-", "--"):
            raise SystemExit(f"MLExperiment: unexpected argument {flag!r}")
        name, _, inline = flag.lstrip("-").partition("=")
        if inline or "=" in flag:
            value, index = inline, index + 1
        elif index + 1 < len(items):
            value, index = items[index + 1], index + 2
        else:
            raise SystemExit(f"MLExperiment: {flag} needs a value")
        target = known if name in _FLAGS else extra
        target[_FLAGS.get(name, name)] = value
    return known, extra


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a JSON (comments allowed) or YAML config file into a dict."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if os.path.splitext(path)[1].lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        from ..files.jsoncomments import uncomment  # commentjson's dialect, as upstream

        if "#" in text or "//" in text:  # comments, perhaps: a failed parse loads json
            text = uncomment(text)
        try:
            data = loads(text)
        except ValueError:  # json.JSONDecodeError: a trailing comma, perhaps
            data = loads(uncomment(text))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a config must be a mapping, got {type(data).__name__}")
    return data
