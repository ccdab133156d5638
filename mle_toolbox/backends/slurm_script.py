"""Rendering of Slurm array job scripts from ``templates/slurm_job.sh``.

``single_job_args`` become ``#SBATCH`` directives; every value is ``shlex.quote``d.
Paths stay off the script and go on sbatch's command line (an argv list), because
sbatch's directive parser does not understand shell quoting. Site-specific names
(GPU gres, warning signal) come from ``MLE_SLURM_*`` environment variables.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..config.schema import describe, env_seconds, env_word
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

SLURM_DIR = "slurm"  # inside the experiment's .mle/: scripts, task lists, scheduler logs
DEFAULT_SIGNAL = "B:USR1@60"
_SIGNAL = re.compile(r"^(B:)?(R:)?[A-Z0-9]+(@\d+)?$")


@record
class SlurmOptions:
    """Names that differ between Slurm sites."""

    gpu_gres: str = "gpu"
    signal: str = DEFAULT_SIGNAL  # --signal: warn the job's batch shell before the time limit
    vanish_grace_s: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SlurmOptions:
        """Options from ``MLE_SLURM_GPU``, ``MLE_SLURM_SIGNAL`` ("": none), ``MLE_SLURM_GRACE``."""
        env = os.environ if env is None else env
        signal = env.get("MLE_SLURM_SIGNAL", DEFAULT_SIGNAL)
        if signal and not _SIGNAL.fullmatch(signal):
            raise ConfigError(f"expected a signal like B:USR1@60, got {describe(signal)}",
                              key="environment variable MLE_SLURM_SIGNAL")
        return cls(gpu_gres=env_word(env, "MLE_SLURM_GPU", default="gpu"), signal=signal,
                   vanish_grace_s=env_seconds(env, "MLE_SLURM_GRACE", default=30.0))


def directives(resources: Resources, *, name: str, tasks: int, max_running: int | None,
               options: SlurmOptions) -> list[str]:
    """The sbatch options of one array (``--key=value``)."""
    array = f"0-{tasks - 1}"
    if max_running is not None and max_running < tasks:
        array += f"%{max_running}"
    out = [f"--job-name={name}", f"--array={array}", "--ntasks=1",
           f"--cpus-per-task={resources.cores}", "--open-mode=append", "--requeue"]
    if resources.memory_per_cpu_mb is not None:
        out.append(f"--mem-per-cpu={resources.memory_per_cpu_mb}M")
    elif resources.memory_mb is not None:
        out.append(f"--mem={resources.memory_mb}M")
    if resources.time_limit_s:
        out.append(f"--time={hms(resources.time_limit_s)}")
    if resources.gpus:
        model = f"{resources.gpu_type}:" if resources.gpu_type else ""
        out.append(f"--gres={options.gpu_gres}:{model}{resources.gpus}")
    if resources.exclude_nodes:
        out.append(f"--exclude={','.join(resources.exclude_nodes)}")
    if resources.include_nodes:
        out.append(f"--nodelist={','.join(resources.include_nodes)}")
    if resources.queue:
        out.append(f"--partition={resources.queue}")
    if resources.project:
        out.append(f"--account={resources.project}")
    if options.signal:
        out.append(f"--signal={options.signal}")
    return out


def render_script(tasks: Sequence[JobTask], *, task_list: Path, name: str,
                  max_running: int | None, options: SlurmOptions) -> str:
    """The job script of one array of ``tasks``."""
    resources, count, at_once = task_shape(tasks, max_running=max_running)
    flags = directives(resources, name=name, tasks=count, max_running=at_once, options=options)
    return render_array_script(tasks, template="slurm_job.sh", prefix="#SBATCH",
                               directives=[shlex.quote(opt) for opt in flags],
                               task_list=task_list)


def slurm_dir(tasks: Sequence[JobTask]) -> Path:
    """Where the launcher keeps scripts, task lists and scheduler logs of these arrays."""
    return backend_folder(tasks, scheduler=SLURM_DIR)


def array_files(tasks: Sequence[JobTask], *, name: str) -> ArrayFiles:
    """Task list, script and log folder of the array ``name``."""
    return ArrayFiles(slurm_dir(tasks), name)


def task_list_path(tasks: Sequence[JobTask], *, name: str) -> Path:
    """The task list of the array ``name``; its script sits beside it as ``.sh``."""
    return array_files(tasks, name=name).task_list


def write_array(tasks: Sequence[JobTask], *, name: str, max_running: int | None,
                options: SlurmOptions) -> Path:
    """Job argv files, task list, rendered script and log folder of one array."""
    files = array_files(tasks, name=name)
    return write_array_files(tasks, files=files, script=render_script(
        tasks, task_list=files.task_list, name=name, max_running=max_running, options=options))


def sbatch_argv(tasks: Sequence[JobTask]) -> list[str]:
    """sbatch and the options kept off the script: the array's scheduler log.

    Each job's own stdout and stderr are appended to files in its job dir by the
    script; this log only catches what happens before (``%`` is doubled because
    sbatch expands ``%x``-style patterns in it). ``--hold``: the array waits until
    the launcher has recorded its ids and releases it (scontrol release).
    """
    out_dir = str(scheduler_log_dir(slurm_dir(tasks))).replace("%", "%%")
    res = resources_of(tasks)
    # log_file / err_file (mle-scheduler): the names of the array's scheduler logs.
    argv = ["sbatch", "--parsable", "--hold",
            f"--output={out_dir}/{res.log_file or '%x'}_%A_%a.{'txt' if res.log_file else 'out'}"]
    if res.err_file:
        argv.append(f"--error={out_dir}/{res.err_file}_%A_%a.err")
    return argv
