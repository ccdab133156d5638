#!/usr/bin/env bash
# slurm-local.sh: install and start a single-node Slurm 22.05 + munge (Debian
# packages) on this machine, configured for fast tests.
#
#   sudo scripts/slurm-local.sh            # install/configure/start, then test
#   sudo scripts/slurm-local.sh --check    # change nothing; exit 0 if a job runs
#
# What it sets up (facts behind each step: shared/notes/real-clusters.md):
#   - packages slurm-wlm and munge; munged running as the munge user;
#   - /etc/slurm/slurm.conf: cluster "local", controller and node "localhost"
#     (slurmd started with -N localhost, whatever the host name), CPUs=$CPUS,
#     partition "debug" (default), no accounting storage, root may run jobs,
#     a short KillWait so that cancelled jobs go quickly, and a gres "gpu"
#     type-less count so that --gres=gpu:N is accepted (GPUs=0 by default);
#   - slurmctld and slurmd as root, logs in /var/log/slurm/.
# Every step checks first and changes only what differs: a second run on a
# working cluster only runs the test job and exits 0.
set -Eeuo pipefail

CPUS=$(nproc)
TIMEOUT=120
MODE=setup
PACKAGES=(slurm-wlm munge)
CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
LOG_DIR=/var/log/slurm
CTLD_LOG=$LOG_DIR/slurmctld.log
SLURMD_LOG=$LOG_DIR/slurmd.log
NODE=localhost
CHECK_JOB=slurm_local_check

usage() {
    cat <<EOF
usage: $0 [--cpus N] [--timeout SECONDS] [--check]

  (no option)   install, configure and start Slurm + munge, then run a test job
  --check       change nothing: exit 0 when the daemons run and a job succeeds
  --cpus N      CPUs of the node (default: nproc = $CPUS)
  --timeout S   deadline in seconds for daemons and the test job (default 120)
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
        --cpus) CPUS=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --check) MODE=check; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "slurm-local: unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
done

log() { printf 'slurm-local [%3ss]: %s\n' "$SECONDS" "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
    echo "slurm-local: must run as root (installs packages, starts daemons)" >&2
    exit 2
fi

# ---------------------------------------------------------------- diagnostics
diagnose() {
    {
        echo "=================== slurm-local diagnostics ==================="
        echo "--- processes"; pgrep -a 'slurm|munged' || echo "(no slurm or munge daemon running)"
        if command -v sinfo >/dev/null; then
            echo "--- sinfo -N -l"; timeout 10 sinfo -N -l 2>&1 || true
            echo "--- scontrol show node $NODE"; timeout 10 scontrol show node "$NODE" 2>&1 || true
            echo "--- squeue"; timeout 10 squeue 2>&1 || true
        fi
        tail_logs "$CTLD_LOG" "$SLURMD_LOG" /var/log/munge/munged.log
        echo "==============================================================="
    } >&2
}

# fail, the ERR trap, start_deadline, remaining, wait_until, packages_missing
# shellcheck source=scripts/local-cluster-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/local-cluster-lib.sh"

daemon_pid() { pgrep -x "$1" | head -n 1 || true; }

install_packages() {
    packages_missing || return 0
    log "installing ${PACKAGES[*]} (Debian packages)"
    apt_install /tmp/slurm-local-apt.log
}

# ---------------------------------------------------------------------- munge
munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
    if [ -n "$(daemon_pid munged)" ] && munge_works; then
        return 0
    fi
    [ -f /etc/munge/munge.key ] || fail "no /etc/munge/munge.key after installing munge"
    install -d -o munge -g munge -m 0755 /run/munge
    log "starting munged (as munge)"
    runuser -u munge -- /usr/sbin/munged
    wait_until "munge -n | unmunge" munge_works || fail "munge does not work"
}

# ------------------------------------------------------------- configuration
render_conf() {
    local memory
    # The node offers all but 1 GiB of this machine's memory.
    memory=$(awk '/^MemTotal:/ {m = int($2 / 1024) - 1024; print (m > 512 ? m : 512)}' /proc/meminfo)
    cat <<EOF
# written by scripts/slurm-local.sh (mle_toolbox): single-node Slurm for tests
ClusterName=local
SlurmctldHost=localhost
AuthType=auth/munge
# Requeued jobs wait cred_expire seconds before they may start again (default 120).
AuthInfo=cred_expire=10
CryptoType=crypto/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$CTLD_LOG
SlurmdLogFile=$SLURMD_LOG
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
# Fast turnaround for tests: cancelled jobs are killed 5 s after SIGTERM,
# finished jobs leave squeue's memory after 60 s.
KillWait=5
MinJobAge=60
# sched_interval: jobs whose BeginTime passes (requeued ones) start within 2 s.
SchedulerParameters=sched_min_interval=0,batch_sched_delay=0,sched_interval=2
# The node's CPU count may differ from the hardware (--cpus); trust this file.
SlurmdParameters=config_overrides
GresTypes=gpu
NodeName=$NODE CPUs=$CPUS RealMemory=$memory Gres=gpu:0 State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
}

CHANGED=0
configure() {
    local new
    new=$(mktemp)
    render_conf >"$new"
    install -d "$CONF_DIR" "$LOG_DIR" /var/spool/slurmctld /var/spool/slurmd
    if [ ! -f "$CONF_DIR/gres.conf" ]; then
        : >"$CONF_DIR/gres.conf"
    fi
    if cmp -s "$new" "$CONF"; then
        rm -f "$new"
        return 0
    fi
    log "writing $CONF (CPUs=$CPUS)"
    install -m 0644 "$new" "$CONF"
    rm -f "$new"
    CHANGED=1
}

stop_daemon() {
    local pid
    pid=$(daemon_pid "$1")
    [ -n "$pid" ] || return 0
    log "stopping $1 (pid $pid) for the new configuration"
    kill "$pid"
    wait_until "$1 to stop" bash -c "! kill -0 $pid 2>/dev/null" || fail "$1 does not stop"
}

start_daemons() {
    if [ "$CHANGED" = 1 ]; then
        stop_daemon slurmd
        stop_daemon slurmctld
    fi
    if [ -z "$(daemon_pid slurmctld)" ]; then
        log "starting slurmctld"
        slurmctld || fail "slurmctld did not start"
    fi
    wait_until "slurmctld to answer (scontrol ping)" ctld_answers || fail "slurmctld does not answer"
    if [ -z "$(daemon_pid slurmd)" ]; then
        log "starting slurmd -N $NODE"
        slurmd -N "$NODE" || fail "slurmd did not start"
    fi
}

ctld_answers() { timeout 10 scontrol ping 2>/dev/null | grep -q 'is UP'; }

# --------------------------------------------------------------------- checks
node_state() { timeout 10 sinfo -h -n "$NODE" -o '%T' 2>/dev/null | head -n 1 || true; }

node_idle() {
    local state
    state=$(node_state)
    case $state in
        idle|mixed|allocated) return 0 ;;
        drain*|down*|fail*)
            log "node $NODE is $state: resuming it"
            timeout 10 scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    return 1
}

node_idle_readonly() {
    case $(node_state) in idle|mixed|allocated) return 0 ;; esac
    return 1
}

LAST_JOB_OUTPUT=
run_check_job() {
    local left rc
    left=$(remaining)
    [ "$left" -gt 0 ] || return 1
    set +e
    LAST_JOB_OUTPUT=$(cd / && timeout "$left" sbatch --wait -J "$CHECK_JOB" -o /dev/null \
        --wrap true 2>&1)
    rc=$?
    set -e
    [ "$rc" = 0 ] && return 0
    log "test job not done yet (sbatch exit $rc): $(echo "$LAST_JOB_OUTPUT" | tail -n 2 | tr '\n' ' ')"
    if [ "$rc" = 124 ]; then
        scancel -n "$CHECK_JOB" >/dev/null 2>&1 || true
    fi
    return 1
}

check_only() {
    start_deadline
    command -v sbatch >/dev/null || { log "sbatch not installed"; exit 1; }
    munge_works || { log "munge does not work"; exit 1; }
    [ -n "$(daemon_pid slurmctld)" ] || { log "slurmctld not running"; exit 1; }
    [ -n "$(daemon_pid slurmd)" ] || { log "slurmd not running"; exit 1; }
    node_idle_readonly || { log "node $NODE not idle (state '$(node_state)')"; exit 1; }
    run_check_job || { log "test job failed"; exit 1; }
    log "cluster works"
}

main() {
    install_packages
    start_deadline
    start_munge
    configure
    start_daemons
    wait_until "sinfo to show node $NODE idle" node_idle \
        || fail "node $NODE not idle (state '$(node_state)')"
    wait_until "test job (sbatch --wait --wrap true)" run_check_job \
        || fail "test job did not succeed: $LAST_JOB_OUTPUT"
    log "Slurm works: partition debug, node $NODE with $CPUS CPUs; configuration changed: $([ "$CHANGED" = 1 ] && echo yes || echo no)"
}

case $MODE in
    check) check_only ;;
    setup) main ;;
esac
