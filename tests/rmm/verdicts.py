"""What the probe realm's exits say about each register, next to what the rules predict.

For every stage (before REC creation, then after each exit kind the realm demo produces) and
every x0-x30 and pc: did the guest see the host's distinctive value (`seen`), and does
realmtui/rules.py call a KVM_SET_ONE_REG of that register at that point effective?
"""

from __future__ import annotations

from dataclasses import dataclass

from backends import guests
from realmtui import rules
from realmtui.context import ExitCause, Profile, RealmState, VcpuContext, VmKind
from realmtui.regs import PC, describe, x_id
from realmtui.verdict import Access
from tests.rmm.cases import ProbePoint, distinctive, probe_points

STAGE_EXIT = {
    "mmio-write": ExitCause.MMIO_WRITE,
    "mmio-read": ExitCause.MMIO_READ,
    "host-call": ExitCause.HOST_CALL,
    "ripas-change": ExitCause.RIPAS_CHANGE,
    "psci": ExitCause.PSCI,
}


def context(stage: str, profile: Profile) -> VcpuContext:
    if stage == "create":
        return VcpuContext(VmKind.REALM, profile, RealmState.NEW, rec_created=False)
    return VcpuContext(VmKind.REALM, profile, RealmState.ACTIVE, rec_created=True,
                       last_exit=STAGE_EXIT[stage], has_run=True)


@dataclass(frozen=True)
class Observation:
    stage: str
    register: str
    seen: bool  # the guest saw the host's value
    evidence: str


def observe(exits: dict[int, dict]) -> list[Observation]:
    """`exits`: the probe realm's exit records by number, from either RMM."""
    out: list[Observation] = []
    points = probe_points()
    for p in points:
        out += _registers(p, exits)
        out.append(_pc(p, exits))
    return out


def _registers(p: ProbePoint, exits: dict[int, dict]) -> list[Observation]:
    report = exits[p.struct_report if p.struct_report is not None else p.report]
    where = "its host-call struct" if p.struct_report is not None else "its registers"
    obs = []
    for n in range(31):
        want = distinctive(p.stage, n)
        got = report["gprs"][n]
        evidence = f"{where} held {got:#x} at exit {report['n']} (host wrote {want:#x})"
        obs.append(Observation(p.stage.name, f"x{n}", got == want, evidence))
    return obs


def _pc(p: ProbePoint, exits: dict[int, dict]) -> Observation:
    """pc has no field in rec_enter: after REC creation the host cannot hand one over. Before,
    it goes into rec_params; the realm ran from there if its first exit is the entry's report
    and not the PSCI SYSTEM_OFF at the image base."""
    report = exits[p.report]
    imm_ok = report["reason"] == 5 and report["imm"] == p.stage.code
    if p.stage.name == "create":
        return Observation("create", "pc", imm_ok,
                           f"first exit: reason {report['reason']}, imm {report['imm']:#x}")
    return Observation(p.stage.name, "pc", False,
                       "rec_enter has no pc; the guest went on after the exiting instruction"
                       if imm_ok else "the guest did not resume where it left off")


def mismatches(observations: list[Observation]) -> list[str]:
    """Observations that disagree with the rules, for every profile the rules know."""
    bad = []
    for o in observations:
        reg = describe(PC if o.register == "pc" else x_id(int(o.register[1:])))
        for profile in Profile:
            v = rules.verdict(reg, context(o.stage, profile))
            if v.access not in (Access.EFFECTIVE, Access.IGNORED):
                bad.append(f"{profile} {o.stage} {o.register}: the rules say {v.access}")
            elif (v.access is Access.EFFECTIVE) != o.seen:
                bad.append(f"{profile} after {o.stage}: {o.register} rules {v.access.value}, "
                           f"guest {'saw' if o.seen else 'did not see'} it ({o.evidence})")
    return bad


def probe_exits(records: list[dict], realm: int) -> dict[int, dict]:
    return {r["n"]: r for r in records
            if r["t"] == "exit" and r.get("realm") == realm and r.get("ret") == 0}


def resumed_in_order(exits: dict[int, dict]) -> list[str]:
    """Every report came from the stage it names, in the program's order."""
    bad = []
    for p in probe_points():
        r = exits.get(p.report)
        if r is None or r["reason"] != 5 or r["imm"] != p.stage.code:
            bad.append(f"exit {p.report} should be the report of {p.stage.name}")
    s = next((p.struct_report for p in probe_points() if p.struct_report is not None), None)
    if s is not None and exits.get(s, {}).get("imm") != guests.PROBE_STRUCT_REPORT_IMM:
        bad.append(f"exit {s} should be the host-call struct's report")
    return bad
