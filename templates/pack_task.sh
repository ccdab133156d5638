#!/usr/bin/env bash
# mle_toolbox packed array task: runs COUNT jobs of a task list one after another.
#
#   pack_task.sh TASK_LIST FIRST COUNT LIMIT_S WRAPPER
#
# Jobs FIRST .. FIRST+COUNT-1 (from 0) of TASK_LIST (NUL-separated job dirs) each run
# through WRAPPER (job_wrapper.sh) in their own job folder, exactly as an unpacked task
# runs one: own exit_code, logs, status, .live lock, attempts. A failing job never stops
# the others. Skipped: a job with an exit code (it finished in an earlier task) and a
# job the launcher stopped alone (JOB_DIR/.stop); a job live in another task is left
# alone by the wrapper's lock. JOB_DIR/.started tells the launcher the job began (its
# siblings still waiting read as pending). LIMIT_S > 0 is each job's own time limit.
set -u

task_list=$1 first=$2 count=$3 limit=$4 wrapper=$5
if ! mapfile -d '' -t job_dirs < "$task_list"; then
    echo "mle_toolbox: cannot read the task list $task_list" >&2
    exit 1
fi
last=$((first + count))
if [ "$last" -gt "${#job_dirs[@]}" ]; then last=${#job_dirs[@]}; fi

# The scheduler's signals (cancel, time-limit warning) reach this shell: pass them to
# the job that runs, and start no further job after a TERM, INT or HUP.
child=
stopping=0
forward() {
    case $1 in TERM|INT|HUP) stopping=1 ;; esac
    if [ -n "$child" ]; then kill -s "$1" "$child" 2>/dev/null; fi
}
for sig in TERM INT HUP USR1 USR2; do
    # shellcheck disable=SC2064
    trap "forward $sig" "$sig"
done

failed=0
for ((i = first; i < last; i++)); do
    [ "$stopping" -eq 0 ] || break
    dir=${job_dirs[i]}
    if [ -s "$dir/exit_code" ] || [ -e "$dir/.stop" ]; then continue; fi
    : >"$dir/.started"
    # In the background so that signals reach this shell while the job runs.
    if [ "$limit" -gt 0 ]; then
        # --foreground: the job stays in the task's process group, which the scheduler's
        # cancel reaches; at the limit the wrapper gets TERM, passes it on, records the end.
        timeout --foreground --kill-after=30 "$limit" bash "$wrapper" "$dir" \
            >>"$dir/stdout.log" 2>>"$dir/stderr.log" &
    else
        bash "$wrapper" "$dir" >>"$dir/stdout.log" 2>>"$dir/stderr.log" &
    fi
    child=$!
    wait "$child"
    rc=$?
    # wait returns early when a trapped signal arrives; the job may still run.
    while kill -0 "$child" 2>/dev/null; do
        wait "$child"
        rc=$?
    done
    child=
    case $rc in
        0|75) ;;  # 75: another run of this job is live (its wrapper's lock)
        *) failed=1 ;;
    esac
done
exit "$failed"
