#!/usr/bin/env bash
# Rebuild the real-RMM tier's firmware from the upstream tags: TF-RMM and TF-A for QEMU `virt`
# with RME, in the layout tests/rmm reads (REALMTUI_RMM_FIRMWARE=<out>):
#   <out>/rmm-1.0/                TF-A lts-v2.12.14 + TF-RMM rmm-spec-v1.0-rel0
#   <out>/rmm-1.0-tf-rmm-v0.8.0/  TF-A v2.15.0 (RMM_V1_COMPAT=1) + TF-RMM tf-rmm-v0.8.0
#   <out>/rmm-2.0/                TF-A v2.15.0 + TF-RMM tf-rmm-v0.9.0
# each with bl1.bin, fip.bin, qemu_fw.bios and qemu_fw_nobl33.bios (BL33 loaded over
# semihosting, which is how tests/rmm boots).
#
# It never reaches the network: give it a clone of TF-RMM (github.com/TF-RMM/tf-rmm, with the
# three tags below and their submodules' objects) and one of TF-A
# (github.com/ARM-software/arm-trusted-firmware, two tags); a commit or submodule missing from
# them is named, not fetched. Debian packages: gcc-aarch64-linux-gnu, g++-aarch64-linux-gnu,
# cmake, make, git, arm-trusted-firmware-tools (fiptool), python3 with pyelftools >= 0.32
# (TF-RMM's build). About five minutes on two cores. The clones' checkouts are moved.
#
# Not run by the tests or CI. Written from the
# build facts in ../shared/rmm-firmware/README.md (tags, commits, options); the images in that
# folder came out byte-identical from two builds, and SOURCE_DATE_EPOCH pins the dates here the
# same way, but this script itself has not been run where it was written (no network there).
#
# Usage: tools/rmmhost/rebuild-firmware.sh OUT_DIR TF_RMM_CLONE TF_A_CLONE
set -euo pipefail

usage="usage: $0 OUT_DIR TF_RMM_CLONE TF_A_CLONE"
OUT=${1:?$usage}
TF_RMM=$(cd "${2:?$usage}" && pwd)
TF_A=$(cd "${3:?$usage}" && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CROSS_COMPILE=aarch64-linux-gnu-

log() { printf '[rebuild-firmware] %s\n' "$*" >&2; }

checkout() {  # dir tag commit: the pinned commit, from what the clone already holds
    local dir=$1 tag=$2 commit=$3
    git -C "$dir" rev-parse -q --verify "$commit^{commit}" >/dev/null || {
        log "$dir has no $tag ($commit): fetch that tag into the clone first"; exit 1; }
    git -C "$dir" -c advice.detachedHead=false checkout -q "$commit"
}

build_rmm() {  # tag commit -> prints the rmm.img path
    local tag=$1 commit=$2
    checkout "$TF_RMM" "$tag" "$commit"
    (
        cd "$TF_RMM"
        git config submodule.ext/cpputest.update none  # unit tests only
        git submodule update -q --init --no-fetch || {
            log "TF-RMM $tag: a submodule's commit is not in the clone (git submodule update --init there)"
            exit 1; }
        export SOURCE_DATE_EPOCH
        SOURCE_DATE_EPOCH=$(git log -1 --format=%ct HEAD)
        export CFLAGS="-ffile-prefix-map=$PWD=tf-rmm"
        cmake -DRMM_CONFIG=qemu_virt_defcfg -DCMAKE_BUILD_TYPE=Release -DLOG_LEVEL=40 \
            -S . -B "build-$tag" >/dev/null
        make -s -C "build-$tag" -j"$(nproc)" >/dev/null
    ) >&2
    echo "$TF_RMM/build-$tag/Release/rmm.img"
}

build_tfa() {  # tag commit image-name rmm.img extra-make-args...
    local tag=$1 commit=$2 name=$3 rmm=$4
    shift 4
    local dir=$TF_A
    checkout "$dir" "$tag" "$commit"
    # TF-A's fip target wants a BL33; the tier replaces it anyway. The host program will do.
    make -s -C "$HERE" OUT="$WORK/placeholder-bl33.bin"
    (
        cd "$dir"
        export SOURCE_DATE_EPOCH
        SOURCE_DATE_EPOCH=$(git log -1 --format=%ct HEAD)
        make -s PLAT=qemu QEMU_USE_GIC_DRIVER=QEMU_GICV3 "$@" RMM="$rmm" \
            BL33="$WORK/placeholder-bl33.bin" LOG_LEVEL=40 BUILD_BASE="build-$name" \
            -j"$(nproc)" all fip >/dev/null
    )
    local rel=$dir/build-$name/qemu/release dest=$OUT/$name
    mkdir -p "$dest"
    cp "$rel/bl1.bin" "$rel/fip.bin" "$rel/qemu_fw.bios" "$dest/"
    # The no-BL33 image: the same FIP without the non-trusted firmware, at flash offset 0x40000.
    cp "$rel/fip.bin" "$WORK/fip-nobl33.bin"
    fiptool remove --nt-fw "$WORK/fip-nobl33.bin"
    cp "$rel/bl1.bin" "$dest/qemu_fw_nobl33.bios"
    dd if="$WORK/fip-nobl33.bin" of="$dest/qemu_fw_nobl33.bios" bs=64k seek=4 conv=notrunc \
        status=none
    log "$name: $dest"
}

rmm_rel0=$(build_rmm rmm-spec-v1.0-rel0 1870dfee50b4c89272b55c5073aa7ed667edfc1f)
rmm_v08=$(build_rmm tf-rmm-v0.8.0 13a82ef5f3bbe4181c8c73a898b6ccdd61e12dae)
rmm_v09=$(build_rmm tf-rmm-v0.9.0 dd9ec489c09956fa748c847966397fa0aba6b0b2)

# rel0 needs TF-A 2.12's RMM manifest checksum (2.13+ also covers the console name).
build_tfa lts-v2.12.14 10ebfdb8f529f5e1bb9104f5397847ece8b26ea0 rmm-1.0 "$rmm_rel0" ENABLE_RME=1
build_tfa v2.15.0 da738d5eae93af342fdc4995dd3c05acb4c9d757 rmm-1.0-tf-rmm-v0.8.0 "$rmm_v08" \
    ENABLE_FEAT_RME=1 ENABLE_RMM=1 RMM_V1_COMPAT=1
build_tfa v2.15.0 da738d5eae93af342fdc4995dd3c05acb4c9d757 rmm-2.0 "$rmm_v09" \
    ENABLE_FEAT_RME=1 ENABLE_RMM=1
log "done: REALMTUI_RMM_FIRMWARE=$OUT .venv/bin/pytest -q tests/rmm"
