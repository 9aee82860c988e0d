"""The real-kernel tier: one boot of the emulated arm64 machine (tools/arm64vm/, Debian's Linux
6.1 KVM under QEMU TCG; tier.py, shared with test_agent_uart.py) runs
tools/arm64vm/differential.py, which drives the real /dev/kvm
through the kvm backend -- the Session, `realmtui batch`, the CLI, the app -- and the simulated
kernel through the same code, and sends back one JSON report and a screenshot. Everything is
judged here, host-side.

REALMTUI_ARM64_TIER=required (set by .ci/run): the machine must build and boot, or the tier
fails. Unset: the tier is skipped only when qemu-system-aarch64 is missing.
REALMTUI_UPDATE_SCREENSHOTS=1 writes screenshots/real-arm64-kvm.svg;
REALMTUI_UPDATE_ARM64_REPORT=1 refreshes tests/arm64/data/real-linux-6.1.json.gz.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from backends import abi, guests
from backends.machine import DEMO_X0
from tests.arm64.compare import check, differences
from tests.arm64.known_differences import KNOWN
from tests.arm64.tier import Tier
from tools.arm64vm.differential import C_GUEST_SCRIPT, MMIO_DATA

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "screenshots" / "real-arm64-kvm.svg"
SCRIPT_BUDGET_S = 200  # the guest script alone: ~40 s measured, TCG hosts vary


def _demo(tier: Tier, name: str) -> dict[str, Any]:
    demo = tier.report["real"]["demos"][name]
    assert "error" not in demo, demo.get("error")
    return demo


# --- the kvm backend on the real kernel -----------------------------------------------------


def test_the_guest_is_an_arm64_kvm_host(tier: Tier) -> None:
    host = tier.report["host"]
    assert host["machine"] == "aarch64" and host["kernel"].startswith("6.1.")
    assert host["caps"]["KVM_CAP_ARM_VM_IPA_SIZE"] >= 32
    assert host["preferred_target"] == abi.KVM_ARM_TARGET_GENERIC_V8


@pytest.mark.parametrize("name", ["base", "pmu", "sve"])
def test_the_normal_demo_runs_on_the_real_kernel(tier: Tier, name: str) -> None:
    """Through the Session: N1 writes x0, N2 reads what the VMM supplies, N3 writes it back,
    N4 is PSCI SYSTEM_OFF; the Session then refuses to enter KVM_RUN again."""
    demo = _demo(tier, name)
    snaps = demo["snapshots"]
    exits = [s["exit"] for s in snaps[1:]]
    assert [e["reason"] for e in exits] == ["MMIO", "MMIO", "MMIO", "SYSTEM_EVENT"]
    uart = f"0x{guests.NORMAL_UART_IPA:x}"
    assert [(e["addr"], e["len"], e["is_write"]) for e in exits[:3]] == [
        (uart, 8, True), (uart, 8, False), (uart, 8, True)
    ]
    assert int(exits[0]["data"], 16) == DEMO_X0
    assert int(exits[2]["data"], 16) == MMIO_DATA  # the MMIO data reached the guest's x1
    assert exits[3]["type"] == "SHUTDOWN"
    assert demo["stage"] == "off" and not demo["after_off"]["ok"]
    pc = f"0x{abi.KVM_REG_ARM64 | abi.KVM_REG_SIZE_U64 | abi.KVM_REG_ARM_CORE | 0x40:016x}"
    steps = {s.name: s for s in guests.NORMAL_DEMO.steps}
    # MMIO exits stop on the access; the HVC exit returns after it.
    want = [steps["E1"].exit_pc, steps["E2"].exit_pc, steps["E3"].exit_pc,
            steps["E4"].exit_pc + 4]
    assert [int(s["values"][pc], 16) for s in snaps[1:]] == want


@pytest.mark.parametrize("name", ["base", "pmu", "sve"])
def test_every_listed_register_round_trips_on_the_real_kernel(tier: Tier, name: str) -> None:
    """GET of every listed register, SET of the value read: all accepted, but SVE_VLS once
    SVE is finalized (EPERM, the get-reg-list selftest's rejects_set)."""
    config = tier.report["real"]["configs"][name]
    assert len(config["ids"]) == len(set(config["ids"])) > 200
    refused = {rid: row for rid, row in config["regs"].items()
               if row["get"].startswith("!") or row["set"] != "ok"}
    vls = f"0x{abi.KVM_REG_ARM64_SVE_VLS:016x}"
    expected = {vls: {"get": refused[vls]["get"], "set": "EPERM"}} if name == "sve" else {}
    assert refused == expected


def test_batch_drives_the_real_kernel(tier: Tier) -> None:
    batch = tier.report["batch"]
    assert batch["rc"] == 0 and "Traceback" not in batch["stderr"], batch["stderr"]
    answers = [json.loads(line) for line in batch["stdout"].splitlines()]
    by_command: dict[str, list[dict[str, Any]]] = {}
    for a in answers:
        by_command.setdefault(a["command"], []).append(a)
    assert by_command["state"][0]["backend"] == "kvm"
    gets = {a["reg"]: a for a in by_command["get"]}
    assert int(gets["x0"]["value"], 16) == DEMO_X0
    assert int(gets["pc"]["value"], 16) == guests.NORMAL_DEMO.entry
    assert int(gets["x2"]["value"], 16) == 0x1234  # the set before it went through
    assert gets["MIDR_EL1"]["access"] == "read-only"
    sets = {a["reg"]: a for a in by_command["set"]}
    assert sets["x2"]["ok"] and sets["sp"]["ok"] and sets["sp"]["agrees"]
    runs = by_command["run"]
    reasons = [r["exit"]["reason"] if r["ok"] else "refused" for r in runs]
    # the third run is refused by the Session: the MMIO read's data has not been given yet
    assert reasons == ["MMIO", "MMIO", "refused", "MMIO", "SYSTEM_EVENT", "refused"]
    assert "mmio VALUE" in runs[2]["error"]
    assert int(runs[3]["exit"]["data"], 16) == MMIO_DATA
    assert by_command["mmio"][0]["ok"]
    assert by_command["state"][-1]["stage"] == "off"


def test_asking_for_a_realm_on_a_kernel_without_cca_says_so(tier: Tier) -> None:
    refusals = tier.report["realm_refusals"]
    # Every series' realm VM type is refused: v14's is bit 30, v9-v13's bits 11:8.
    assert any("the v14 type, 0x40000000" in a["stderr"] for a in refusals), refusals
    assert any("the v12 type, 0x100" in a["stderr"] for a in refusals), refusals
    for answer in refusals:
        assert answer["rc"] == 3, answer
        assert "this kernel has no realm support" in answer["stderr"], answer["stderr"]
        assert "KVM_CREATE_VM" in answer["stderr"] and "EINVAL" in answer["stderr"]
        assert "Traceback" not in answer["stderr"]
        assert answer["stdout"] == ""


def test_the_sim_differs_from_the_real_kernel_only_as_the_table_says(tier: Tier) -> None:
    (tier.out / "differences.txt").write_text(
        "\n".join(str(d) for d in differences(tier.report)) + "\n"
    )
    verdict = check(differences(tier.report), KNOWN)
    assert verdict.ok, verdict.explain()


def test_the_c_guest_runs_on_the_real_kernel_as_on_the_sim(tier: Tier) -> None:
    """`realmtui batch --backend kvm --vm normal --guest` with the C guest (MMU on, its own
    vector, an SMC, PSCI SYSTEM_OFF): the real vCPU's exits are the sim's, exit by exit."""
    real = tier.report.get("c_guest")
    if real is None or tier.c_guest is None:
        pytest.skip("no C guest: aarch64-linux-gnu-gcc is not installed on this host")
    assert real["rc"] == 0, real
    sim = subprocess.run(
        [sys.executable, "-m", "realmtui", "batch", "--vm", "normal", "--guest",
         str(tier.c_guest)],
        input=C_GUEST_SCRIPT, capture_output=True, text=True, timeout=120, cwd=REPO,
    )

    def exits(stdout: str) -> list[dict[str, Any]]:
        answers = [json.loads(line) for line in stdout.splitlines()]
        return [a["exit"] for a in answers if a.get("command") == "run" and a.get("ok")]

    real_exits = exits(real["stdout"])
    uart = [int(e["data"], 16) for e in real_exits if e["reason"] == "MMIO"]
    assert uart[0] == 1, real_exits  # the guest's MMU is on
    assert (uart[1] >> 26) == 0x15 and uart[1] & 0xFFFF == 0x42  # its vector took the SVC
    assert uart[2] == (1 << 64) - 1  # RSI_VERSION: KVM knows no RSI
    assert real_exits[-1]["reason"] == "SYSTEM_EVENT", real_exits  # PSCI SYSTEM_OFF by HVC
    assert exits(sim.stdout) == real_exits


def test_the_guest_script_stays_within_budget(tier: Tier) -> None:
    assert tier.report["timings"]["script_s"] < SCRIPT_BUDGET_S, tier.report["timings"]


# --- the app on the real vCPU ---------------------------------------------------------------


def test_the_app_draws_a_real_arm64_vcpu(tier: Tier) -> None:
    shot = tier.report["screenshot"]
    if not (REPO / "realmtui" / "app.py").exists():
        pytest.skip(f"realmtui/app.py is not there yet: {shot.get('stderr', '')}")
    assert tier.svg is not None, f"no screenshot: {shot}"
    root = ET.fromstring(tier.svg)  # well-formed XML
    assert root.tag.endswith("svg")
    text = unescape("".join(root.itertext())).replace("\xa0", " ")
    assert "initialised" in text and "KVM_EXIT_MMIO" in text  # stage, and the first exit
    # The grid shows what the real vCPU reported at that exit, next to the register's name:
    # x0 as the VMM set it, x20 the UART address the guest loaded, pc still on the store.
    for name, value in (("x0", DEMO_X0), ("x20", guests.NORMAL_UART_IPA),
                        ("pc", guests.NORMAL_DEMO.steps[0].exit_pc)):
        assert re.search(rf"{name}\s*0x{value:016x}", text), f"{name} = 0x{value:x}: {text}"
    if os.environ.get("REALMTUI_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        SCREENSHOT.write_bytes(tier.svg)
