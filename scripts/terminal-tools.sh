#!/usr/bin/env bash
# terminal-tools.sh: the Debian tools the tests drive mle with: tmux (a real terminal
# for mle monitor's live dashboard) and poppler-utils (pdftoppm / pdftotext read
# report.pdf back). Installs only what is missing; a second run changes nothing.
#
#   sudo scripts/terminal-tools.sh            # install what is missing
#   scripts/terminal-tools.sh --check         # change nothing; exit 0 if all are there
set -Eeuo pipefail

PACKAGES=(tmux poppler-utils)
COMMANDS=(tmux pdftoppm pdftotext)
TIMEOUT=300

log() { echo "terminal-tools: $*" >&2; }

missing_commands() {
    local c
    for c in "${COMMANDS[@]}"; do
        command -v "$c" >/dev/null 2>&1 || echo "$c"
    done
}

if [ -z "$(missing_commands)" ]; then
    log "ok: ${COMMANDS[*]} found"
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    log "missing: $(missing_commands | tr '\n' ' ')"
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    log "must run as root to install ${PACKAGES[*]} (or install them yourself)"
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Try without refreshing the package lists first (fast when the cache is recent).
if ! timeout "$TIMEOUT" apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" \
        >/dev/null 2>&1; then
    timeout "$TIMEOUT" apt-get update -q >/dev/null
    timeout "$TIMEOUT" apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >/dev/null
fi
if [ -n "$(missing_commands)" ]; then
    log "FAILED: still missing after install: $(missing_commands | tr '\n' ' ')"
    exit 1
fi
log "installed ${PACKAGES[*]}"
