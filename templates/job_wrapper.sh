#!/usr/bin/env bash
# mle_toolbox job wrapper: runs one job's command and records its exit code.
#
#   job_wrapper.sh JOB_DIR [COMMAND ARGS...]
#
# Without a COMMAND the command is read from JOB_DIR/argv (NUL-separated), which
# is how array tasks on a cluster find their job. The exit code of the command is
# written to JOB_DIR/exit_code in one write: the launcher trusts that file, not the
# scheduler, about how the job ended. Values arrive as argv or from files, never
# pasted into shell text, so no name or path can run anything.
set -u

job_dir=$1
shift
# Set by the Slurm job script; the job's own command must not inherit it.
slurm_requeue_id=${MLE_SLURM_REQUEUE_ID:-}
unset MLE_SLURM_REQUEUE_ID

finish() {
    local rc=$1
    # One write(2) of a few bytes into a new file, no temp file and `mv` (a fork per job):
    # a reader that comes between the open and the write sees an empty file, which
    # read_exit_code takes for "no exit code yet", as it took the missing file before.
    # A write that fails (disk full) leaves no empty file behind: the job reads as lost
    # and the next launch runs it again.
    printf '%s\n' "$rc" > "$job_dir/exit_code" || rm -f "$job_dir/exit_code"
    # Exit 100 puts an SGE job into error state and exit 99 makes SGE requeue it: a job's
    # own 99 or 100 is an ordinary failure (the exit_code file keeps the real value); only
    # a requeue the job asked for (JOB_DIR/requeue, below) exits 99.
    if [ "$rc" -eq 100 ] || [ "$rc" -eq 99 ]; then rc=1; fi
    exit "$rc"
}

archive_earlier_run() {
    local dir=${job_dir%/} archive="$job_dir/attempts/$attempt" name run
    local seed=${dir##*/} jobs=${dir%/*}
    local -a files=()
    for name in stdout.log stderr.log exit_code status.json cancelled; do
        if [ -e "$job_dir/$name" ]; then files+=("$job_dir/$name"); fi
    done
    # The seed's metrics log, RUN_DIR/logs/seed_<s>.jsonl, beside RUN_DIR/jobs/seed_<s>/
    # (files/layout.py: JobLayout.attempt_files archives the same files).
    case $jobs in
        */jobs) run=${jobs%/jobs} ;;
        jobs) run=. ;;
        *) run= ;;
    esac
    if [ -n "$run" ] && [ -e "$run/logs/$seed.jsonl" ]; then files+=("$run/logs/$seed.jsonl"); fi
    # The job script opened stdout.log / stderr.log before it started this wrapper:
    # after the move those descriptors would write into the archive; reopen them.
    local reopen_out=0 reopen_err=0
    if [ /dev/stdout -ef "$job_dir/stdout.log" ]; then reopen_out=1; fi
    if [ /dev/stderr -ef "$job_dir/stderr.log" ]; then reopen_err=1; fi
    mkdir -p "$archive" && mv -f -- "${files[@]}" "$archive/" || {
        echo "mle_toolbox: cannot archive the earlier run to $archive" >&2
        finish 2
    }
    if [ "$reopen_out" -eq 1 ]; then exec >>"$job_dir/stdout.log"; fi
    if [ "$reopen_err" -eq 1 ]; then exec 2>>"$job_dir/stderr.log"; fi
    echo "mle_toolbox: an earlier run of this job ended without asking to be requeued" \
        "(run again by the scheduler); its files are in $archive" >&2
    attempt=$((attempt + 1))
    export MLE_ATTEMPT=$attempt
}

# Attempt number: one more than the attempts archived in JOB_DIR/attempts/ (the
# launcher counts the same way); MLExperiment exposes it as mle.attempt.
attempt=1
for archived in "$job_dir"/attempts/*/; do
    number=${archived%/}
    number=${number##*/}  # basename without a fork: this runs before every job
    case $number in
        ''|*[!0-9]*) ;;
        *) if [ "$number" -ge "$attempt" ]; then attempt=$((number + 1)); fi ;;
    esac
done
export MLE_ATTEMPT=$attempt

if [ "$#" -eq 0 ]; then
    if ! mapfile -d '' -t cmd < "$job_dir/argv"; then
        echo "mle_toolbox: cannot read the command from $job_dir/argv" >&2
        finish 2
    fi
    set -- "${cmd[@]}"
fi

if [ -n "${MLE_VENV:-}" ]; then
    # shellcheck disable=SC1091
    if ! . "$MLE_VENV/bin/activate"; then
        echo "mle_toolbox: cannot activate the virtual environment $MLE_VENV" >&2
        finish 2
    fi
fi
if [ -n "${MLE_CONDA_ENV:-}" ]; then
    if ! command -v conda >/dev/null 2>&1; then
        echo "mle_toolbox: conda is not on PATH on $(hostname); cannot activate env '$MLE_CONDA_ENV'" >&2
        finish 2
    fi
    eval "$(conda shell.bash hook)" && conda activate "$MLE_CONDA_ENV" || {
        echo "mle_toolbox: cannot activate conda env '$MLE_CONDA_ENV'" >&2
        finish 2
    }
fi

# At most one live run per job folder, ever: a second submission of the same job (a
# launcher killed mid-submission, then resumed) finds the lock held and leaves the job
# folder alone: no exit_code, exit 75. The lock is on fd 9, which the command inherits,
# so it is held for as long as anything of this run is alive; the kernel drops it then.
# The local backend takes the lock itself and hands it over open as fd MLE_LIVE_FD: no
# fork of flock per job (issue 18). Trusted only if that fd is this job's .live file.
live_fd=${MLE_LIVE_FD:-}
unset MLE_LIVE_FD
case $live_fd in
    ''|*[!0-9]*) live_fd= ;;
esac
if [ -n "$live_fd" ] && [ "/dev/fd/$live_fd" -ef "$job_dir/.live" ]; then
    :  # held by this open file since before this wrapper started; the job inherits it
elif command -v flock >/dev/null 2>&1; then
    exec 9>>"$job_dir/.live"
    if ! flock -n 9; then
        echo "mle_toolbox: another run of this job is live (lock $job_dir/.live); this one exits" >&2
        exit 75
    fi
fi

# A run that finds the files of an earlier run that did not ask to be requeued (its
# exit_code, or the status.json that MLExperiment writes) was started again by the
# scheduler: Slurm's `scontrol requeue` or preemption, Grid Engine's `qmod -rj`. Those
# files move to attempts/<k>/ and this run starts afresh, its metrics log included: a
# metrics log never holds two runs. A requeue the job asked for (JOB_DIR/requeue, below)
# leaves neither file behind, so it keeps its metrics log and checkpoints. Only tests
# (no forks) on the common path: the wrapper runs before every job.
if [ -e "$job_dir/exit_code" ] || [ -e "$job_dir/status.json" ]; then
    archive_earlier_run
fi

# Run in the background so that signals reach the wrapper while it waits and can
# be forwarded (scheduler warnings, cancellation).
"$@" &
child=$!
interrupted=0
forward() {
    interrupted=1
    kill -s "$1" "$child" 2>/dev/null
}
trap 'forward TERM' TERM
trap 'forward HUP' HUP
trap 'forward INT' INT
trap 'forward USR1' USR1
trap 'forward USR2' USR2

while :; do
    interrupted=0
    wait "$child"
    rc=$?
    # wait returns early when a trapped signal arrives; the child may still run.
    [ "$interrupted" -eq 1 ] || break
    if ! kill -0 "$child" 2>/dev/null; then
        wait "$child"
        late=$?
        # A child that bash already reaped reports 127 (bash 5.1) or -1 (bash 5.2): its
        # status is lost, and rc = 128 + the signal that interrupted the wait names what
        # stopped it. Only a real exit status (0..255, not 127) replaces that.
        if [ "$late" -ge 0 ] && [ "$late" -le 255 ] && [ "$late" -ne 127 ]; then rc=$late; fi
        break
    fi
done
# A job that asks to be requeued (it wrote JOB_DIR/requeue, e.g. after saving a
# checkpoint on the scheduler's warning signal) is not finished: no exit_code file,
# and exit 99, which tells Grid Engine to put the job back into the queue; on Slurm
# `scontrol requeue` (its array task id form, from the job script) does that. Its
# logs move to attempts/<k>/; the metrics log and checkpoints stay for the next attempt.
if [ -e "$job_dir/requeue" ]; then
    rm -f "$job_dir/requeue"
    mkdir -p "$job_dir/attempts/$attempt"
    for name in stdout.log stderr.log status.json; do
        if [ -e "$job_dir/$name" ]; then mv -f "$job_dir/$name" "$job_dir/attempts/$attempt/"; fi
    done
    if [ -n "$slurm_requeue_id" ]; then
        echo "mle_toolbox: job asked to be requeued (exit $rc); scontrol requeue $slurm_requeue_id" >&2
        if scontrol requeue "$slurm_requeue_id"; then
            exit 0
        fi
        echo "mle_toolbox: scontrol requeue $slurm_requeue_id failed; the job ends here" >&2
        finish "$rc"
    fi
    echo "mle_toolbox: job asked to be requeued (exit $rc); exiting 99" >&2
    exit 99
fi
finish "$rc"
