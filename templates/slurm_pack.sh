#!/bin/bash
# mle_toolbox Slurm job script: each array task runs $jobs_per_task jobs of the sweep,
# one after another (templates/pack_task.sh), each in its own job folder.
# Rendered by mle_toolbox; every value below was shell-quoted when rendered.
$directives
set -u
$exports
cd $workdir || { echo "mle_toolbox: cannot cd to the working directory" >&2; exit 1; }
# A job that asks to be requeued ends its run (the wrapper exits 99): the task's other jobs
# go on, and the next mle run or mle resume runs it again. Task k (from 0) runs the jobs
# of command file k (the jobs k*N .. k*N+N-1 of the task list $task_list).
exec bash $packer $commands/"$${SLURM_ARRAY_TASK_ID:-0}" $job_limit $wrapper
