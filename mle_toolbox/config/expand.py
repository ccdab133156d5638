"""Expansion of a validated meta config into runs and jobs: pure and deterministic.

configs x seeds, grid product x seeds, or seeded random search x seeds. No I/O:
the base configs come in already loaded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath

from ..digest import sha256_hex
from ..errors import ConfigError
from ..records import record, replace
from ..search import is_adaptive
from ..spec import ExperimentType, JobSpec, RunSpec
from .meta_types import MetaConfig, SearchConfig
from .schema import over_cap
from .search_space import grid_points, grid_size, random_points
from .source import display_name

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
DEFAULT_SECTION = "train_config"


@record
class Plan:
    """Every run and job of one experiment, in launch order."""

    meta: MetaConfig
    runs: tuple[RunSpec, ...]
    jobs: tuple[JobSpec, ...]
    notes: tuple[str, ...] = ()

    def run(self, run_id: str) -> RunSpec:
        """The run with this id."""
        return self._by_id()[run_id]

    def _by_id(self) -> dict[str, RunSpec]:
        return {r.run_id: r for r in self.runs}


def expand(meta: MetaConfig, *, configs: Mapping[Path, dict[str, Any]]) -> Plan:
    """Expand ``meta`` into a Plan; ``configs`` maps each base config path to its data."""
    notes: list[str] = []
    if meta.experiment_type is ExperimentType.HYPERPARAMETER_SEARCH:
        assert meta.search is not None
        runs = _all_search_runs(meta, meta.search, configs=configs, notes=notes)
    else:
        _check_cap(len(meta.config_files) * len(meta.seeds), meta=meta,
                   what=f"{len(meta.config_files):,} configs x {len(meta.seeds):,} seeds")
        ids = run_ids(meta.config_files, meta_display=meta.path)
        runs = tuple(  # a RunSpec each, as _run builds it, for 20,000 config files
            RunSpec(run_id=run_id, source=path, config=(config := configs[path]),
                    config_hash=config_hash(config))
            for run_id, path in zip(ids, meta.config_files, strict=True)
        )
    jobs = tuple(
        JobSpec(run_id=run.run_id, seed=seed, config_hash=run.config_hash)
        for run in runs for seed in meta.seeds
    )
    return Plan(meta=meta, runs=runs, jobs=jobs, notes=tuple(notes))


def _run(run_id: str, *, source: Path, config: dict[str, Any],
         params: dict[str, Any] | None = None) -> RunSpec:
    return RunSpec(run_id=run_id, source=source, config=config,
                   config_hash=config_hash(config), params=params or {})


# json.dumps(config, sort_keys=True, separators=(",", ":"), default=str), with the encoder
# built once (dumps builds one per call for non-default options; a plan hashes 20,000+).
# The text must never change: plan.json's hashes are compared with it on every resume.
_HASH_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


def _hash_text() -> Callable[[Mapping[str, Any]], str]:
    """``_HASH_ENCODER.encode``, with json's C encoder made once rather than per call
    (as ``encode`` does), where there is one. Without the check for circular references:
    a config read from JSON cannot have one, and a recursive YAML alias is refused."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _HASH_ENCODER.encode
    try:
        chunks = make(None, str, json.encoder.encode_basestring_ascii, None, ":", ",",
                      True, False, True)  # sort_keys, not skipkeys, allow_nan: as dumps
    except TypeError:  # its arguments changed
        return _HASH_ENCODER.encode

    def text(config: Mapping[str, Any]) -> str:
        return "".join(chunks(config, 0))

    # Checked once against the encoder itself: the hashed text must never change.
    sample = {"b": [1.5, None, True, "\u00e9", float("inf")], "a": {"y": 2, "x": Path("/")}}
    return text if text(sample) == _HASH_ENCODER.encode(sample) else _HASH_ENCODER.encode


_TEXT = _hash_text()


def config_hash(config: Mapping[str, Any]) -> str:
    """Stable short hash of a resolved config (key order does not matter)."""
    return sha256_hex(_TEXT(config).encode())[:16]


def run_ids(paths: tuple[Path, ...], *, meta_display: str | Path) -> list[str]:
    """Filesystem-safe, unique run ids from config paths.

    The id is the file stem; stems that collide get as many parent folder names
    prefixed as it takes to tell them apart (``a/cfg``, ``b/cfg`` -> ``a_cfg``, ``b_cfg``).
    """
    if len(set(paths)) < len(paths):  # the entries are looked at only when one repeats
        _refuse_repeats(paths, meta_display=meta_display)
    stems = [_safe_text(_stem(path)) for path in paths]
    if len(set(stems)) == len(stems):  # the usual case: nothing to tell apart or number
        return stems
    ids = dict(zip(paths, stems, strict=True))
    clashes = _clashing(ids)
    if clashes:  # folder names only when stems clash: splitting 20,000 paths costs
        depth = dict.fromkeys(paths, 1)
        for _ in range(max(len(p.parts) for p in paths)):
            for path in clashes:
                depth[path] += 1
                ids[path] = _safe_id(path, depth[path])
            clashes = _clashing(ids)
            if not clashes:
                break
    return _number_leftovers([ids[p] for p in paths])


def _stem(path: Path) -> str:
    """``path.stem``, from the path's text: pathlib works it out through two properties,
    and a sweep asks for 20,000 (the last part without its last suffix, as pathlib)."""
    if not isinstance(path, PurePosixPath):
        return path.stem
    text = str(path)
    name = "" if text == "." else text[text.rfind("/") + 1:]
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


def _refuse_repeats(paths: tuple[Path, ...], *, meta_display: str | Path) -> None:
    seen: dict[Path, int] = {}
    for index, path in enumerate(paths):
        if path in seen:
            raise ConfigError(
                f"config file {display_name(path)!r} is listed twice "
                f"(entries {seen[path]} and {index})",
                file=_shown(meta_display), key="multi_config_args.config_fnames",
            )
        seen[path] = index


def _safe_id(path: Path, depth: int) -> str:
    parts = [*path.parent.parts[max(0, len(path.parent.parts) - depth + 1):], path.stem]
    return _safe_text("_".join(p for p in parts if p not in ("/", "")))


def _safe_text(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._-") or "config"


def _clashing(ids: dict[Path, str]) -> list[Path]:
    counts: dict[str, int] = {}
    for value in ids.values():
        counts[value] = counts.get(value, 0) + 1
    return [p for p, value in ids.items() if counts[value] > 1]


def _number_leftovers(ids: list[str]) -> list[str]:
    # Only reached by ids that no folder name can separate (e.g. 'a b' vs 'a_b'). A set of
    # taken ids and the next number to try per id keep this linear in the number of ids.
    out: list[str] = []
    taken: set[str] = set()
    next_n: dict[str, int] = {}
    for value in ids:
        candidate, n = value, next_n.get(value, 1)
        if n > 1:
            candidate = f"{value}-{n}"
        while candidate in taken:
            n += 1
            candidate = f"{value}-{n}"
        next_n[value] = n + 1
        taken.add(candidate)
        out.append(candidate)
    return out


def _all_search_runs(meta: MetaConfig, search: SearchConfig, *,
                     configs: Mapping[Path, dict[str, Any]],
                     notes: list[str]) -> tuple[RunSpec, ...]:
    """One search per base config (a list of base_train_config); run ids get the
    config's id in front when there is more than one (``cfg_a_b_1_eval_0``)."""
    files = meta.config_files
    if len(files) == 1:
        return _search_runs(meta, search, base=configs[files[0]], source=files[0],
                            notes=notes)
    prefixes = run_ids(files, meta_display=meta.path)
    runs: list[RunSpec] = []
    for prefix, path in zip(prefixes, files, strict=True):
        for run in _search_runs(meta, search, base=configs[path], source=path, notes=notes):
            runs.append(replace(run, run_id=f"{prefix}_{run.run_id}"))
    notes.append(f"one {search.spelling or search.search_type} search per base config: "
                 f"{', '.join(prefixes)}")
    return tuple(runs)


def _search_runs(meta: MetaConfig, search: SearchConfig, *, base: dict[str, Any],
                 source: Path, notes: list[str]) -> tuple[RunSpec, ...]:
    if is_adaptive(search):
        _check_budget_key(meta, search, base=base)
        # Runs of an adaptive search exist only once earlier batches have results.
        name = search.spelling or search.search_type
        notes.append(f"{name} search: each batch is proposed from the results "
                     "of the earlier ones (search_log.jsonl)")
        return ()
    if search.search_type == "Grid":
        size = grid_size(search.params)
        count = size if search.num_evals is None else min(size, search.num_evals)
        _check_cap(count * len(meta.seeds), meta=meta,
                   what=f"a grid of {count:,} points x {len(meta.seeds):,} seeds")
        if count < size:
            notes.append(f"grid has {size} points; the budget of {count} evaluations "
                         f"runs the first {count}")
        points = [p for p, _ in zip(grid_points(search.params), range(count), strict=False)]
    else:
        assert search.num_evals is not None
        _check_cap(search.num_evals * len(meta.seeds), meta=meta,
                   what=f"{search.num_evals:,} evaluations x {len(meta.seeds):,} seeds")
        points = random_points(search.params, count=search.num_evals, seed=search.sampler_seed)
    per_batch = search.num_evals_per_batch or len(points) or 1
    return tuple(
        _run(f"b_{i // per_batch + 1}_eval_{i}", source=source,
             config=apply_params(base, point, meta_display=meta.path),
             params=point)
        for i, point in enumerate(points)
    )


def _shown(name: str | Path) -> str:
    # A meta YAML's path is turned into its displayed name only for a message.
    return display_name(name) if isinstance(name, Path) else name


def _check_cap(count: int, *, meta: MetaConfig, what: str) -> None:
    refusal = over_cap(count, what=what)
    if refusal:
        raise ConfigError(refusal, file=display_name(meta.path))


def _check_budget_key(meta: MetaConfig, search: SearchConfig, *, base: dict[str, Any]) -> None:
    """A budget must land where the script reads it: a key the base config already has."""
    from ..search.registry import get as search_type  # here: only a search has a type

    name = search.options.budget_key
    if not search_type(search.search_type).budgeted or name is None:
        return
    keys = name.split(".") if "." in name else [DEFAULT_SECTION, name]
    node: Any = base
    for key in keys:
        if not isinstance(node, dict):
            return  # apply_params names the part of the path that is not a mapping
        if key not in node:
            raise ConfigError(
                f"{search.spelling or search.search_type} writes each run's budget to "
                f"{'.'.join(keys)}, which "
                f"the base config {display_name(meta.config_files[0])} does not have; set "
                "budget_key to the key your train script reads its number of steps from",
                file=display_name(meta.path), key="param_search_args.search_config.budget_key")
        node = node[key]


def apply_params(base: dict[str, Any], params: Mapping[str, Any], *,
                 meta_display: str | Path) -> dict[str, Any]:
    """A copy of ``base`` with each searched value set.

    A plain name goes into ``train_config``; a dotted name (``model_config.width``)
    is a path from the top of the config. Only the dicts on the path are copied.
    """
    config = dict(base)
    for name, value in params.items():
        keys = name.split(".") if "." in name else [DEFAULT_SECTION, name]
        node = config
        for depth, key in enumerate(keys[:-1]):
            child = node.get(key, {})
            if not isinstance(child, dict):
                raise ConfigError(
                    f"cannot set search parameter {name!r}: "
                    f"{'.'.join(keys[:depth + 1])} is not a mapping in the base config",
                    file=_shown(meta_display),
                    key="param_search_args.search_config.search_params",
                )
            node[key] = dict(child)
            node = node[key]
        node[keys[-1]] = value
    return config
