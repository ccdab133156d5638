"""mle-toolbox's ``compose_protocol_data``: the summary of a meta config that mle-monitor's
``MLEProtocol.add`` stores (mle_toolbox keeps its own launch history: ``mle ls``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any


def compose_protocol_data(job_config: Mapping[str, Any], resource_to_run: str,
                          purpose: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(meta_data, extra_data) of a meta config (the loaded meta YAML) for a protocol.

    meta_data: purpose, resource, project, experiment dir (absolute), type, script and
    config names, seeds, total jobs, batches, jobs per batch, time, CPUs and GPUs per job;
    extra_data: ``single_job_args``, ``meta_job_args`` and, for a search,
    ``job_spec_args`` (its ``param_search_args``).
    """
    meta = dict(job_config["meta_job_args"])
    single = dict(job_config.get("single_job_args") or {})
    kind = meta["experiment_type"]
    seeds, total, batches, per_batch = _job_counts(job_config, kind)
    meta_data = {
        "purpose": purpose, "exec_resource": resource_to_run,
        "project_name": meta.get("project_name"),
        "experiment_dir": os.path.join(os.getcwd(), meta["experiment_dir"]),
        "experiment_type": kind, "base_fname": meta.get("base_train_fname"),
        "config_fname": meta.get("base_train_config"), "num_seeds": seeds,
        "num_total_jobs": total, "num_job_batches": batches,
        "num_jobs_per_batch": per_batch,
        "time_per_job": single.get("time_per_job", "01:00:00"),
        "num_cpus": single.get("num_logical_cores", 1), "num_gpus": single.get("num_gpus", 0),
    }
    extra_data: dict[str, Any] = {"single_job_args": single, "meta_job_args": meta}
    if kind == "hyperparameter-search":
        extra_data["job_spec_args"] = dict(job_config["param_search_args"])
    return meta_data, extra_data


def _job_counts(job_config: Mapping[str, Any], kind: str) -> tuple[int, int, int, int]:
    """(seeds per config, total jobs, sequential batches, jobs per batch)."""
    if kind == "hyperparameter-search":
        search = job_config["param_search_args"]
        res = search.get("search_resources", {})
        seeds = int(res.get("num_seeds_per_eval", 1))
        schedule = (search.get("search_config") or {}).get("search_schedule", "sync")
        if schedule != "sync" and "num_total_evals" in res:
            return seeds, res["num_total_evals"] * seeds, 1, res.get("max_running_jobs", 1)
        if "num_search_batches" in res and "num_evals_per_batch" in res:
            per_batch = res["num_evals_per_batch"] * seeds
            return seeds, res["num_search_batches"] * per_batch, res["num_search_batches"], \
                per_batch
        return seeds, 0, 0, 0  # mle-toolbox's answer when the resources are not given
    if kind == "multiple-configs":
        multi = job_config["multi_config_args"]
        seeds = int(multi["num_seeds"]) if "num_seeds" in multi else len(multi["random_seeds"])
        total = len(multi["config_fnames"]) * seeds
        return seeds, total, 1, total
    return 1, 1, 1, 1
