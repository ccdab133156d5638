"""Model checkpoints of one job: a final model, every k steps, the top k by an objective.

::

    <run_dir>/checkpoints/seed_<s>/
      final.npz          mle.log.save_model(model)
      step_<k>.npz       mle.log.save_checkpoint(state, step)
      index.json         name, file, format, step and objective of every checkpoint

The format follows the object: a mapping of numpy arrays is stored as ``.npz``,
JSON data as ``.json``, a torch module or ``state_dict`` as ``.pt`` (only when the
script imported torch), anything else with pickle (``.pkl``). numpy and torch are
imported only when such an object is saved or loaded.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import MleError
from ..files.atomic import atomic_binary, dumps_json, write_json_atomic
from ..files.layout import CHECKPOINT_INDEX_NAME, CHECKPOINT_NAME_PATTERN

SUFFIXES = {"npz": ".npz", "json": ".json", "pickle": ".pkl", "torch": ".pt"}
FINAL = "final"
CHECKPOINT_NAME = re.compile(CHECKPOINT_NAME_PATTERN)


class CheckpointNotFound(MleError):  # noqa: N818 - reads as the condition it reports
    """A requested checkpoint does not exist; the message names the run and the path."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class CheckpointPolicy:
    """When checkpoints are saved and which are kept, from ``log_config``.

    ``model_ckpt_every_k_steps`` (mle-toolbox: ``save_every_k_ckpt``), ``top_k``
    (``save_top_k_ckpt``), ``top_k_metric_name`` and ``top_k_minimize_metric``.
    """

    every_k_steps: int | None = None
    top_k: int | None = None
    metric: str | None = None
    minimize: bool = True

    @classmethod
    def from_log_config(cls, log_config: Mapping[str, Any]) -> CheckpointPolicy:
        """Read the policy; bad values raise ValueError naming the key."""
        minimize = log_config.get("top_k_minimize_metric", True)
        if not isinstance(minimize, bool):
            raise ValueError(f"log_config.top_k_minimize_metric must be true or false, "
                             f"got {minimize!r}")
        metric = log_config.get("top_k_metric_name")
        if metric is not None and not isinstance(metric, str):
            raise ValueError(f"log_config.top_k_metric_name must be a string, got {metric!r}")
        return cls(every_k_steps=_positive(log_config, "model_ckpt_every_k_steps",
                                           "save_every_k_ckpt"),
                   top_k=_positive(log_config, "top_k", "save_top_k_ckpt"),
                   metric=metric, minimize=minimize)


def _positive(config: Mapping[str, Any], key: str, alias: str) -> int | None:
    name = key if config.get(key) is not None else alias
    value = config.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"log_config.{name} must be a positive integer, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class CheckpointInfo:
    """One entry of ``index.json``."""

    name: str
    file: str
    format: str
    step: int | None
    objective: float | None
    time: float


class CheckpointStore:
    """Saves the checkpoints of one job into its folder and keeps ``index.json`` current."""

    def __init__(self, folder: Path, *, policy: CheckpointPolicy = CheckpointPolicy(),
                 last_stats: Callable[[], Mapping[str, Any]] | None = None) -> None:
        self.folder = Path(folder)
        self.policy = policy
        self._last_stats = last_stats or dict
        self._loaded: dict[str, CheckpointInfo] | None = None

    @property
    def _entries(self) -> dict[str, CheckpointInfo]:
        # Read on first use (nothing is read when a job starts); an index of an earlier
        # attempt (a resumed job) is continued, not dropped.
        if self._loaded is None:
            self._loaded = {e.name: e for e in read_index(self.folder)[0]}
        return self._loaded

    @property
    def entries(self) -> tuple[CheckpointInfo, ...]:
        """The checkpoints saved so far, in saving order."""
        return tuple(self._entries.values())

    def save_model(self, model: Any, *, objective: float | None = None,
                   fmt: str | None = None) -> Path:
        """Save ``model`` as the final checkpoint (replacing an earlier final one)."""
        return self._save(FINAL, model, step=None, objective=self._objective(objective),
                          fmt=fmt)

    def save_named(self, name: str, obj: Any, *, fmt: str | None = None) -> Path:
        """Save ``obj`` under its own name (``init``: the model before training)."""
        if not re.fullmatch(r"[\w.-]+", name) or name == FINAL or name.startswith("step_"):
            raise ValueError(f"checkpoint name {name!r}: use letters, digits, '.', '-' or "
                             f"'_', not 'final' or 'step_*'")
        return self._save(name, obj, step=None, objective=None, fmt=fmt)

    def save_checkpoint(self, state: Any, step: int, *, objective: float | None = None,
                        fmt: str | None = None) -> Path | None:
        """Save ``state`` as ``step_<step>`` if the step is due; returns its path or None.

        Due: every ``model_ckpt_every_k_steps`` steps (every call when unset). With
        ``top_k``, only the k best step checkpoints by the objective are kept; the
        objective is ``objective=`` or the last logged value of ``top_k_metric_name``.
        """
        every = self.policy.every_k_steps
        if every is not None and step % every != 0:
            return None
        value = self._objective(objective)
        if self.policy.top_k is not None and value is None:
            raise ValueError("top_k checkpoints need an objective: pass objective= or log "
                             f"log_config.top_k_metric_name ({self.policy.metric!r}) first")
        path = self._save(f"step_{step}", state, step=step, objective=value, fmt=fmt)
        self._prune()
        return path if path.exists() else None

    def _objective(self, given: float | None) -> float | None:
        if given is not None:
            return float(given)
        metric = self.policy.metric
        value = self._last_stats().get(metric) if metric else None
        return float(value) if isinstance(value, int | float) else None

    def _save(self, name: str, obj: Any, *, step: int | None, objective: float | None,
              fmt: str | None) -> Path:
        fmt = fmt or detect_format(obj)
        if fmt not in SUFFIXES:
            raise ValueError(f"unknown checkpoint format {fmt!r}; use one of "
                             f"{', '.join(SUFFIXES)}")
        path = self.folder / f"{name}{SUFFIXES[fmt]}"
        old = self._entries.pop(name, None)
        write_checkpoint(path, obj, fmt=fmt)
        if old is not None and old.file != path.name:
            (self.folder / old.file).unlink(missing_ok=True)
        self._entries[name] = CheckpointInfo(name=name, file=path.name, format=fmt, step=step,
                                             objective=objective, time=time.time())
        self._write_index()
        return path

    def _prune(self) -> None:
        keep = self.policy.top_k
        steps = [e for e in self._entries.values() if e.name != FINAL]
        if keep is None or len(steps) <= keep:
            return
        ranked = sorted(steps, key=lambda e: _rank(e, minimize=self.policy.minimize))
        for entry in ranked[keep:]:
            del self._entries[entry.name]
            (self.folder / entry.file).unlink(missing_ok=True)
        self._write_index()

    def _write_index(self) -> None:
        write_json_atomic(self.folder / CHECKPOINT_INDEX_NAME,
                          {"minimize": self.policy.minimize,
                           "checkpoints": [asdict(e) for e in self._entries.values()]})


def _rank(entry: CheckpointInfo, *, minimize: bool) -> float:
    value = entry.objective if entry.objective is not None else float("inf")
    return value if minimize else -value


def detect_format(obj: Any) -> str:
    """``torch`` for torch modules / state_dicts, ``npz`` for mappings of arrays,
    ``json`` for JSON data, else ``pickle``."""
    torch = sys.modules.get("torch")  # a torch object exists only if torch was imported
    if torch is not None and _is_torch(torch, obj):
        return "torch"
    numpy = sys.modules.get("numpy")
    if numpy is not None and _is_array_mapping(numpy, obj):
        return "npz"
    try:
        json.dumps(obj, allow_nan=True)
    except (TypeError, ValueError):
        return "pickle"
    return "json"


def _is_torch(torch: Any, obj: Any) -> bool:
    if isinstance(obj, torch.nn.Module):
        return True
    return isinstance(obj, Mapping) and any(isinstance(v, torch.Tensor) for v in obj.values())


def _is_array_mapping(numpy: Any, obj: Any) -> bool:
    if not isinstance(obj, Mapping) or not obj:
        return False
    arrays = all(isinstance(v, numpy.ndarray | numpy.generic) for v in obj.values())
    return arrays and all(isinstance(k, str) for k in obj)


def write_checkpoint(path: Path, obj: Any, *, fmt: str) -> None:
    """Write ``obj`` atomically in format ``fmt`` (see ``SUFFIXES``)."""
    with atomic_binary(path) as handle:
        _WRITERS[fmt](handle, obj)


def _write_npz(handle: IO[bytes], obj: Any) -> None:
    import numpy as np

    np.savez(handle, **dict(obj))


def _write_json(handle: IO[bytes], obj: Any) -> None:
    handle.write((dumps_json(obj) + "\n").encode("utf-8"))


def _write_pickle(handle: IO[bytes], obj: Any) -> None:
    import pickle  # lazily: most scripts save numpy or JSON, and MLExperiment starts per job

    pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)


def _write_torch(handle: IO[bytes], obj: Any) -> None:
    torch = importlib.import_module("torch")
    state = obj.state_dict() if isinstance(obj, torch.nn.Module) else obj
    torch.save(state, handle)


_WRITERS: dict[str, Callable[[IO[bytes], Any], None]] = {
    "npz": _write_npz, "json": _write_json, "pickle": _write_pickle, "torch": _write_torch,
}


def load_checkpoint(path: str | Path) -> Any:
    """Load a checkpoint file written by ``CheckpointStore`` (format from its suffix).

    ``.npz`` gives a dict of numpy arrays, ``.json`` the JSON data, ``.pt`` what
    ``torch.load`` returns (on the CPU), ``.pkl`` the unpickled object (only load
    pickles you wrote yourself).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointNotFound(f"checkpoint {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        import numpy as np

        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    if suffix == ".npy":  # mle-logging's numpy models
        import numpy as np

        return np.load(path, allow_pickle=False)
    if suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    if suffix == ".pt":
        # torch is optional: imported only to load a torch checkpoint.
        return importlib.import_module("torch").load(path, map_location="cpu")
    if suffix == ".pkl":
        import pickle

        with open(path, "rb") as handle:
            return pickle.load(handle)  # the job's own checkpoint
    raise ValueError(f"{path}: unknown checkpoint suffix {suffix!r}; expected one of "
                     f"{', '.join(SUFFIXES.values())}")


def read_index(folder: Path) -> tuple[list[CheckpointInfo], bool]:
    """Entries of ``folder/index.json`` (none when there is no index), and whether a
    smaller objective is better."""
    path = Path(folder) / CHECKPOINT_INDEX_NAME
    if not path.is_file():
        return [], True
    data = json.loads(path.read_text(encoding="utf-8"))
    entries = [CheckpointInfo(**entry) for entry in data.get("checkpoints", [])]
    return entries, bool(data.get("minimize", True))


def find_checkpoint(folder: Path, name: str = FINAL, *, run: str = "") -> Path:
    """Path of checkpoint ``name`` in ``folder``.

    ``name`` is ``final``, ``best`` (best objective), ``last`` (highest step),
    ``step_<k>`` or a file name. Raises CheckpointNotFound naming run and path.
    """
    folder = Path(folder)
    entries, minimize = read_index(folder)
    chosen = _choose(entries, name, minimize=minimize)
    if chosen is not None and (folder / chosen.file).is_file():
        return folder / chosen.file
    direct = folder / name
    if direct.suffix in SUFFIXES.values() and direct.is_file():
        return direct
    have = ", ".join(e.name for e in entries) or "none"
    where = f"run {run}: " if run else ""
    hint = ("none has an objective: set log_config.top_k_metric_name or pass objective="
            if name == "best" and entries else "does train.py call mle.log.save_model(model)?")
    raise CheckpointNotFound(
        f"{where}no checkpoint {name!r} in {folder} (saved checkpoints: {have}); {hint}")


def _choose(entries: list[CheckpointInfo], name: str, *,
            minimize: bool) -> CheckpointInfo | None:
    if name == "best":
        scored = [e for e in entries if e.objective is not None]
        return min(scored, key=lambda e: _rank(e, minimize=minimize)) if scored else None
    if name == "last":
        stepped = [e for e in entries if e.step is not None]
        return max(stepped, key=lambda e: e.step or 0) if stepped else None
    return next((e for e in entries if e.name == name), None)


def load_model(path: str | Path, model_type: str | None = None, model: Any = None, *,
               seed: int = 0, name: str = FINAL) -> Any:
    """Load a model: a checkpoint file (mle-logging's ``load_model(path, model_type,
    model)``) or checkpoint ``name`` of one seed of a run folder.

    With ``model`` given (torch: a module), the loaded state is put into it with
    ``load_state_dict`` and the model is returned, as mle-logging does.
    """
    from ..files.layout import JobLayout

    path = Path(path)
    if path.is_dir():
        folder = JobLayout(run_dir=path, seed=seed).checkpoints_dir
        path = find_checkpoint(folder, name, run=f"{path.name} seed {seed}")
    state = load_checkpoint(path)
    if model is not None and model_type in (None, "torch") and hasattr(model,
                                                                        "load_state_dict"):
        model.load_state_dict(state)
        return model
    return state
