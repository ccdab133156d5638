#!/bin/bash
# mle_toolbox Grid Engine job script: one array task per job of the sweep.
# Rendered by mle_toolbox; every value below was shell-quoted when rendered.
#$$ -S /bin/bash
$directives
set -u
$exports
# Task k of this array runs the k-th job directory of the task list (NUL-separated).
mapfile -d '' -t job_dirs < $task_list
job_dir=$${job_dirs[$$((SGE_TASK_ID - 1))]:-}
if [ -z "$$job_dir" ]; then
    echo "mle_toolbox: no job for task $${SGE_TASK_ID:-?} in the task list" >&2
    exit 1
fi
exec >>"$$job_dir/$stdout_name" 2>>"$$job_dir/$stderr_name"
cd $workdir || { echo "mle_toolbox: cannot cd to the working directory" >&2; exit 1; }
exec bash $wrapper "$$job_dir"
