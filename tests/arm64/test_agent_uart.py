"""The UI's side on this x86 host, the ioctls in the emulated arm64 machine: in the tier's one
boot (tier.py), once differential.py has sent its report, the machine serves `realmtui agent`
on its real /dev/kvm over its second UART, and this host walks it (agent_walk.py): the
differential's demos through the Session, `realmtui batch --backend agent:…`, a realm refused.
"""

from __future__ import annotations

from typing import Any

from backends import guests
from realmtui.regs import RegClass, describe
from tests.arm64.compare import check, differences
from tests.arm64.known_differences import KNOWN
from tests.arm64.tier import Tier
from tests.test_agent import NORMAL_SCRIPT
from tests.test_agent import _batch as local_batch


def _walked(tier: Tier) -> dict[str, Any]:
    assert tier.agent, "the guest never said it serves the agent (no READY line)"
    assert "error" not in tier.agent, tier.agent["error"]
    return tier.agent


def test_the_normal_demo_walks_on_arm64_kvm_through_the_agent(tier: Tier) -> None:
    walked = _walked(tier)["batch"]
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
    # The sim, locally, takes the same exits at the same steps.
    local, _ = local_batch(NORMAL_SCRIPT, "--vm", "normal")
    assert [a.get("exit") for a in runs] == [a.get("exit") for a in local
                                             if a["command"] == "run"]


def _core(snapshot: dict[str, Any]) -> dict[str, str]:
    """The core registers (x0-x30, sp, pc, pstate, the FP/SIMD state): no counter among them,
    so two runs of the demo agree on every one."""
    return {rid: v for rid, v in snapshot["values"].items()
            if describe(int(rid, 16)).cls is RegClass.CORE}


def test_the_differential_passes_through_the_agent(tier: Tier) -> None:
    """differential.py's demos, driven from x86 through the agent, see what they saw inside
    the machine; and the sim differs from them only as the table of known differences says."""
    demos = _walked(tier)["demos"]
    real = tier.report["real"]["demos"]
    assert "error" not in demos, demos.get("error")
    for name, inside in real.items():
        through = demos[name]
        assert "error" not in through, (name, through["error"])
        assert [s.get("exit") for s in through["snapshots"]] == [
            s.get("exit") for s in inside["snapshots"]], name
        assert [set(s["values"]) for s in through["snapshots"]] == [
            set(s["values"]) for s in inside["snapshots"]], name  # the same register list
        assert [_core(s) for s in through["snapshots"]] == [
            _core(s) for s in inside["snapshots"]], name
        assert (through["runs"], through["stage"], through["after_off"]) == (
            inside["runs"], inside["stage"], inside["after_off"]), name
    via_agent = tier.report | {"real": tier.report["real"] | {
        "demos": {name: demos[name] for name in real}}}
    verdict = check(differences(via_agent), KNOWN)
    assert verdict.ok, verdict.explain()


def test_the_real_kernels_refusal_of_a_realm_crosses_the_agent(tier: Tier) -> None:
    realm = _walked(tier)["realm"]
    assert realm["answers"] == [] and realm["status"] == 3
    # No profile named: the agent detected the series on its own host (backends/detect.py),
    # found none, and said what it tried there.
    err = realm["stderr"]
    assert "cannot open its kvm backend" in err and "no realm support" in err, err
    assert "KVM_CREATE_VM(0x40000000" in err and "EINVAL" in err and "Traceback" not in err


def test_the_agent_served_in_the_guest_and_stopped_at_bye(tier: Tier) -> None:
    assert '"ok":true' in _walked(tier)["bye"], tier.agent["bye"]
    assert any(line.startswith("agent: served ") for line in tier.stdout), tier.stdout[-10:]
