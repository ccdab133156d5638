"""The meta YAML: both mle-toolbox dialects parsed into one frozen MetaConfig
(meta_types.py).

Relative paths resolve from the working directory first, then from the YAML's folder
(config/paths.py). Every problem is a ConfigError naming file, key path and line;
unknown keys are warnings.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..backends import RESOURCE_NAMES
from ..files.layout import CHECKPOINT_NAME_PATTERN
from ..lazy_pattern import compile_on_first_use
from ..records import replace
from ..search.options import NESTED_KEYS, OptionSource, SearchOptions
from ..spec import ExperimentType
from .environment import environment
from .job_args import (
    PACKING_KEYS,
    SCHEDULER_KEYS,
    extra_args,
    packing,
    resources,
    scheduler_settings,
)
from .meta_types import DEFAULT_EVAL_TIME_S, MetaConfig, PostProcess, SearchConfig
from .paths import Anchors, Overrides
from .processing import processing_jobs
from .schema import Node, over_cap
from .search_space import parse_search_params
from .source import load_yaml

TOP_KEYS = (
    "meta_job_args", "single_job_args", "multi_config_args", "multi_experiment_args",
    "param_search_args", "resource_to_run", "max_running_jobs", "post_process_args",
    "pre_processing_args", "post_processing_args",
)
# Keys mle-toolbox YAMLs carry that have no effect here; accepted with a warning.
IGNORED_KEYS: dict[tuple[str | int, ...], tuple[str, ...]] = {
    (): (),
    ("meta_job_args",): ("remote_exec_dir", "report_generation"),
    ("single_job_args",): ("gpu_prefix",),
    ("param_search_args", "search_logging"): ("reload_log", "verbose_log"),
    ("post_process_args",): ("process_job_type",),
}
POST_KEYS = ("process_fname", "extra_cmd_line_input", "checkpoint", "time_per_job")
MAX_RETRIES = 100  # reruns of one failed job: a bound, as every retry has one
MAX_SEED = 2**32 - 1  # numpy's seed range; SQLite's 64-bit integers hold it too
# Arguments mle eval passes itself; extra_cmd_line_input may not override them.
EVAL_ARGS = ("config", "config_fname", "seed", "seed_id", "exp_dir", "experiment_dir",
             "checkpoint", "run_dir")
META_KEYS = (
    "project_name", "experiment_type", "job_type", "base_train_fname", "base_train_config",
    "experiment_dir", "resource_to_run", "max_running_jobs", "max_retries",
)
JOB_KEYS = (
    "job_name", "num_logical_cores", "num_gpus", "memory_per_job", "memory_per_cpu",
    "time_per_job", "queue", "partition", "project", "account", "extra_directives",
    "env_name", "use_conda_venv", "use_venv_venv", "extra_cmd_line_input", *SCHEDULER_KEYS,
    *PACKING_KEYS,
)
MULTI_KEYS = ("config_fnames", "num_seeds", "random_seeds")
EXPERIMENT_TYPES = {
    "single-config": ExperimentType.SINGLE_CONFIG,
    "single-experiment": ExperimentType.SINGLE_CONFIG,
    "multiple-configs": ExperimentType.MULTIPLE_CONFIGS,
    "multiple-experiments": ExperimentType.MULTIPLE_CONFIGS,
    "hyperparameter-search": ExperimentType.HYPERPARAMETER_SEARCH,
}
AGGREGATIONS = ("mean", "median", "min", "max")  # and pNN, a percentile (p0 .. p100)
_PERCENTILE = compile_on_first_use(r"^p(100|[1-9]?[0-9])$")


def load_meta(path: Path, *, cwd: Path | None = None,
              overrides: Overrides | None = None) -> MetaConfig:
    """Read and validate a meta YAML (both mle-toolbox dialects).

    ``cwd``: the working directory relative paths start from (default: the current one);
    ``overrides``: paths given on the command line instead of the YAML's.
    """
    path = Path(path).absolute()
    anchors = Anchors(cwd=(cwd or Path.cwd()).absolute(), yaml_dir=path.parent)
    overrides = overrides or Overrides()
    data, src = load_yaml(path, what="meta YAML")
    root = Node.root(data, src=src, what="meta YAML")
    root.check_keys((*TOP_KEYS, *IGNORED_KEYS[()]))
    _warn_ignored(root)
    meta = root.section("meta_job_args", required=True)
    assert meta is not None
    meta.check_keys(META_KEYS + IGNORED_KEYS[("meta_job_args",)])
    _warn_ignored(meta)
    project = meta.string("project_name") or path.stem
    kind = _experiment_type(root, meta)
    script, base = _train_script(meta, anchors=anchors, overrides=overrides)
    job = _optional(root, "single_job_args")
    job.check_keys(JOB_KEYS + IGNORED_KEYS[("single_job_args",)])
    _warn_ignored(job)
    configs, seeds, search = _runs(root, meta, kind=kind, anchors=anchors,
                                   override=overrides.train_config)
    post_process = _post_process(root, anchors=anchors)
    pack = packing(job)
    return MetaConfig(
        path=path, project_name=project, experiment_type=kind, train_script=script,
        config_files=configs, seeds=seeds,
        experiment_dir=_experiment_dir(meta, base=base, stem=path.stem,
                                       override=overrides.experiment_dir, cwd=anchors.cwd),
        job_name=job.string("job_name") or project,
        resources=replace(resources(job), jobs_per_task=pack.size or 1),
        environment=environment(job, anchors=anchors), extra_args=extra_args(job),
        search=search, backend=_backend(root, meta), max_running=_max_running(root, meta),
        warnings=tuple(src.warnings), post_process=post_process,
        max_retries=meta.integer("max_retries", minimum=0, maximum=MAX_RETRIES) or 0,
        project_dir=base, work_dir=anchors.cwd, overrides=overrides,
        processing=processing_jobs(root, anchors=anchors),
        job_keys=_job_keys(job), packing=pack,
    )


def _job_keys(job: Node) -> tuple[str, ...]:
    scheduler_settings(job)
    return tuple(str(key) for key, value in job.data.items() if value is not None)


def _train_script(meta: Node, *, anchors: Anchors, overrides: Overrides) -> tuple[Path, Path]:
    """(train script, project folder)."""
    if overrides.train_fname is not None:
        meta.string("base_train_fname")  # still checked, then replaced
        return anchors.override(overrides.train_fname, flag="--base_train_fname",
                                what="train script"), anchors.cwd
    name = meta.string("base_train_fname", required=True)
    assert name is not None
    return anchors.find(meta.src, (*meta.path, "base_train_fname"), name,
                        what="train script")


def _post_process(root: Node, *, anchors: Anchors) -> PostProcess | None:
    node = root.section("post_process_args")
    if node is None:
        return None
    node.check_keys(POST_KEYS + IGNORED_KEYS[("post_process_args",)])
    _warn_ignored(node)
    script = _existing_file(node, "process_fname", anchors=anchors, what="post-process script")
    checkpoint = node.string("checkpoint") or "final"
    if not re.fullmatch(CHECKPOINT_NAME_PATTERN, checkpoint):
        raise node.error("checkpoint", f"expected final, best, last, step_<k> or a checkpoint "
                         f"file name, got {checkpoint!r}")
    extra = extra_args(node)
    taken = next((name for name in extra[::2] if name[1:] in EVAL_ARGS), None)
    if taken is not None:
        raise node.src.error(("post_process_args", "extra_cmd_line_input", taken[1:]),
                             "is set by mle for every evaluation; choose another name")
    return PostProcess(script=script, extra_args=extra, checkpoint=checkpoint,
                       timeout_s=node.time("time_per_job") or DEFAULT_EVAL_TIME_S)


def _warn_ignored(node: Node) -> None:
    for key in IGNORED_KEYS.get(node.path, ()):
        if key in node.data:
            node.src.warn((*node.path, key), "has no effect in mle_toolbox, ignored")


def _experiment_type(root: Node, meta: Node) -> ExperimentType:
    if meta.has("experiment_type") and meta.has("job_type"):
        raise meta.error("job_type", "give experiment_type or job_type, not both")
    key = "experiment_type" if meta.has("experiment_type") else "job_type"
    name = meta.string(key, choices=EXPERIMENT_TYPES)
    if name is not None:
        return EXPERIMENT_TYPES[name]
    if root.has("param_search_args"):
        return ExperimentType.HYPERPARAMETER_SEARCH
    if root.has("multi_config_args") or root.has("multi_experiment_args"):
        return ExperimentType.MULTIPLE_CONFIGS
    return ExperimentType.SINGLE_CONFIG


def _existing_file(node: Node, key: str, *, anchors: Anchors, what: str) -> Path:
    name = node.string(key, required=True)
    assert name is not None
    return anchors.find(node.src, (*node.path, key), name, what=what)[0]


def _base_config(meta: Node, *, anchors: Anchors, override: str | None) -> Path:
    if override is not None:
        meta.string("base_train_config")
        return anchors.override(override, flag="--base_train_config", what="base config")
    return _existing_file(meta, "base_train_config", anchors=anchors, what="base config")


def _base_configs(meta: Node, *, anchors: Anchors, search: SearchConfig) -> tuple[Path, ...]:
    """A list of base configs: one search per config (mle-toolbox 0.3.x). Grid and random
    search expand them into one plan; an adaptive search runs once per config
    (launcher/launch.py)."""
    del search
    names = meta.str_list("base_train_config", required=True)
    assert names is not None
    files = anchors.find_files(meta.src, (*meta.path, "base_train_config"), names,
                               what="base config")
    first: dict[Path, int] = {}
    for index, file in enumerate(files):  # a dict, not a scan of the earlier entries
        if first.setdefault(file, index) != index:
            raise meta.src.error((*meta.path, "base_train_config", index),
                                 f"base config {names[index]!r} is listed twice")
    return files


def _runs(
    root: Node, meta: Node, *, kind: ExperimentType, anchors: Anchors, override: str | None,
) -> tuple[tuple[Path, ...], tuple[int, ...], SearchConfig | None]:
    if kind is ExperimentType.HYPERPARAMETER_SEARCH:
        search = root.section("param_search_args", required=True)
        assert search is not None
        parsed = _search(search)
        if isinstance(meta.data.get("base_train_config"), list) and override is None:
            return _base_configs(meta, anchors=anchors, search=parsed), parsed.seeds, parsed
        config = _base_config(meta, anchors=anchors, override=override)
        return (config,), parsed.seeds, parsed
    multi = _multi_section(root, required=kind is ExperimentType.MULTIPLE_CONFIGS)
    seeds = _seeds(multi) if multi is not None else (0,)
    if kind is ExperimentType.SINGLE_CONFIG:
        config = _base_config(meta, anchors=anchors, override=override)
        return (config,), seeds, None
    assert multi is not None
    names = multi.str_list("config_fnames", required=True)
    assert names is not None
    files = anchors.find_files(multi.src, (*multi.path, "config_fnames"), names,
                               what="config file")
    return files, seeds, None


def _multi_section(root: Node, *, required: bool) -> Node | None:
    if root.has("multi_config_args") and root.has("multi_experiment_args"):
        raise root.error("multi_experiment_args", "give multi_config_args or "
                         "multi_experiment_args (older name), not both")
    key = "multi_experiment_args" if root.has("multi_experiment_args") else "multi_config_args"
    multi = root.section(key, required=required)
    if multi is not None:
        multi.check_keys(MULTI_KEYS)
    return multi


def _seeds(node: Node, *, count_key: str = "num_seeds") -> tuple[int, ...]:
    listed = node.int_list("random_seeds", unique=True, minimum=0, maximum=MAX_SEED)
    count = node.integer(count_key, minimum=1)
    refusal = over_cap(count or 0, what="this")
    if refusal:
        raise node.error(count_key, refusal)
    if listed is not None and count is not None and count != len(listed):
        raise node.error(count_key, f"is {count} but random_seeds lists {len(listed)} seeds")
    if listed is not None:
        return listed
    # Deterministic by design: seeds 0..N-1, never drawn from global RNG state.
    return tuple(range(count or 1))


def _search(node: Node) -> SearchConfig:
    node.check_keys(("search_logging", "search_resources", "search_config"))
    logging = _optional(node, "search_logging")
    logging.check_keys(("max_objective", "aggregate_seeds", "problem_type", "eval_metrics")
                       + IGNORED_KEYS[("param_search_args", "search_logging")])
    _warn_ignored(logging)
    res = _optional(node, "search_resources")
    res.check_keys(("num_search_batches", "num_evals_per_batch", "num_total_evals",
                    "max_running_jobs", "num_seeds_per_eval", "random_seeds"))
    cfg = node.section("search_config", required=True)
    assert cfg is not None
    spelling = (cfg.string("search_type", required=True) or "").strip()
    from ..search.registry import lookup, supported  # here: a sweep without a search needs none

    row = lookup(spelling)
    if row is None:
        raise cfg.error("search_type", f"{spelling!r} is not supported; supported: "
                        f"{supported()}")
    module = row.load()
    cfg.check_keys(("search_type", "search_schedule", "search_params", "seed", *NESTED_KEYS,
                    *module.OPTION_KEYS))
    cfg.string("search_schedule", choices=("sync", "async"))
    space = cfg.section("search_params", required=True)
    assert space is not None
    batches = res.integer("num_search_batches", minimum=1)
    per_batch = res.integer("num_evals_per_batch", minimum=1)
    total = res.integer("num_total_evals", minimum=1)
    refusal = over_cap(total or 0, what="this")
    if refusal:
        raise res.error("num_total_evals", refusal)
    if total is None and batches is not None and per_batch is not None:
        total = batches * per_batch
    params = parse_search_params(space, search_type=row.name.lower())
    options: SearchOptions = module.parse_options(OptionSource(cfg, res), row=row,
                                                  params=params)
    if row.name == "Random" and total is None:
        raise res.error(None, "random search needs num_total_evals, or num_search_batches "
                        "and num_evals_per_batch")
    metrics = logging.str_list("eval_metrics") or ()
    _require_metric(logging, spelling=spelling, adaptive=row.adaptive or options.adaptive)
    if options.metric_to_model is not None and options.metric_to_model not in metrics:
        raise cfg.error(None, f"metric_to_model {options.metric_to_model!r} is not one of "
                        f"eval_metrics ({', '.join(metrics)})")
    if row.budgeted and options.budget_key in {p.name for p in params}:
        raise cfg.error("budget_key", f"{options.budget_key!r} is also a searched parameter; "
                        "the budget would overwrite it")
    return SearchConfig(
        search_type=row.name, params=params,
        num_evals=total, seeds=_seeds(res, count_key="num_seeds_per_eval"),
        eval_metrics=metrics,
        # mle-toolbox maximises unless told otherwise
        max_objective=logging.boolean("max_objective", default=True),
        aggregate_seeds=_aggregation(logging),
        problem_type=logging.string("problem_type", choices=("final", "best")) or "final",
        num_evals_per_batch=per_batch, sampler_seed=cfg.integer("seed", default=0) or 0,
        options=options, spelling=spelling,
    )


def _require_metric(node: Node, *, spelling: str, adaptive: bool) -> None:
    if adaptive and not node.has("eval_metrics"):
        raise node.error("eval_metrics", f"{spelling} search needs the metric to "
                         "optimise (the first of eval_metrics)")


def _aggregation(node: Node) -> str:
    name = node.string("aggregate_seeds") or "mean"
    if name not in AGGREGATIONS and not _PERCENTILE.match(name):
        raise node.error("aggregate_seeds", f"expected one of {', '.join(AGGREGATIONS)} "
                            f"or a percentile p0 .. p100; got {name!r}")
    return name


def _optional(node: Node, key: str) -> Node:
    """The section ``key`` of ``node``, or an empty one with the right key path."""
    return node.section(key) or Node({}, src=node.src, path=(*node.path, key))


def _experiment_dir(meta: Node, *, base: Path, stem: str, override: str | None,
                    cwd: Path) -> Path:
    name = meta.string("experiment_dir") or f"experiments/{stem}"
    if override is not None:  # typed on the command line: relative to where it was typed
        return Path(os.path.normpath(cwd / override))
    return Path(os.path.normpath(base / name))


def _backend(root: Node, meta: Node) -> str | None:
    names = [n.string("resource_to_run", choices=RESOURCE_NAMES) for n in (root, meta)]
    chosen = [n for n in names if n is not None]
    if len(set(chosen)) > 1:
        raise meta.error("resource_to_run", "conflicts with the top-level resource_to_run")
    return RESOURCE_NAMES[chosen[0]] if chosen else None


def _max_running(root: Node, meta: Node) -> int | None:
    nodes = [root, meta]
    search = root.section("param_search_args")
    resources = search.section("search_resources") if search is not None else None
    if resources is not None:
        nodes.append(resources)
    values = [n.integer("max_running_jobs", minimum=1) for n in nodes]
    given = [v for v in values if v is not None]
    return given[0] if given else None

