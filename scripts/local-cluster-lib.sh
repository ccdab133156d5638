# local-cluster-lib.sh: what sge-local.sh and slurm-local.sh share. Sourced after
# the script has defined log() and diagnose() and set TIMEOUT and PACKAGES.
# shellcheck shell=bash

fail() {
    log "FAILED: $*"
    diagnose
    exit 1
}

trap 'rc=$?; log "command failed (exit $rc) at line $LINENO: $BASH_COMMAND"; diagnose; exit 1' ERR

# -------------------------------------------------------- deadline and polling
DEADLINE=0
start_deadline() { DEADLINE=$(( $(date +%s) + TIMEOUT )); }
remaining() { echo $(( DEADLINE - $(date +%s) )); }

# wait_until DESCRIPTION CMD...: run CMD until it succeeds, sleeping 0.2 s,
# 0.4 s, ... (at most 2 s) in between; return 1 once the deadline has passed.
wait_until() {
    local what=$1 delay=0.2; shift
    while ! "$@"; do
        if [ "$(remaining)" -le 0 ]; then
            log "timed out after ${TIMEOUT}s waiting for: $what"
            return 1
        fi
        sleep "$delay"
        delay=$(awk -v d="$delay" 'BEGIN { d *= 2; print (d > 2 ? 2 : d) }')
    done
}

# ------------------------------------------------------------------- packages
packages_missing() {
    local p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || return 0
    done
    return 1
}

# apt_install LOG: install PACKAGES without questions; on failure show the end of LOG.
apt_install() {
    local apt_log=$1
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >"$apt_log" 2>&1 \
        || { tail -n 40 "$apt_log" >&2; fail "apt-get install (log: $apt_log)"; }
}

# tail_logs FILE...: the last 40 lines of each FILE that exists (for diagnose).
tail_logs() {
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        echo "--- tail -n 40 $f"; tail -n 40 "$f"
    done
}
