"""``single_job_args`` (and ``processing_job_args``): what one job asks of a backend."""

from __future__ import annotations

import re

from ..lazy_pattern import compile_on_first_use
from ..spec import Packing, Resources
from .schema import Node, describe, finite_number

# A scheduler log name (log_file / err_file): a plain file name inside the experiment.
_LOG_NAME = compile_on_first_use(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
# single_job_args keys of mle-toolbox / mle-scheduler, beyond the resources above.
SCHEDULER_KEYS = ("log_file", "err_file", "gpu_type", "exclude_nodes", "include_nodes",
                  "modules_to_load", "time_between_launch", "remote_exec_dir")
# Packing several jobs into one array task (not an upstream key; launcher/packing.py).
PACKING_KEYS = ("jobs_per_task", "job_duration_hint")
MAX_JOBS_PER_TASK = 10_000


def resources(job: Node) -> Resources:
    """Cores, GPUs, memory, time limit, queue and project of one job."""
    queue = _either(job, "queue", "partition")
    project = _either(job, "project", "account")
    directives = job.str_list("extra_directives", single_line=True) or ()
    return Resources(
        cores=job.integer("num_logical_cores", default=1, minimum=1) or 1,
        gpus=job.integer("num_gpus", default=0, minimum=0) or 0,
        memory_mb=job.memory_mb("memory_per_job"),
        memory_per_cpu_mb=job.memory_mb("memory_per_cpu"),
        time_limit_s=job.time("time_per_job"), queue=queue, project=project,
        extra_directives=directives, gpu_type=job.word("gpu_type"),
        exclude_nodes=_nodes(job, "exclude_nodes"), include_nodes=_nodes(job, "include_nodes"),
        modules=job.str_list("modules_to_load", single_line=True) or (),
        log_file=_log_name(job, "log_file"), err_file=_log_name(job, "err_file"),
    )


def packing(job: Node) -> Packing:
    """``jobs_per_task``: a whole number from 1, or ``auto``; ``job_duration_hint``: seconds
    (a number, or a duration like ``45s``) one job takes, for ``auto`` before any job ended."""
    hint = _duration_hint(job)
    value = job.data.get("jobs_per_task")
    if value is None:
        return Packing(size=1, duration_hint_s=hint)
    if value == "auto":
        return Packing(size=None, duration_hint_s=hint)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise job.error("jobs_per_task", "expected a whole number of jobs from 1 or 'auto', "
                        f"got {describe(value)}")
    if value > MAX_JOBS_PER_TASK:
        raise job.error("jobs_per_task", f"must be at most {MAX_JOBS_PER_TASK}, got {value}")
    return Packing(size=value, duration_hint_s=hint)


def _duration_hint(job: Node) -> float | None:
    value = job.data.get("job_duration_hint")
    if value is None:
        return None
    if isinstance(value, str):
        return float(job.time("job_duration_hint") or 0)
    seconds = None if isinstance(value, bool) else finite_number(value)
    if seconds is None or seconds <= 0:
        raise job.error("job_duration_hint", "expected the seconds one job takes (a number "
                        f"above 0, or a duration like 45s), got {describe(value)}")
    return seconds


def scheduler_settings(job: Node) -> None:
    """Check the keys only mle-scheduler's other launch modes read (never used here)."""
    if job.has("time_between_launch"):
        job.number("time_between_launch")
    job.string("remote_exec_dir")
    if job.has("exclude_nodes") and job.has("include_nodes"):
        raise job.error("include_nodes", "give exclude_nodes or include_nodes, not both")


def _nodes(job: Node, key: str) -> tuple[str, ...]:
    names = job.str_list(key, single_line=True) or ()
    bad = next((n for n in names if not re.fullmatch(r"[A-Za-z0-9_.-]+", n)), None)
    if bad is not None:
        raise job.error(key, f"expected host names (letters, digits, . _ -), got {describe(bad)}")
    return names


def _log_name(job: Node, key: str) -> str | None:
    name = job.string(key)
    if name is not None and not _LOG_NAME.fullmatch(name):
        raise job.error(key, f"expected a file name (letters, digits, . _ -), got "
                        f"{describe(name)}")
    return name


def _either(job: Node, first: str, second: str) -> str | None:
    # Rendered as one word of a directive line: no spaces, no line breaks.
    one, two = job.word(first), job.word(second)
    if one is not None and two is not None and one != two:
        raise job.error(second, f"conflicts with {first} ({one!r} vs {two!r}); give one")
    return one or two


def extra_args(job: Node) -> tuple[str, ...]:
    """``extra_cmd_line_input`` as ``-key value`` arguments."""
    extra = job.section("extra_cmd_line_input")
    if extra is None:
        return ()
    args: list[str] = []
    for key, value in extra.data.items():
        if not str(key).isidentifier():
            raise extra.error(str(key), "argument names must be identifiers")
        if isinstance(value, dict | list) or value is None:
            raise extra.error(str(key), f"expected a single value, got {value!r}")
        args += [f"-{key}", str(value)]
    return tuple(args)
