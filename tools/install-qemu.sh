#!/usr/bin/env bash
# Make sure qemu-system-aarch64 is QEMU >= 8.2, the first with emulated RME (-cpu max,x-rme=on).
# One machine has one qemu-system-arm package, so both QEMU tiers use this one: tests/rmm (TF-RMM
# under emulated RME) and tests/arm64 (Linux 6.1 KVM; its known differences are QEMU 10.0's).
# On Debian 12 (bookworm) that is qemu-system-arm from the bookworm-backports suite
# (10.0.2+ds-2+deb13u1~bpo12+1 when this was written); on a newer Debian, the release's own.
# Idempotent: does nothing when a new enough QEMU is there. Needs root for apt.
set -euo pipefail

log() { printf '[install-qemu] %s\n' "$*" >&2; }

have_new_qemu() {
    local v
    v=$(qemu-system-aarch64 --version 2>/dev/null | sed -n 's/.*version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
    [ -n "$v" ] || return 1
    set -- $v
    [ "$1" -gt 8 ] || { [ "$1" -eq 8 ] && [ "$2" -ge 2 ]; }
}

if have_new_qemu; then
    exit 0
fi

. /etc/os-release
target=()
if [ "${VERSION_CODENAME:-}" = bookworm ]; then
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        # The host's own Debian mirror, as its sources name it.
        mirror=$(sed -n 's/^URIs: *\([^ ]*debian\)\/\{0,1\}$/\1/p' \
                 /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
        mirror=${mirror:-http://deb.debian.org/debian}
        log "adding the apt source: deb $mirror bookworm-backports main"
        echo "deb $mirror bookworm-backports main" >/etc/apt/sources.list.d/bookworm-backports.list
    fi
    target=(-t bookworm-backports)
fi
log "installing qemu-system-arm ${target[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${target[@]}" qemu-system-arm >/dev/null
have_new_qemu || { log "qemu-system-aarch64 is still older than 8.2"; exit 1; }
log "$(qemu-system-aarch64 --version | head -n 1)"
