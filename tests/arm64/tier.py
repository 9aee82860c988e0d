"""The real-kernel tier's one boot, shared by every test of tests/arm64 (conftest.py's `tier`
fixture): the emulated arm64 machine runs tools/arm64vm/differential.py and sends back its
report and a screenshot; then, over the machine's second UART, it serves `realmtui agent`
while this host walks its real KVM through the agent (agent_walk.py).

REALMTUI_ARM64_TIER=required (set by .ci/run): the machine must build and boot, or the tier
fails. Unset: the tier is skipped only when qemu-system-aarch64 is missing.
REALMTUI_UPDATE_ARM64_REPORT=1 refreshes tests/arm64/data/real-linux-6.1.json.gz.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.arm64 import saved
from tests.arm64.agent_walk import GUEST_FILE, AgentWalk

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tools" / "arm64vm" / "differential.py"
SCREENSHOT_SCRIPT = REPO / "tools" / "arm64vm" / "kvm_screenshot.py"
# QEMU, boot, script and the agent's walk; a run takes ~50 s + ~30 s on a 2-vCPU CI-class host
BOOT_TIMEOUT_S = 480


@dataclass
class Tier:
    report: dict[str, Any]
    svg: bytes | None
    wall_s: float  # build check + boot + script, as the tier's own cost
    out: Path
    agent: dict[str, Any] = field(default_factory=dict)  # what the walk through the agent saw
    stdout: list[str] = field(default_factory=list)  # the guest script's output lines
    c_guest: Path | None = None  # the raw C guest the guest script ran, when built


def _c_guest_image(out: Path) -> list[Path]:
    """tests/cguest as a raw image for the guest script (it has no pyelftools to read an
    ELF); none without Debian's cross compiler (.ci/run installs it)."""
    if shutil.which("aarch64-linux-gnu-gcc") is None:
        return []
    from tests.test_cpu import build_c_guest
    from tools.arm64vm.differential import C_GUEST

    raw = out / C_GUEST
    subprocess.run(["aarch64-linux-gnu-objcopy", "-O", "binary", str(build_c_guest(out)),
                    str(raw)], check=True, capture_output=True)
    return [raw]


def boot(out: Path) -> Tier:
    required = os.environ.get("REALMTUI_ARM64_TIER") == "required"
    if not required and shutil.which("qemu-system-aarch64") is None:
        pytest.skip(
            "the real-kernel tier needs qemu-system-aarch64 (Debian: qemu-system-arm); "
            "REALMTUI_ARM64_TIER=required makes tools/arm64vm/build.sh install it"
        )
    from tools.arm64vm.run import boot_and_run

    t0 = time.monotonic()
    c_guest = _c_guest_image(Path(tempfile.mkdtemp(prefix="rtui-cguest-", dir=out)))
    # A short path: a Unix socket's name must fit in 108 bytes.
    with tempfile.TemporaryDirectory(prefix="rtui-uart-") as tmp:
        walk = AgentWalk(Path(tmp))
        try:
            run = boot_and_run(SCRIPT, include=[SCREENSHOT_SCRIPT, GUEST_FILE, *c_guest],
                               textual=True,
                               timeout=BOOT_TIMEOUT_S, out_dir=out, stream=walk.stream,
                               second_uart=walk.socket)
        except (subprocess.CalledProcessError, OSError, ValueError) as e:
            detail = getattr(e, "output", "") or ""
            pytest.fail(f"the emulated arm64 machine could not be built or booted: {e}\n"
                        f"{detail}")
        walk.join()
    wall = time.monotonic() - t0
    if not run.ok or "differential.json" not in run.files:
        pytest.fail(f"the tier's guest script failed: {run.reason}\n{run.tail(60)}")
    # The guest observes the real kernel; the sim, built from the same host facts, runs here.
    report = saved.with_sim(json.loads(run.files["differential.json"]))
    print(f"\narm64 tier: {wall:.1f} s in all, QEMU {run.wall_s:.1f} s, guest script "
          f"{report['timings']['script_s']} s ({report['timings']}), the walk through the "
          f"agent {walk.result.get('walk_s')} s; files in {out}")
    if os.environ.get("REALMTUI_UPDATE_ARM64_REPORT") == "1":
        saved.save_real(report)
    return Tier(report, run.files.get("real-arm64-kvm.svg"), wall, out, walk.result,
                list(run.stdout), c_guest[0] if c_guest else None)
