#!/usr/bin/env bash
# sge-local.sh: install and start a single-node Son of Grid Engine (Debian
# packages, SGE 8.1.9) on this machine, configured for fast tests.
#
#   sudo scripts/sge-local.sh            # install/configure/start, then test
#   sudo scripts/sge-local.sh --check    # change nothing; exit 0 if a job runs
#   eval "$(scripts/sge-local.sh --print-env)"   # export SGE_ROOT & co.
#
# What it sets up (facts behind each step: shared/notes/real-clusters.md):
#   - packages gridengine-{master,exec,client,drmaa1.0}, debconf pre-seeded;
#   - host_aliases so that every name of this machine is "localhost";
#   - global conf: min_uid/min_gid 0 (root may submit), accounting flushed
#     every second (qacct), load reports every 10 s;
#   - scheduler: schedule_interval 0:0:1, flush_submit_sec/flush_finish_sec 1;
#   - complex "gpu" (consumable INT, per job), exec host "localhost" with gpu=$GPUS;
#   - host group @allhosts, parallel environment "smp" ($pe_slots),
#     queue all.q (slots=$SLOTS, shell /bin/bash, no load thresholds).
# Every step checks first and changes only what differs, so a second run on a
# working cluster only runs the test job and exits 0.
# The environment clients need is written to /etc/profile.d/sge-local.sh.
set -Eeuo pipefail

SGE_ROOT=${SGE_ROOT:-/var/lib/gridengine}
SGE_CELL=${SGE_CELL:-default}
export SGE_ROOT SGE_CELL
HOST=localhost                       # the one canonical host name in the cell
SLOTS=$(( $(nproc) > 4 ? $(nproc) : 4 ))
GPUS=1
TIMEOUT=120
MODE=setup
ENV_FILE=/etc/profile.d/sge-local.sh
PACKAGES=(gridengine-master gridengine-exec gridengine-client gridengine-drmaa1.0 libjemalloc2)
COMMON=$SGE_ROOT/$SGE_CELL/common
QMASTER_SPOOL=/var/spool/gridengine/qmaster
EXECD_SPOOL=/var/spool/gridengine/execd
CHECK_JOB=sge_local_check

usage() {
    cat <<EOF
usage: $0 [--slots N] [--gpus N] [--timeout SECONDS] [--check] [--print-env]

  (no option)   install, configure and start SGE, then run a test job
  --check       change nothing: exit 0 when the daemons run and a job succeeds
  --print-env   print the export lines clients need and exit (no root needed)
  --slots N     slots of all.q (default: max(nproc, 4) = $SLOTS)
  --gpus N      capacity of the consumable complex 'gpu' on the host (default 1)
  --timeout S   deadline in seconds for daemons and the test job (default 120)
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
        --slots) SLOTS=$2; shift 2 ;;
        --gpus) GPUS=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --check) MODE=check; shift ;;
        --print-env) MODE=print-env; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "sge-local: unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
done

log() { printf 'sge-local [%3ss]: %s\n' "$SECONDS" "$*" >&2; }

# quiet CMD...: run CMD, show its output only when it fails
quiet() {
    local out
    if ! out=$("$@" 2>&1); then
        log "command failed: $*"
        printf '%s\n' "$out" >&2
        return 1
    fi
}

# ---------------------------------------------------------------- environment
drmaa_lib() {
    local f
    for f in /usr/lib/gridengine-drmaa/lib/libdrmaa.so.1.0 \
             "$SGE_ROOT"/lib/*/libdrmaa.so.1.0; do
        [ -e "$f" ] && { echo "$f"; return; }
    done
    echo /usr/lib/gridengine-drmaa/lib/libdrmaa.so.1.0
}

jemalloc_lib() {
    local f
    # awk reads to the end (no early exit): under pipefail an early exit can kill
    # ldconfig with SIGPIPE, which the ERR trap reports as a failure.
    f=$(ldconfig -p 2>/dev/null | awk '/libjemalloc\.so\.2 / && !f {f=$NF} END {print f}')
    echo "${f:-/lib/x86_64-linux-gnu/libjemalloc.so.2}"
}

env_lines() {
    local bindir
    bindir=$(dirname "$(command -v qsub 2>/dev/null || echo /usr/bin/qsub)")
    cat <<EOF
export SGE_ROOT=$SGE_ROOT
export SGE_CELL=$SGE_CELL
case ":\$PATH:" in *":$bindir:"*) ;; *) export PATH="$bindir:\$PATH" ;; esac
export DRMAA_LIBRARY_PATH=$(drmaa_lib)
# libdrmaa (linked with jemalloc) fails to load with "cannot allocate memory in
# static TLS block" unless the process starts with jemalloc preloaded:
#   LD_PRELOAD=\$SGE_LOCAL_LD_PRELOAD python -c 'import drmaa'
export SGE_LOCAL_LD_PRELOAD=$(jemalloc_lib)
EOF
}

if [ "$MODE" = print-env ]; then
    env_lines
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "sge-local: must run as root (installs packages, starts daemons)" >&2
    exit 2
fi

# ---------------------------------------------------------------- diagnostics
diagnose() {
    {
        echo "==================== sge-local diagnostics ===================="
        echo "--- processes"; pgrep -a 'sge_' || echo "(no sge_ daemon running)"
        echo "--- hostname: $(hostname)  resolves to: $(getent hosts "$(hostname)" || echo NONE)"
        echo "--- $COMMON/act_qmaster: $(cat "$COMMON/act_qmaster" 2>/dev/null || echo missing)"
        echo "--- $COMMON/host_aliases:"; cat "$COMMON/host_aliases" 2>/dev/null || true
        if command -v qstat >/dev/null; then
            echo "--- qhost"; timeout 10 qhost 2>&1 || true
            echo "--- qstat -f -u '*'"; timeout 10 qstat -f -u '*' 2>&1 || true
            echo "--- qstat -j $CHECK_JOB"; timeout 10 qstat -j "$CHECK_JOB" 2>&1 | tail -20 || true
        fi
        tail_logs "$QMASTER_SPOOL/messages" "$EXECD_SPOOL"/*/messages /tmp/qmaster_messages* /tmp/execd_messages*
        echo "==============================================================="
    } >&2
}

# fail, the ERR trap, start_deadline, remaining, wait_until, packages_missing
# shellcheck source=scripts/local-cluster-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/local-cluster-lib.sh"

install_packages() {
    packages_missing || return 0
    log "installing ${PACKAGES[*]} (Debian packages)"
    local p
    for p in gridengine-common gridengine-client gridengine-master; do
        printf '%s shared/gridenginemaster string %s\n' "$p" "$HOST"
        printf '%s shared/gridenginecell string %s\n' "$p" "$SGE_CELL"
        printf '%s shared/gridengineconfig boolean true\n' "$p"
    done | debconf-set-selections
    apt_install /tmp/sge-local-apt.log
    [ -f "$COMMON/act_qmaster" ] \
        || fail "no $COMMON/act_qmaster after install: debconf did not create the cell"
}

# ------------------------------------------------------------ host resolution
# Clients are refused when the name their IP resolves to (often "localhost")
# differs from the host name they send; SGE's host_aliases makes all names of
# this machine one host, "localhost". Returns 0 when the file changed.
local_names() {
    local h ip
    h=$(hostname)
    {
        echo localhost; echo "$h"; hostname -s 2>/dev/null || true; hostname -f 2>/dev/null || true
        cat "$COMMON/act_qmaster" 2>/dev/null || true
        for ip in $({ getent ahostsv4 "$h" 2>/dev/null || true; } | awk '{print $1}' | sort -u) 127.0.0.1; do
            { getent hosts "$ip" 2>/dev/null || true; } | awk '{for (i = 2; i <= NF; i++) print $i}'
        done
    } | awk 'NF && !seen[$1]++ {print $1}'
}

ensure_host_aliases() {
    if ! getent hosts "$(hostname)" >/dev/null; then
        log "hostname $(hostname) does not resolve: adding it to /etc/hosts"
        printf '127.0.1.1 %s\n' "$(hostname)" >>/etc/hosts
    fi
    local want
    want=$(local_names | awk -v h="$HOST" '$1 != h {printf " %s", $1}')
    want="$HOST$want"
    if [ "$(cat "$COMMON/host_aliases" 2>/dev/null)" = "$want" ]; then
        return 1
    fi
    log "writing $COMMON/host_aliases: $want"
    printf '%s\n' "$want" >"$COMMON/host_aliases"
    chown --reference="$COMMON" "$COMMON/host_aliases" 2>/dev/null || true
    return 0
}

# -------------------------------------------------------------------- daemons
daemon_pid() {  # daemon_pid sge_qmaster|sge_execd -> pids (empty: not running)
    pgrep -x "$1" || true
}

stop_daemon() {  # stop_daemon INIT_SCRIPT PROCESS_NAME
    local pid
    "/etc/init.d/$1" stop >/dev/null 2>&1 || true
    for _ in $(seq 50); do
        [ -z "$(daemon_pid "$2")" ] && return 0
        sleep 0.2
    done
    # "stop" sometimes leaves the old process behind: end it by its pid.
    for pid in $(daemon_pid "$2"); do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 2
    for pid in $(daemon_pid "$2"); do kill -KILL "$pid" 2>/dev/null || true; done
}

start_daemon() {  # start_daemon INIT_SCRIPT PROCESS_NAME RESTART(0|1)
    if [ -n "$(daemon_pid "$2")" ]; then
        [ "$3" = 1 ] || return 0
        log "restarting $2"
        stop_daemon "$1" "$2"
    else
        log "starting $2"
    fi
    # Called directly, not through invoke-rc.d, so policy-rc.d does not block it.
    "/etc/init.d/$1" start >/dev/null
}

qmaster_answers() { timeout 10 qconf -sh >/dev/null 2>&1; }

# ------------------------------------------------------------- configuration
CHANGED=0
TMPD=$(mktemp -d /tmp/sge-local.XXXXXX)
trap 'rm -rf "$TMPD"' EXIT

# set_field KEY VALUE: stdin -> stdout, replace the (possibly backslash-
# continued) line of KEY in a qconf listing, or append it.
set_field() {
    awk -v k="$1" -v v="$2" '
        skip { if ($0 !~ /\\$/) skip = 0; next }
        $1 == k { printf "%-32s %s\n", k, v; found = 1; if ($0 ~ /\\$/) skip = 1; next }
        { print }
        END { if (!found) printf "%-32s %s\n", k, v }'
}

# normalize: join continuation lines, squeeze blanks (for comparisons)
normalize() { sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | tr -s ' \t' '  ' | sed 's/ *$//'; }

same() { [ "$(normalize <"$1")" = "$(normalize <"$2")" ]; }

# edit_listing FILE KEY VALUE [KEY VALUE ...]: rewrite FILE in place
edit_listing() {
    local f=$1; shift
    while [ $# -gt 0 ]; do
        set_field "$1" "$2" <"$f" >"$f.new"; mv "$f.new" "$f"; shift 2
    done
}

configure_global() {
    # The file name must be "global", the name of the configuration it replaces.
    local cur=$TMPD/cur.global new=$TMPD/global
    qconf -sconf global >"$cur"
    cp "$cur" "$new"
    # login_shells none: a job's bash is not a login shell, so it does not read root's
    # ~/.bashrc. On these machines that runs `pyenv init`, whose rehash takes a lock file
    # (~/.pyenv/shims/.pyenv-shim): a job killed in its first second (a cancel test) left
    # the lock behind, and every later job then waited 60 s for it (measured 2026-12-02:
    # job 1367 killed at 02:35:01, lock dated 02:35:01, job 1368 took 61 s, and a CI run
    # failed on a 150 s timeout). Jobs need nothing from it: they run the launcher's
    # Python by its full path, the job wrapper sets up conda or a venv, and this cluster
    # has no environment modules (on a real cluster the admins decide, as ever).
    edit_listing "$new" \
        min_uid 0 min_gid 0 \
        load_report_time 00:00:10 login_shells none \
        reporting_params "accounting=true reporting=false flush_time=00:00:01 joblog=false sharelog=00:00:00"
    same "$cur" "$new" && return 0
    log "global configuration: min_uid 0, min_gid 0, accounting flush 1 s, no login shells"
    grep -v '^#' "$new" >"$new.tmp" && mv "$new.tmp" "$new"
    quiet qconf -Mconf "$new"
    CHANGED=1
}

configure_scheduler() {
    local cur=$TMPD/cur.sched new=$TMPD/sched
    qconf -ssconf >"$cur"
    cp "$cur" "$new"
    edit_listing "$new" schedule_interval 0:0:1 flush_submit_sec 1 flush_finish_sec 1 \
        schedd_job_info true
    same "$cur" "$new" && return 0
    log "scheduler: schedule_interval 0:0:1, flush_submit_sec 1, flush_finish_sec 1"
    quiet qconf -Msconf "$new"
    CHANGED=1
}

configure_complex() {
    # consumable JOB: a job asks for gpu=N once, whatever its slot count
    # (with YES, "-pe smp 2 -l gpu=1" would need 2 and never start).
    local cur=$TMPD/cur.complex new=$TMPD/complex
    local line='gpu                 gpu        INT       <=    YES         JOB        0        0'
    qconf -sc >"$cur"
    awk -v l="$line" '$1 == "gpu" {next} {print} END {print l}' "$cur" >"$new"
    [ "$(awk '$1 == "gpu"' "$cur" | tr -s ' ')" = "$(echo "$line" | tr -s ' ')" ] && return 0
    log "complex: consumable gpu (INT, per job)"
    quiet qconf -Mc "$new"
    CHANGED=1
}

configure_hosts() {
    if ! qconf -sh 2>/dev/null | grep -qx "$HOST"; then
        log "admin host: $HOST"; quiet qconf -ah "$HOST"; CHANGED=1
    fi
    if ! qconf -ss 2>/dev/null | grep -qx "$HOST"; then
        log "submit host: $HOST"; quiet qconf -as "$HOST"; CHANGED=1
    fi
    if ! qconf -sel 2>/dev/null | grep -qx "$HOST"; then
        log "execution host: $HOST (gpu=$GPUS)"
        cat >"$TMPD/exechost" <<EOF
hostname              $HOST
load_scaling          NONE
complex_values        gpu=$GPUS
user_lists            NONE
xuser_lists           NONE
projects              NONE
xprojects             NONE
usage_scaling         NONE
report_variables      NONE
EOF
        quiet qconf -Ae "$TMPD/exechost"
        CHANGED=1
    elif [ "$(qconf -se "$HOST" | awk '$1 == "complex_values" {print $2}')" != "gpu=$GPUS" ]; then
        log "execution host: complex_values gpu=$GPUS"
        quiet qconf -rattr exechost complex_values "gpu=$GPUS" "$HOST"
        CHANGED=1
    fi
    if ! qconf -shgrp @allhosts >/dev/null 2>&1; then
        log "host group: @allhosts"
        printf 'group_name @allhosts\nhostlist %s\n' "$HOST" >"$TMPD/allhosts"
        quiet qconf -Ahgrp "$TMPD/allhosts"
        CHANGED=1
    elif ! qconf -shgrp @allhosts | awk '$1 == "hostlist"' | grep -qw "$HOST"; then
        quiet qconf -aattr hostgroup hostlist "$HOST" @allhosts
        CHANGED=1
    fi
}

configure_pe() {
    local cur=$TMPD/cur.smp new=$TMPD/smp
    cat >"$new" <<'EOF'
pe_name            smp
slots              9999
user_lists         NONE
xuser_lists        NONE
start_proc_args    NONE
stop_proc_args     NONE
allocation_rule    $pe_slots
control_slaves     FALSE
job_is_first_task  TRUE
urgency_slots      min
accounting_summary FALSE
qsort_args         NONE
EOF
    if ! qconf -sp smp >"$cur" 2>/dev/null; then
        log "parallel environment: smp (\$pe_slots)"
        quiet qconf -Ap "$new"
        CHANGED=1
    elif ! same "$cur" "$new"; then
        log "parallel environment: updating smp"
        quiet qconf -Mp "$new"
        CHANGED=1
    fi
}

configure_queue() {
    local cur=$TMPD/cur.q new=$TMPD/all.q verb=-Mq
    if ! qconf -sq all.q >"$cur" 2>/dev/null; then
        qconf -sq >"$cur"          # the template
        verb=-Aq
    fi
    cp "$cur" "$new"
    edit_listing "$new" \
        qname all.q hostlist @allhosts slots "$SLOTS" pe_list smp \
        shell /bin/bash shell_start_mode posix_compliant tmpdir /tmp \
        load_thresholds NONE suspend_thresholds NONE qtype "BATCH INTERACTIVE" \
        rerun FALSE
    [ "$verb" = -Mq ] && same "$cur" "$new" && return 0
    log "queue all.q: slots $SLOTS, pe_list smp, shell /bin/bash ($verb)"
    quiet qconf "$verb" "$new"
    CHANGED=1
}

configure() {
    configure_global
    configure_scheduler
    configure_complex
    configure_hosts
    configure_pe
    configure_queue
}

# --------------------------------------------------------------------- checks
# queue_state: the states column of all.q@HOST in `qstat -f` ("" = ok, "-" = no
# such queue instance, "u" = execd not heard of yet, "E" = error, ...)
queue_state() {
    { timeout 10 qstat -f -q "all.q@$HOST" 2>/dev/null || true; } \
        | awk -v q="all.q@$HOST" '$1 == q {print (NF >= 6 ? $6 : ""); found = 1}
                                  END {if (!found) print "-"}'
}

exec_host_up() {
    local s
    s=$(queue_state) || return 1
    case $s in
        "") return 0 ;;
        *E*) log "queue all.q@$HOST in error state: clearing it (qmod -cq)"
             qmod -cq "all.q@$HOST" >/dev/null 2>&1 || true ;;
        *d*) log "queue all.q@$HOST disabled: enabling it (qmod -e)"
             qmod -e "all.q@$HOST" >/dev/null 2>&1 || true ;;
    esac
    return 1
}

exec_host_up_readonly() { [ -z "$(queue_state)" ]; }

LAST_JOB_OUTPUT=
run_check_job() {
    local left rc
    left=$(remaining)
    [ "$left" -gt 0 ] || return 1
    set +e
    LAST_JOB_OUTPUT=$(cd / && timeout "$left" qsub -sync y -b y -N "$CHECK_JOB" \
        -o /dev/null -e /dev/null true 2>&1)
    rc=$?
    set -e
    if [ "$rc" = 0 ]; then
        return 0
    fi
    log "test job not done yet (qsub exit $rc): $(echo "$LAST_JOB_OUTPUT" | tail -n 2 | tr '\n' ' ')"
    if [ "$rc" = 124 ]; then
        qdel "$CHECK_JOB" >/dev/null 2>&1 || true
    fi
    return 1
}

check_only() {
    start_deadline
    command -v qsub >/dev/null || { log "qsub not installed"; exit 1; }
    [ -n "$(daemon_pid sge_qmaster)" ] || { log "sge_qmaster not running"; exit 1; }
    [ -n "$(daemon_pid sge_execd)" ] || { log "sge_execd not running"; exit 1; }
    qmaster_answers || { log "qmaster does not answer"; exit 1; }
    exec_host_up_readonly || { log "all.q@$HOST not up (state '$(queue_state)')"; exit 1; }
    run_check_job || { log "test job failed"; exit 1; }
    log "cluster works"
}

write_env_file() {
    [ -d "$(dirname "$ENV_FILE")" ] || return 0
    local new=$TMPD/env
    { echo "# written by scripts/sge-local.sh (mle_toolbox): single-node SGE"; env_lines; } >"$new"
    if ! cmp -s "$new" "$ENV_FILE" 2>/dev/null; then
        install -m 0644 "$new" "$ENV_FILE"
        log "wrote $ENV_FILE"
    fi
}

# ----------------------------------------------------------------------- main
main() {
    local restart=0
    install_packages
    start_deadline
    ensure_host_aliases && restart=1
    start_daemon gridengine-master sge_qmaster "$restart"
    wait_until "qmaster to answer (qconf -sh)" qmaster_answers || fail "qmaster does not answer"
    configure
    start_daemon gridengine-exec sge_execd "$restart"
    wait_until "execd: queue all.q@$HOST up in qstat -f" exec_host_up \
        || fail "exec host not up (all.q@$HOST state '$(queue_state)')"
    # The first qsub after a configuration change can fail with "Error reading
    # answer list from qmaster": retry until the deadline.
    wait_until "test job (qsub -sync y -b y true)" run_check_job \
        || fail "test job did not succeed: $LAST_JOB_OUTPUT"
    write_env_file
    log "SGE works: queue all.q@$HOST, $SLOTS slots, pe smp, gpu=$GPUS; configuration changed: $([ "$CHANGED" = 1 ] && echo yes || echo no)"
    echo "# environment for SGE clients (also in $ENV_FILE):"
    env_lines
}

case $MODE in
    check) check_only ;;
    setup) main ;;
esac
