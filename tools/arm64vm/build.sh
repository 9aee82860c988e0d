#!/usr/bin/env bash
# Build the emulated arm64 machine of the real-kernel test tier: an arm64 Debian 12 kernel
# (KVM built in, entered at EL2 by QEMU's virt machine with virtualization=on) and a base
# initramfs with busybox, Python 3.11, cffi and pure-Python Textual. See README.md.
#
# Usage: tools/arm64vm/build.sh [CACHE_DIR]
#   default CACHE_DIR: ${XDG_CACHE_HOME:-$HOME/.cache}/realmtui-arm64vm
# Writes CACHE_DIR/vmlinuz and CACHE_DIR/initrd.gz (= core.gz + textual.gz, also kept apart
# for run.py). Idempotent: when they exist and their inputs (these scripts, the deb and
# wheel names) are unchanged, it returns at once.
# Env: REALMTUI_HOST_PYTHON  a Python with the project's Textual, whose versions to ship;
#      REALMTUI_ARM64VM_REFRESH=1  forget downloaded debs and pick the newest again.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/realmtui-arm64vm}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
PY311=/usr/bin/python3.11   # Debian's: its .pyc magic is the guest's (both 3.11.2)
T0=$(date +%s.%N)

log() { printf '[arm64vm build] %s\n' "$*" >&2; }
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# One build at a time per cache (parallel test runs share it).
exec 9>"$CACHE/.lock"
flock 9

# --- 1. host packages -----------------------------------------------------------------------
# qemu-system-arm provides qemu-system-aarch64: QEMU 10.0 from bookworm-backports, the one
# tests/rmm needs too (tools/install-qemu.sh; the known differences are that QEMU's). No firmware
# package is needed (-kernel boots through QEMU's own loader). python3.11 is Debian's
# interpreter, used to precompile the guest's bytecode. No cpio: newc.py writes the archives.
"$HERE/../install-qemu.sh"
missing=()
[ -x "$PY311" ] || missing+=(python3.11)
if ((${#missing[@]})); then
    log "installing host packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

# --- 2. wheel versions: the project's venv, else the pins ----------------------------------
PINS=$HERE/guest-wheels.txt
LOCK=$CACHE/wheels.lock
PIP_PY=""
for cand in "${REALMTUI_HOST_PYTHON:-}" "${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}" \
            /work/venv/bin/python; do
    if [ -n "$cand" ] && [ -x "$cand" ] &&
       "$cand" -c 'import importlib.metadata as m; m.version("textual")' 2>/dev/null; then
        PIP_PY=$cand
        break
    fi
done
if [ -n "$PIP_PY" ]; then
    "$PIP_PY" "$HERE/buildhelp.py" versions "$PINS" >"$LOCK.new"
    src="the Python at $PIP_PY"
else
    "$PY311" "$HERE/buildhelp.py" versions "$PINS" >"$LOCK.new"  # no Textual there: pins
    src="$PINS"
fi
mv "$LOCK.new" "$LOCK"

# --- 3. arm64 debs, through a private apt state ----------------------------------------------
# `apt-get download foo:arm64` needs arm64 package lists. Rather than changing the host
# (dpkg --add-architecture arm64 + a full apt-get update), keep an arm64-only apt state in
# the cache: same sources and keyring as the host, ~9 MB of lists, ~3 s.
APTDIR=$CACHE/apt
DEBS=$CACHE/debs
APT_OPTS=(
    -o "Dir::State::Lists=$APTDIR/lists" -o "Dir::Cache=$APTDIR/cache"
    -o "Dir::State::status=$APTDIR/status" -o APT::Architecture=arm64
    -o APT::Architectures::=arm64 -o Debug::NoLocking=1 -o APT::Sandbox::User=root
)
ARM64_PKGS=(busybox-static python3.11-minimal libpython3.11-minimal libpython3.11-stdlib
            libc6 libffi8 zlib1g libexpat1 python3-cffi-backend)
ALL_PKGS=(python3-cffi python3-pycparser python3-ply)
[ "${REALMTUI_ARM64VM_REFRESH:-}" = 1 ] && rm -rf "$DEBS" "$APTDIR"
mkdir -p "$DEBS" "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial"
touch "$APTDIR/status"

apt_update() {
    log "apt-get update (arm64 lists in $APTDIR)"
    apt-get "${APT_OPTS[@]}" update -qq >&2
}
have_deb() { compgen -G "$DEBS/${1}_*_${2}.deb" >/dev/null; }
have_lists() { compgen -G "$APTDIR/lists/*_Packages*" >/dev/null; }
kernel_pkg() {  # the downloaded kernel, else the newest 6.1 in the lists
    local deb
    deb=$(compgen -G "$DEBS/linux-image-6.1.0-*-arm64_*_arm64.deb" | sort -V | tail -1 || true)
    if [ -n "$deb" ]; then basename "$deb" | cut -d_ -f1; return; fi
    have_lists || apt_update
    apt-cache "${APT_OPTS[@]}" search --names-only '^linux-image-6\.1\.0-[0-9]+-arm64$' |
        awk '{print $1}' | sort -V | tail -1
}
KPKG=$(kernel_pkg)
[ -n "$KPKG" ] || { log "no linux-image-6.1.0-*-arm64 in the arm64 lists"; exit 1; }

need=()
have_deb "$KPKG" arm64 || need+=("$KPKG")
for p in "${ARM64_PKGS[@]}"; do have_deb "$p" arm64 || need+=("$p"); done
for p in "${ALL_PKGS[@]}"; do have_deb "$p" all || need+=("$p"); done
if ((${#need[@]})); then
    have_lists || apt_update
    log "downloading ${#need[@]} debs"
    # A stale list may name a version the mirror has dropped: refresh once and retry.
    (cd "$DEBS" && apt-get "${APT_OPTS[@]}" download -qq "${need[@]}") ||
        { apt_update && (cd "$DEBS" && apt-get "${APT_OPTS[@]}" download -qq "${need[@]}"); }
fi

# --- 4. wheels --------------------------------------------------------------------------------
WHEELS=$CACHE/wheels
mkdir -p "$WHEELS"
mapfile -t want < <("$PY311" "$HERE/buildhelp.py" missing-wheels "$WHEELS" "$LOCK")
if ((${#want[@]})); then
    pip_py=${PIP_PY:-/usr/bin/python3}
    if ! "$pip_py" -m pip --version >/dev/null 2>&1; then
        log "installing host package python3-pip (to download wheels)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            python3-pip >/dev/null
        pip_py=/usr/bin/python3
    fi
    log "downloading wheels: ${want[*]}"
    "$pip_py" -m pip download -q --disable-pip-version-check --no-deps \
        --only-binary=:all: --python-version 3.11 --implementation py --abi none \
        --platform any -d "$WHEELS" "${want[@]}" 2> >(grep -v "is ignored: it is neither" >&2)
fi

# --- 5. up to date? -------------------------------------------------------------------------
KEY=$("$PY311" "$HERE/buildhelp.py" key "$LOCK" "$DEBS")
outputs_exist() {
    local f
    for f in vmlinuz core.gz textual.gz initrd.gz; do [ -f "$CACHE/$f" ] || return 1; done
}
if outputs_exist && [ "$(cat "$CACHE/base.key" 2>/dev/null)" = "$KEY" ]; then
    log "up to date ($CACHE, $(elapsed) s)"
    exit 0
fi
rm -f "$CACHE/base.key"
log "building in $CACHE; guest wheels from $src: $(tr '\n' ' ' <"$LOCK")"

# --- 6. kernel: only boot/vmlinuz-* (an uncompressed arm64 Image) from the 60 MB deb ------------
kdeb=$(compgen -G "$DEBS/${KPKG}_*_arm64.deb" | head -1)
if [ "$(cat "$CACHE/vmlinuz.src" 2>/dev/null)" != "$(basename "$kdeb")" ]; then
    log "extracting vmlinuz from $(basename "$kdeb")"
    rm -rf "$CACHE/kpkg" && mkdir "$CACHE/kpkg"
    dpkg-deb --fsys-tarfile "$kdeb" |
        tar -x -C "$CACHE/kpkg" --wildcards './boot/vmlinuz-*' './boot/config-*'
    grep -q '^CONFIG_KVM=y' "$CACHE"/kpkg/boot/config-* ||
        { log "$KPKG has no built-in KVM"; exit 1; }
    mv "$CACHE"/kpkg/boot/vmlinuz-* "$CACHE/vmlinuz"
    rm -rf "$CACHE/kpkg"
    basename "$kdeb" >"$CACHE/vmlinuz.src"
fi

# --- 7. userspace, in two layers -------------------------------------------------------------
# core.gz: busybox, python3.11, its stdlib (pruned), cffi -- what a KVM script needs.
# textual.gz: the Textual wheels, ~20 MB unpacked, which cost ~0.7 s of TCG unpacking per
# boot; run.py adds this layer only for scripts that import textual or rich.
# initrd.gz = core.gz + textual.gz concatenated: the whole base image in one file.
S=$CACHE/stage
T=$CACHE/stage-textual
rm -rf "$S" "$T" && mkdir -p "$S" "$T"
for p in "${ARM64_PKGS[@]}"; do dpkg-deb -x "$(compgen -G "$DEBS/${p}_*_arm64.deb" | head -1)" "$S"; done
for p in "${ALL_PKGS[@]}"; do dpkg-deb -x "$(compgen -G "$DEBS/${p}_*_all.deb" | head -1)" "$S"; done
"$PY311" "$HERE/buildhelp.py" prune "$S"
"$PY311" "$HERE/buildhelp.py" unpack-wheels "$WHEELS" "$LOCK" "$T/usr/lib/python3/dist-packages"

mkdir -p "$S/bin" "$S/sbin" "$S/proc" "$S/sys" "$S/dev" "$S/tmp" "$S/root" "$S/rtui"
for a in sh mount umount cat echo ls dmesg grep sed cut tail head mkdir mkfifo poweroff sleep uname \
         env rm cp mv ln chmod touch true false ps kill wc sort tr find xargs id date sync; do
    ln -sf busybox "$S/bin/$a"
done
ln -sf python3.11 "$S/usr/bin/python3"
sed -e "s|@SCRIPT@|''|" -e 's|@ARGS@||' "$HERE/guest_init.sh" >"$S/init"
chmod 755 "$S/init"

# Debian's debs ship no .pyc and the guest would compile ~3 s of cffi/pycparser on every
# boot (REPORT.md). unchecked-hash: valid whatever the file times; -s/-p: guest paths.
log "precompiling bytecode"
"$PY311" -m compileall -q -j 0 --invalidation-mode unchecked-hash -s "$S" -p / \
    "$S/usr/lib/python3.11" "$S/usr/lib/python3/dist-packages" >/dev/null
"$PY311" -m compileall -q -j 0 --invalidation-mode unchecked-hash -s "$T" -p / \
    "$T/usr/lib/python3/dist-packages" >/dev/null

log "packing core.gz ($(du -sh "$S" | cut -f1) unpacked) and textual.gz ($(du -sh "$T" | cut -f1))"
"$PY311" "$HERE/newc.py" "$S" "$CACHE/core.gz" >/dev/null &
"$PY311" "$HERE/newc.py" "$T" "$CACHE/textual.gz" >/dev/null
wait $!
cat "$CACHE/core.gz" "$CACHE/textual.gz" >"$CACHE/initrd.gz.tmp"
mv "$CACHE/initrd.gz.tmp" "$CACHE/initrd.gz"
rm -rf "$S" "$T"
echo "$KEY" >"$CACHE/base.key"
size() { stat -c %s "$CACHE/$1"; }
log "done in $(elapsed) s: vmlinuz $(size vmlinuz) B, core.gz $(size core.gz) B," \
    "textual.gz $(size textual.gz) B, initrd.gz $(size initrd.gz) B"
