#!/bin/bash
# mle_toolbox Grid Engine job script: each array task runs $jobs_per_task jobs of the sweep,
# one after another (templates/pack_task.sh), each in its own job folder.
# Rendered by mle_toolbox; every value below was shell-quoted when rendered.
#$$ -S /bin/bash
$directives
set -u
$exports
cd $workdir || { echo "mle_toolbox: cannot cd to the working directory" >&2; exit 1; }
# Task k (from 1) runs the jobs of command file k-1 (of the jobs k*N-N .. k*N-1 of the
# task list $task_list).
exec bash $packer $commands/"$$(( SGE_TASK_ID - 1 ))" $job_limit $wrapper
