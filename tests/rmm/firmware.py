"""The real RMM: build tools/rmmhost, hand it to TF-A as BL33 and boot QEMU with emulated RME.

The firmware is ../shared/rmm-firmware (TF-A + TF-RMM builds for QEMU `virt`; its README has
their provenance and the command line below). BL33 comes in over semihosting: the
`qemu_fw_nobl33.bios` images carry no BL33, so TF-A's BL2 loads `bl33.bin` from QEMU's working
directory -- a scratch directory per boot, and the shared folder stays untouched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.rmm.scenario import RMI_ABI_1_0, RMI_ABI_2_0, SCENARIO_OFFSET, RealmScenario, pack

REPO = Path(__file__).resolve().parents[2]
HOST_SRC = REPO / "tools" / "rmmhost"
FIRMWARE = Path(os.environ.get("REALMTUI_RMM_FIRMWARE", REPO.parent / "shared" / "rmm-firmware"))
QEMU = os.environ.get("REALMTUI_QEMU", "qemu-system-aarch64")
MIN_QEMU = (8, 2)  # the first QEMU with -cpu max,x-rme=on
CROSS_GCC = "aarch64-linux-gnu-gcc"
PREFIX = "@rmmhost "
BOOT_TIMEOUT_S = 60

# ../shared/rmm-firmware/README.md, "Canonical command line": lpa2=on for RMM 1.0 (TF-RMM
# <= v0.8.0 hangs in warm boot without it), -m 3G so the RMM's DRAM bank is all RAM.
QEMU_ARGS = [
    "-M", "virt,virtualization=on,secure=on,gic-version=3,acpi=off",
    "-cpu", "max,x-rme=on,lpa2=on,sme=off,pauth-impdef=on",
    "-m", "3G", "-smp", "1", "-nodefaults", "-nographic", "-serial", "mon:stdio",
    "-semihosting-config", "enable=on,target=native",
]

# The images of the tier, and the RMI ABI the host speaks to each.
RMM_1_0 = ("rmm-1.0", "rmm-1.0-tf-rmm-v0.8.0")
RMM_2_0 = ("rmm-2.0",)
RMI_ABI = {"rmm-1.0": RMI_ABI_1_0, "rmm-1.0-tf-rmm-v0.8.0": RMI_ABI_1_0, "rmm-2.0": RMI_ABI_2_0}


def qemu_version() -> tuple[int, int] | None:
    path = shutil.which(QEMU)
    if path is None:
        return None
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout
    m = re.search(r"version (\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else None


def missing() -> str:
    """What this machine lacks for the tier, in one line; empty when it has everything."""
    ver = qemu_version()
    if ver is None:
        return f"{QEMU} is not installed (Debian: qemu-system-arm from bookworm-backports)"
    if ver < MIN_QEMU:
        return (f"{QEMU} is QEMU {ver[0]}.{ver[1]}; emulated RME (x-rme) needs >= 8.2 "
                "(Debian: qemu-system-arm from bookworm-backports)")
    if shutil.which(CROSS_GCC) is None:
        return f"{CROSS_GCC} is not installed (Debian: gcc-aarch64-linux-gnu)"
    if shutil.which("make") is None:
        return "make is not installed (Debian: make)"
    absent = [d for d in RMM_1_0 + RMM_2_0 if not (FIRMWARE / d / "qemu_fw_nobl33.bios").exists()]
    if absent:
        return f"the RMM firmware is not at {FIRMWARE} ({', '.join(absent)}; REALMTUI_RMM_FIRMWARE)"
    return ""


def build_host(out_dir: Path) -> bytes:
    """make -C tools/rmmhost into out_dir; the host's image, which must end before the blob."""
    out = out_dir / "rmmhost.bin"
    subprocess.run(["make", "-s", "-C", str(HOST_SRC), f"OUT={out}"], check=True,
                   capture_output=True, text=True)
    image = out.read_bytes()
    if len(image) > SCENARIO_OFFSET:
        raise ValueError(f"rmmhost.bin is {len(image)} bytes; the scenario blob starts at "
                         f"{SCENARIO_OFFSET:#x}")
    return image


@dataclass
class Boot:
    image: str
    records: list[dict]
    console: str
    wall_s: float
    returncode: int

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.console.splitlines()[-n:])


def boot(image: str, host: bytes, realms: list[RealmScenario], scratch: Path) -> Boot:
    """One boot of `image` with the host and the whole scenario; the host's JSON records."""
    scratch.mkdir(parents=True, exist_ok=True)
    blob = pack(realms, RMI_ABI[image])
    (scratch / "bl33.bin").write_bytes(host.ljust(SCENARIO_OFFSET, b"\0") + blob)
    bios = FIRMWARE / image / "qemu_fw_nobl33.bios"
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            [QEMU, *QEMU_ARGS, "-bios", str(bios)], cwd=scratch, stdin=subprocess.DEVNULL,
            capture_output=True, timeout=BOOT_TIMEOUT_S, check=False,
        )
        out, returncode = proc.stdout, proc.returncode
    except subprocess.TimeoutExpired as e:  # a hang: keep what the UART said so far
        out, returncode = e.stdout or b"", 124
    wall = time.monotonic() - t0
    console = out.decode(errors="replace")
    (scratch / "console.log").write_text(console)
    return Boot(image, _records(console), console, wall, returncode)


def _records(console: str) -> list[dict]:
    records = []
    for line in console.replace("\r", "").splitlines():
        if line.startswith(PREFIX):
            try:
                records.append(json.loads(line[len(PREFIX):]))
            except json.JSONDecodeError:
                records.append({"t": "garbled", "line": line})
    return records
