#!/bin/bash
# mle_toolbox Slurm job script: one array task per job of the sweep.
# Rendered by mle_toolbox; every value below was shell-quoted when rendered.
$directives
set -u
$exports
# Task k of this array (0-based) runs the k-th job directory of the task list
# (NUL-separated).
mapfile -d '' -t job_dirs < $task_list
job_dir=$${job_dirs[$${SLURM_ARRAY_TASK_ID:-0}]:-}
if [ -z "$$job_dir" ]; then
    echo "mle_toolbox: no job for task $${SLURM_ARRAY_TASK_ID:-?} in the task list" >&2
    exit 1
fi
# Appending: a requeued job adds to the logs of its earlier runs.
exec >>"$$job_dir/$stdout_name" 2>>"$$job_dir/$stderr_name"
cd $workdir || { echo "mle_toolbox: cannot cd to the working directory" >&2; exit 1; }
# A job that asks to be requeued is put back into the queue by the wrapper with
# scontrol requeue (Slurm's form of Grid Engine's exit 99).
export MLE_SLURM_REQUEUE_ID="$${SLURM_ARRAY_JOB_ID:+$${SLURM_ARRAY_JOB_ID}_$${SLURM_ARRAY_TASK_ID}}"
MLE_SLURM_REQUEUE_ID=$${MLE_SLURM_REQUEUE_ID:-$${SLURM_JOB_ID:-}}
# The wrapper replaces this shell: Slurm's warning signal (--signal=B:...) and
# scancel's TERM reach it, and it forwards them to the job's command.
exec bash $wrapper "$$job_dir"
