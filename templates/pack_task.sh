#!/usr/bin/env bash
# mle_toolbox packed array task: runs the jobs of one command file one after another.
#
#   pack_task.sh COMMANDS LIMIT_S WRAPPER
#
# COMMANDS holds NUL-separated records, one per job: its job dir, the number of
# arguments of its command, the arguments. Each job runs through WRAPPER
# (job_wrapper.sh) in its own job folder, exactly as an unpacked task runs one: own
# exit_code, logs, status, .live lock, attempts. A failing job never stops the others.
# Skipped: a job with an exit code (it finished in an earlier task) and a job the
# launcher stopped alone (JOB_DIR/.stop); a job live in another task is left alone by
# the wrapper's lock. JOB_DIR/.started (the pid that runs the job) tells the launcher the
# job began (its siblings still waiting read as pending). LIMIT_S > 0 is each job's own
# time limit.
set -u

commands=$1 limit=$2 wrapper=$3
if ! mapfile -d '' -t record < "$commands"; then
    echo "mle_toolbox: cannot read the task's commands $commands" >&2
    exit 1
fi

# The jobs of this task: their dirs, and where each one's command starts in record.
dirs=() firsts=() counts=()
i=0
while [ "$i" -lt "${#record[@]}" ]; do
    count=${record[i + 1]:-x}
    case $count in
        ''|*[!0-9]*) echo "mle_toolbox: malformed command file $commands" >&2; exit 1 ;;
    esac
    dirs+=("${record[i]}") firsts+=($((i + 2))) counts+=("$count")
    i=$((i + 2 + count))
done

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

# A job the launcher stops alone while it runs (JOB_DIR/.stop) gets TERM, as a cancelled
# job does; its siblings run on. .started holds the pid that runs it. Checked every 2 s
# by one watcher per task (its own streams: it never holds the task's output open).
task=$$
(
    declare -A stopped=()
    while kill -0 "$task" 2>/dev/null; do
        sleep 2
        for dir in "${dirs[@]}"; do
            if [ -z "${stopped[$dir]:-}" ] && [ -e "$dir/.stop" ] && [ -s "$dir/.started" ] \
                && [ ! -s "$dir/exit_code" ] && read -r pid < "$dir/.started"; then
                stopped[$dir]=1
                kill -s TERM "$pid" 2>/dev/null
            fi
        done
    done
) </dev/null >/dev/null 2>&1 &
watcher=$!

failed=0
for ((j = 0; j < ${#dirs[@]}; j++)); do
    [ "$stopping" -eq 0 ] || break
    dir=${dirs[j]}
    cmd=("${record[@]:firsts[j]:counts[j]}")
    if [ -s "$dir/exit_code" ] || [ -e "$dir/.stop" ]; then continue; fi
    [ -d "$dir" ] || mkdir -p -- "$dir" || { failed=1; continue; }
    # In the background so that signals reach this shell while the job runs.
    if [ "$limit" -gt 0 ]; then
        # --foreground: the job stays in the task's process group, which the scheduler's
        # cancel reaches; at the limit the wrapper gets TERM, passes it on, records the end.
        timeout --foreground --kill-after=30 "$limit" bash "$wrapper" "$dir" "${cmd[@]}" \
            >>"$dir/stdout.log" 2>>"$dir/stderr.log" &
    else
        bash "$wrapper" "$dir" "${cmd[@]}" >>"$dir/stdout.log" 2>>"$dir/stderr.log" &
    fi
    child=$!
    printf '%s\n' "$child" >"$dir/.started"
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
kill "$watcher" 2>/dev/null
exit "$failed"
