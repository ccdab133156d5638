"""``pre_processing_args`` / ``post_processing_args``: one job before / after the sweep.

mle-toolbox 0.3.x runs ``processing_fname`` once before the experiment's jobs start
and once after they ended, on the experiment's backend, as
``python SCRIPT -exp_dir EXPERIMENT_DIR [-key value ...]`` (``extra_cmd_line_input``),
with the resources of ``processing_job_args``. Not to be confused with our
``post_process_args`` (an evaluation of every finished job, see evaluate.py).
"""

from __future__ import annotations

from pathlib import Path

from ..records import record
from ..spec import Resources
from .job_args import extra_args, resources
from .paths import Anchors
from .schema import Node

STAGES = ("pre_processing", "post_processing")
KEYS = ("processing_fname", "processing_job_args", "extra_cmd_line_input")
JOB_KEYS = ("num_logical_cores", "num_gpus", "memory_per_job", "memory_per_cpu",
            "time_per_job", "queue", "partition", "project", "account", "extra_directives",
            "job_name")
RESERVED = ("exp_dir", "experiment_dir")  # mle passes -exp_dir itself


@record
class ProcessingJob:
    """One pre- or post-processing job of an experiment."""

    stage: str  # pre_processing | post_processing
    script: Path
    resources: Resources
    extra_args: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """``pre-processing`` / ``post-processing``, for messages."""
        return self.stage.replace("_", "-")


def processing_jobs(root: Node, *, anchors: Anchors) -> tuple[ProcessingJob, ...]:
    """The processing jobs the meta YAML asks for, pre before post."""
    return tuple(job for stage in STAGES
                 if (job := _processing_job(root, stage, anchors=anchors)) is not None)


def _processing_job(root: Node, stage: str, *, anchors: Anchors) -> ProcessingJob | None:
    node = root.section(f"{stage}_args")
    if node is None:
        return None
    node.check_keys(KEYS)
    name = node.string("processing_fname", required=True)
    assert name is not None
    title = stage.replace("_", "-")
    script, _ = anchors.find(node.src, (*node.path, "processing_fname"), name,
                             what=f"{title} script")
    job = node.section("processing_job_args") or Node({}, src=node.src,
                                                      path=(*node.path, "processing_job_args"))
    job.check_keys(JOB_KEYS)
    extra = extra_args(node)
    taken = next((arg for arg in extra[::2] if arg[1:] in RESERVED), None)
    if taken is not None:
        raise node.src.error((*node.path, "extra_cmd_line_input", taken[1:]),
                             "is set by mle (the experiment directory); choose another name")
    return ProcessingJob(stage=stage, script=script, resources=resources(job),
                         extra_args=extra)
