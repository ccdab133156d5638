"""``single_job_args`` (and ``processing_job_args``): what one job asks of a backend."""

from __future__ import annotations

from ..spec import Resources
from .schema import Node


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
        time_limit=job.time("time_per_job"), queue=queue, project=project,
        extra_directives=directives,
    )


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
