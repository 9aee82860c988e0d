"""The UI's side on this x86 host, the ioctls in the emulated arm64 machine: `realmtui agent`
(tools/arm64vm/agent_uart.py) drives the guest's real /dev/kvm over the machine's second UART,
and `realmtui batch --backend agent:…` walks the normal demo through it
(tools/arm64vm/uart_bridge.py joins the UART's socket to the agent: backend's pipes).

One short boot of its own (the core layer only, no Textual); skipped or required as the rest
of the tier (REALMTUI_ARM64_TIER).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from backends import guests
from tests.test_agent import NORMAL_SCRIPT

REPO = Path(__file__).resolve().parents[2]
GUEST = REPO / "tools" / "arm64vm" / "agent_uart.py"
BRIDGE = REPO / "tools" / "arm64vm" / "uart_bridge.py"
READY = "==RTUI-AGENT-READY=="
BOOT_TIMEOUT_S = 420


def _batch(script: str, *args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "realmtui", "batch", *args], input=script, text=True,
        capture_output=True, timeout=300, check=False, cwd=REPO,
        env=os.environ | {"REALMTUI_AGENT_TIMEOUT": "120"},
    )
    return {"answers": [json.loads(line) for line in proc.stdout.splitlines()],
            "stderr": proc.stderr, "status": proc.returncode}


def _walk(backend: str) -> dict[str, Any]:
    out = _batch(NORMAL_SCRIPT, "--vm", "normal", "--backend", backend)
    # The kernel's refusal crosses too: Debian's 6.1 has no realm series.
    out["realm"] = _batch("state\n", "--vm", "realm", "--backend", backend)
    return out


@pytest.fixture(scope="module")
def walked() -> dict[str, Any]:
    required = os.environ.get("REALMTUI_ARM64_TIER") == "required"
    if not required and shutil.which("qemu-system-aarch64") is None:
        pytest.skip("the agent tier needs qemu-system-aarch64 (Debian: qemu-system-arm)")
    from tools.arm64vm.run import boot_and_run

    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="rtui-uart-") as tmp:
        sock = Path(tmp) / "agent.sock"
        backend = f"agent:{shlex.quote(sys.executable)} {shlex.quote(str(BRIDGE))} {sock}"

        def host_side() -> None:
            t0 = time.monotonic()
            result.update(_walk(backend))
            result["walk_s"] = time.monotonic() - t0

        walker = threading.Thread(target=host_side, daemon=True)

        def stream(line: str) -> None:
            if line.strip() == READY and not walker.is_alive() and "answers" not in result:
                walker.start()

        t0 = time.monotonic()
        run = boot_and_run(GUEST, textual=False, timeout=BOOT_TIMEOUT_S, stream=stream,
                           second_uart=sock)
        walker.join(timeout=60)
        result["boot_s"] = time.monotonic() - t0
    if "answers" not in result:
        pytest.fail(f"the agent in the guest never served the walk: {run.reason}\n"
                    f"{run.tail(40)}")
    print(f"\nagent tier: {result['boot_s']:.1f} s in all, the walk {result['walk_s']:.1f} s")
    result["run"] = run
    return result


def test_the_normal_demo_walks_on_arm64_kvm_through_the_agent(walked: dict[str, Any]) -> None:
    answers = walked["answers"]
    assert walked["status"] == 0 and answers, walked["stderr"]
    state = answers[0]
    assert state["ok"] and state["backend"] == "kvm via agent"  # the header's "where"
    runs = [a for a in answers if a["command"] == "run"]
    exits = [a["exit"] for a in runs if a["ok"]]
    assert [e["reason"] for e in exits] == ["MMIO", "MMIO", "MMIO", "SYSTEM_EVENT"]
    uart = f"0x{guests.NORMAL_UART_IPA:x}"
    assert [(e["addr"], e["is_write"]) for e in exits[:3]] == [
        (uart, True), (uart, False), (uart, True)]
    assert int(exits[0]["data"], 16) == 0xABC  # the edit of x0 reached the guest
    assert int(exits[2]["data"], 16) == 0x5A  # the MMIO data crossed both ways
    get_x1 = next(a for a in answers if a["command"] == "get")
    assert int(get_x1["value"], 16) == 0x5A
    assert runs[-1]["ok"] is False  # powered off, as on a local kernel
    # The differential: the sim, locally, takes the same exits at the same steps.
    local = _batch(NORMAL_SCRIPT, "--vm", "normal")["answers"]
    assert [a.get("exit") for a in runs] == [a.get("exit") for a in local
                                             if a["command"] == "run"]


def test_the_real_kernels_refusal_of_a_realm_crosses_the_agent(walked: dict[str, Any]) -> None:
    realm = walked["realm"]
    assert realm["answers"] == [] and realm["status"] == 3
    assert "KVM_CREATE_VM" in realm["stderr"] and "EINVAL" in realm["stderr"]


def test_the_agent_served_in_the_guest_and_stopped(walked: dict[str, Any]) -> None:
    run = walked["run"]
    assert run.ok, run.reason
    assert any(line.startswith("agent: served ") for line in run.stdout)
