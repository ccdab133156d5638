"""Rendering of Grid Engine array job scripts from ``templates/sge_job.sh``.

``single_job_args`` become ``#$`` directives; every value is ``shlex.quote``d so
that neither qsub's directive parser nor bash can be made to run anything.
Site-specific names (parallel environment, memory and GPU resources) come from
``MLE_SGE_*`` environment variables.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..config.schema import env_seconds, env_word
from ..errors import ConfigError
from ..files.arrayfiles import ArrayFiles, scheduler_log_dir
from ..records import record
from ..spec import JobTask, Resources, hms
from .arrays import (
    backend_folder,
    render_array_script,
    resources_of,
    task_shape,
    write_array_files,
)


@record
class SgeOptions:
    """Names that differ between Grid Engine sites."""

    pe_name: str = "smp"
    memory_resource: str = "h_vmem"
    gpu_resource: str = "gpu"
    notify: bool = True
    vanish_grace_s: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SgeOptions:
        """Options from ``MLE_SGE_PE``, ``MLE_SGE_MEMORY``, ``MLE_SGE_GPU``, ``MLE_SGE_GRACE``."""
        env = os.environ if env is None else env
        return cls(pe_name=env_word(env, "MLE_SGE_PE", default="smp"),
                   memory_resource=env_word(env, "MLE_SGE_MEMORY", default="h_vmem"),
                   gpu_resource=env_word(env, "MLE_SGE_GPU", default="gpu"),
                   vanish_grace_s=env_seconds(env, "MLE_SGE_GRACE", default=30.0))


def directives(resources: Resources, *, name: str, tasks: int, max_running: int | None,
               options: SgeOptions) -> list[list[str]]:
    """The qsub options of one array, as argument lists."""
    out: list[list[str]] = [["-N", name], ["-t", f"1-{tasks}"]]
    if max_running is not None and max_running < tasks:
        out.append(["-tc", str(max_running)])
    if options.notify:
        out.append(["-notify"])  # SIGUSR1/2 before suspend/kill reach the wrapper
    if resources.cores > 1:
        out.append(["-pe", options.pe_name, str(resources.cores)])
    memory = _memory_per_slot(resources)
    if memory is not None:
        out.append(["-l", f"{options.memory_resource}={memory}M"])
    if resources.time_limit_s:
        out.append(["-l", f"h_rt={hms(resources.time_limit_s)}"])
    if resources.gpus:
        out.append(["-l", f"{options.gpu_resource}={resources.gpus}"])
        if resources.gpu_type:  # mle-scheduler's name for the GPU model resource
            out.append(["-l", f"gputype={resources.gpu_type}"])
    if resources.exclude_nodes:
        out.append(["-l", "hostname=" + "&".join(f"!{n}" for n in resources.exclude_nodes)])
    if resources.include_nodes:
        out.append(["-l", "hostname=" + "|".join(resources.include_nodes)])
    if resources.queue:
        out.append(["-q", resources.queue])
    if resources.project:
        out.append(["-P", resources.project])
    return out


def _memory_per_slot(resources: Resources) -> int | None:
    # SGE memory requests count per slot: a job's total is split over its cores.
    if resources.memory_per_cpu_mb is not None:
        return resources.memory_per_cpu_mb
    if resources.memory_mb is not None:
        return -(-resources.memory_mb // resources.cores)
    return None


def render_script(tasks: Sequence[JobTask], *, task_list: Path, name: str,
                  max_running: int | None, options: SgeOptions) -> str:
    """The job script of one array of ``tasks``."""
    resources, count, at_once = task_shape(tasks, max_running=max_running)
    flags = directives(resources, name=name, tasks=count, max_running=at_once, options=options)
    return render_array_script(tasks, template="sge_job.sh", prefix="#$",
                               directives=[shlex.join(args) for args in flags],
                               task_list=task_list)


SGE_DIR = "sge"  # inside the experiment's .mle/: scripts, task lists, scheduler logs


def sge_dir(tasks: Sequence[JobTask]) -> Path:
    """Where the launcher keeps scripts, task lists and scheduler logs of these arrays."""
    return backend_folder(tasks, scheduler=SGE_DIR)


def array_files(tasks: Sequence[JobTask], *, name: str) -> ArrayFiles:
    """Task list, script and log folder of the array ``name``."""
    return ArrayFiles(sge_dir(tasks), name)


def task_list_path(tasks: Sequence[JobTask], *, name: str) -> Path:
    """The task list of the array ``name``; its script sits beside it as ``.sh``."""
    return array_files(tasks, name=name).task_list


def write_array(tasks: Sequence[JobTask], *, name: str, max_running: int | None,
                options: SgeOptions) -> Path:
    """Job argv files, task list, rendered script and log folder of one array.

    Returns the script, ready for qsub or DRMAA.
    """
    files = array_files(tasks, name=name)
    return write_array_files(tasks, files=files, script=render_script(
        tasks, task_list=files.task_list, name=name, max_running=max_running, options=options))


def qsub_argv(tasks: Sequence[JobTask]) -> list[str]:
    """qsub and the options kept off the script: scheduler logs of the array.

    Paths go on the command line (an argv list, no shell) because qsub's ``-o``
    syntax treats ``:`` as a host separator; each job's own stdout and stderr are
    redirected into its job dir by the script. ``-h``: the array waits, held, until
    the launcher has recorded its ids and releases it (qrls).
    """
    out_dir = scheduler_log_dir(sge_dir(tasks))
    if ":" in str(out_dir):
        raise ConfigError(f"Grid Engine cannot write logs to a path with ':' ({out_dir}); "
                          "choose an experiment_dir without ':'", key="experiment_dir")
    res = resources_of(tasks)
    # log_file / err_file (mle-scheduler): the names of the array's scheduler logs.
    out = f"{out_dir}/{res.log_file}.$JOB_ID.$TASK_ID.txt" if res.log_file else f"{out_dir}/"
    err = f"{out_dir}/{res.err_file}.$JOB_ID.$TASK_ID.err" if res.err_file else f"{out_dir}/"
    return ["qsub", "-terse", "-h", "-o", out, "-e", err]
