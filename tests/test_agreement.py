"""The rules and the simulated kernel are two independent accounts of the same kernel; they
must agree, for every listed register, at every lifecycle stage and after every kind of exit:

  refused   iff the sim's KVM_SET_ONE_REG of a distinctive value fails;
  effective iff that value reaches the guest: it is in the REC's registers (or, after a host
            call, in the guest's RsiHostCall struct) when the guest next gets to run, or, for a
            realm parameter, in what the realm was created with;
  ignored   iff it is accepted and does not.

The sim's side is read through the simulation-only confidential peek; the rules' side is the
verdict the Session shows at that point.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from backends import abi
from backends.errors import KvmError
from backends.machine import DemoMachine, MachineSpec
from backends.series import SERIES
from backends.sim import RealmSeries, SimHost, SimKernel
from backends.sim import confidential_peek as peek
from backends.vmm import Vcpu
from realmtui import profiles, regs
from realmtui.context import Profile, VmKind
from realmtui.regs import RegClass
from realmtui.session import Session, SessionConfig, Stage
from realmtui.verdict import Access

MMIO_FILL = 0x0F0F  # the data every MMIO read gets in these replays


@dataclass(frozen=True)
class Point:
    stage: Stage
    exits: int  # how many KVM_RUN exits after activation

    @property
    def name(self) -> str:
        return f"after-E{self.exits}" if self.exits else str(self.stage)


POINTS = [
    Point(Stage.REALM_NEW, 0), Point(Stage.REALM_CREATED, 0), Point(Stage.REC_CREATED, 0),
    Point(Stage.ACTIVE, 0), *[Point(Stage.ACTIVE, n) for n in range(1, 10)],
]
ORDER = [Stage.REALM_NEW, Stage.REALM_CREATED, Stage.REC_CREATED, Stage.ACTIVE]


def points(profile: Profile) -> list[Point]:
    """The points a profile's realm passes: from v12 there is no REC-created stage, and the
    realm is active only once it has run (the first KVM_RUN activates it)."""
    if not profiles.info(profile).implicit:
        return POINTS
    return [p for p in POINTS if p.stage is not Stage.REC_CREATED and (
        p.stage is not Stage.ACTIVE or p.exits
    )]


CASES = [(profile, point) for profile in Profile for point in points(profile)]


class Replay:
    """The demo VM driven to a point through the VMM alone, with nothing of the Session."""

    def __init__(self, profile: Profile, spec: MachineSpec) -> None:
        self.kernel = SimKernel(SimHost(series=RealmSeries(profile.value)))
        self.implicit = profiles.info(profile).implicit
        self.m = DemoMachine(self.kernel, replace(spec, series=SERIES[profile.value]))
        self.m.build()
        self.stage = Stage.REALM_NEW
        self.last = None

    @property
    def vcpu(self) -> Vcpu:
        assert self.m.vcpu is not None
        return self.m.vcpu

    def advance_to(self, stage: Stage) -> None:
        if self.implicit:
            # v12 on: populate is the only step; the first KVM_RUN does the rest.
            if self.stage is Stage.REALM_NEW and stage is not Stage.REALM_NEW:
                self.m.create_realm()
                self.stage = Stage.REALM_CREATED
            return
        steps = {
            Stage.REALM_CREATED: self.m.create_realm,
            Stage.REC_CREATED: self.m.finalize_rec,
            Stage.ACTIVE: self.m.activate,
        }
        while ORDER.index(self.stage) < ORDER.index(stage):
            self.stage = ORDER[ORDER.index(self.stage) + 1]
            steps[self.stage]()

    def run(self) -> None:
        """One KVM_RUN, after giving the VMM's side of the previous exit."""
        if self.last is not None:
            if self.last.name == "MMIO" and not self.last.is_write:
                self.vcpu.set_mmio_data(MMIO_FILL)
            if self.last.name == "SYSTEM_EVENT":
                self.vcpu.set_mp_state(abi.KVM_MP_STATE_RUNNABLE)
        try:
            self.last = self.vcpu.run()
        except KvmError:
            self.last = None
        self.stage = Stage.ACTIVE

    def to(self, point: Point) -> Replay:
        self.advance_to(point.stage)
        for _ in range(point.exits):
            self.run()
        return self

    def close(self) -> None:
        self.m.close()


def distinctive(info: regs.RegInfo) -> int:
    """A value nobody else would put there, valid where the register has rules of its own."""
    if info.id == regs.PMCR_EL0:
        return 3 << 11  # N = 3 counters (the host has 6)
    if info.id == regs.ID_AA64DFR0_EL1:
        return 0x1020_5006  # 3 watchpoints: WRPs is the one count KVM lets a VMM lower
    if info.id == regs.SVE_VLS:
        return 0b11  # vector lengths 128 and 256 only (the host offers up to 512)
    tag = 0x5EED_0000_0000_0000 | (info.id & 0xFFFF) << 8 | 0xA5
    value = 0
    for lane in range(max(1, info.size // 8)):
        value |= (tag ^ lane) << (64 * lane)
    return value & ((1 << info.bits) - 1)


def reached_the_guest(rp: Replay, info: regs.RegInfo, value: int) -> bool:
    view = peek.rec_at_last_entry(rp.kernel, rp.vcpu.fd)
    if view is None:
        return False
    rid = info.id
    if rid == regs.PMCR_EL0:
        return (view.regs[rid] >> 11) & 0x1F == (value >> 11) & 0x1F
    if rid == regs.ID_AA64DFR0_EL1:
        # A realm parameter (num_wps), not what the guest reads of DFR0 (Corrections 9).
        return view.realm_params["num_wps"] == ((value >> 20) & 0xF) + 1
    if view.regs.get(rid) == value:
        return True
    delivered = view.host_call_delivered
    if delivered is not None and info.cls is RegClass.CORE and rid & 0xFFFF <= 60:
        return delivered[(rid & 0xFFFF) // 2] == value
    return False


def observe(profile: Profile, spec: MachineSpec, point: Point, info: regs.RegInfo) -> Access:
    """What the kernel actually does with a distinctive write of this register here."""
    rp = Replay(profile, spec).to(point)
    try:
        value = distinctive(info)
        try:
            rp.vcpu.set_reg(info.id, value)
        except KvmError:
            return Access.REFUSED
        # Let the guest run again: finish the lifecycle if need be, then one KVM_RUN.
        was_running = rp.stage is Stage.ACTIVE
        rp.advance_to(Stage.ACTIVE)
        if was_running or point.exits == 0 or rp.stage is not Stage.ACTIVE:
            rp.run()
        return Access.EFFECTIVE if reached_the_guest(rp, info, value) else Access.IGNORED
    finally:
        rp.close()


def session_at(profile: Profile, spec: MachineSpec, point: Point) -> Session:
    start = Stage.REALM_NEW if point.stage is Stage.REALM_NEW else Stage.REALM_CREATED
    s = Session(SessionConfig(vm=VmKind.REALM, profile=profile, pmu=spec.pmu, sve=spec.sve,
                              start=start))
    while s.stage is not point.stage and not (s.profile.implicit and point.exits):
        assert s.advance().ok
    for _ in range(point.exits):
        if s.pending_mmio is not None:
            s.provide_mmio(MMIO_FILL)
        s.run()
    return s


SPECS = {
    "plain": MachineSpec(realm=True),
    "pmu+sve": MachineSpec(realm=True, pmu=True, sve=True),
}


@pytest.mark.parametrize(("profile", "point"), CASES, ids=[f"{p}-{q.name}" for p, q in CASES])
@pytest.mark.parametrize("spec_name", list(SPECS))
def test_rules_agree_with_the_sim(profile: Profile, point: Point, spec_name: str) -> None:
    spec = SPECS[spec_name]
    session = session_at(profile, spec, point)
    rows = session.current.regs
    if spec_name == "pmu+sve":
        # The plain VM covers the core registers; here only what the features add.
        rows = tuple(r for r in rows if r.info.cls is not RegClass.CORE)
    disagreements = []
    for row in rows:
        seen = observe(profile, spec, point, row.info)
        if seen is not row.verdict.access:
            disagreements.append(
                f"{row.info.name}: rules say {row.verdict.access}, the sim does {seen}"
            )
    session.close()
    assert not disagreements, "\n".join(disagreements)


def test_the_replays_cover_every_kind_of_exit() -> None:
    s = session_at(Profile.V9, SPECS["plain"], Point(Stage.ACTIVE, 9))
    assert [e.exit.name for e in s.exits] == [
        "MMIO", "MMIO", "HYPERCALL", "MMIO", "MMIO", "MMIO", "MEMORY_FAULT", "SYSTEM_EVENT",
        "SHUTDOWN",
    ]
    assert {str(e.cause) for e in s.exits} == {
        "mmio-write", "mmio-read", "host-call", "ripas-change", "psci", "shutdown",
    }


def test_the_effect_check_can_tell_effective_from_ignored() -> None:
    """Guard against an oracle that sees everything or nothing."""
    plain = SPECS["plain"]
    created = Point(Stage.REALM_CREATED, 0)
    assert observe(Profile.V9, plain, created, regs.describe(regs.x_id(7))) is Access.EFFECTIVE
    assert observe(Profile.V9, plain, created, regs.describe(regs.x_id(8))) is Access.IGNORED
    assert observe(Profile.V9, plain, created, regs.describe(regs.SP)) is Access.REFUSED
    after_e3 = Point(Stage.ACTIVE, 3)
    assert observe(Profile.V9, plain, after_e3, regs.describe(regs.x_id(30))) is Access.EFFECTIVE
    assert observe(Profile.V9, plain, after_e3, regs.describe(regs.PC)) is Access.IGNORED


# --- normal VMs: writable / read-only --------------------------------------------------------

def _normal_probe(info: regs.RegInfo, current: int) -> int | None:
    """A different value the kernel should take if the register is writable, or None."""
    name = info.name
    if info.id == regs.PSTATE:
        return 0x6000_03C5  # Z and C set, still EL1h
    if info.cls is RegClass.FW:
        return 0x1_0000 if name == "PSCI_VERSION" else current ^ 1
    if info.cls is RegClass.FW_FEAT_BMAP:
        return 0 if current else None  # features can only be taken away
    if info.id == regs.ID_AA64DFR0_EL1:
        return distinctive(info)  # DebugVer may not drop below Armv8 (set_id_aa64dfr0_el1)
    op0, op1, crn, crm, _ = regs.sysreg_fields(info.id)
    if info.cls is RegClass.SYSREG and (op0, op1, crn) == (3, 0, 0) and 1 <= crm <= 7:
        for shift in range(0, 64, 4):  # lower the lowest non-zero feature field
            if (current >> shift) & 0xF:
                return current - (1 << shift)
        return None
    if name == "PMCR_EL0":
        return current ^ 1  # the E bit
    if name in ("CNTV_CTL_EL0", "CNTP_CTL_EL0"):
        return current ^ 0x3  # ENABLE, IMASK; ISTATUS (bit 2) is the timer's state, not stored
    return current ^ (0xA5 if info.bits >= 8 else 1)


@pytest.mark.parametrize("ran", [False, True])
def test_normal_vm_rules_agree_with_the_sim(ran: bool) -> None:
    s = Session(SessionConfig(vm=VmKind.NORMAL, pmu=True, sve=True))
    if ran:
        s.run()
    disagreements = []
    for row in s.current.regs:
        info, current = row.info, row.value
        assert current is not None, info.name
        probe = _normal_probe(info, current)
        s2 = Session(SessionConfig(vm=VmKind.NORMAL, pmu=True, sve=True))
        if ran:
            s2.run()
        vcpu = s2.vcpu
        different = probe if probe is not None else current ^ 1
        try:
            vcpu.set_reg(info.id, different)
            stuck = vcpu.get_reg(info.id) == different
        except (KvmError, ValueError):
            stuck = False
        seen = Access.WRITABLE if stuck else Access.READ_ONLY
        expected = row.verdict.access
        if probe is None and expected is Access.WRITABLE:
            # No valid different value exists (an all-zero ID register): only check that
            # writing the value back is accepted.
            try:
                vcpu.set_reg(info.id, current)
                seen = Access.WRITABLE
            except KvmError:
                seen = Access.READ_ONLY
        if seen is not expected:
            disagreements.append(f"{info.name}: rules say {expected}, the sim does {seen}")
        s2.close()
    s.close()
    assert not disagreements, "\n".join(disagreements)


# --- PSCI: the one case where the kernel comment and TF-RMM disagree --------------------------

def _psci_suspend_program():  # type: ignore[no-untyped-def]
    """A realm guest that makes a PSCI CPU_SUSPEND (which the RMM reports to the host) and
    then writes x0-x6 to the UART. The VMM forwards CPU_SUSPEND to itself with the SMCCC
    filter, so the exit reaches it and the user may write registers before the next run."""
    from backends import a64, guests

    asm = a64.Assembler(guests.REALM_RAM_BASE)
    asm.emit(*a64.mov_imm(a64.X[20], guests.REALM_UART_IPA))
    asm.emit(*a64.mov_imm(a64.X[0], 0xC400_0001))  # PSCI CPU_SUSPEND (SMC64)
    asm.emit(a64.smc(0))
    for n in range(7):
        asm.emit(a64.str_(a64.X[n], a64.X[20]))
    asm.label("end")
    asm.b("end")
    built = asm.assemble()
    image = built.image.ljust(0x1000, b"\0")
    return guests.Program("psci", built.base, built.base, image, tuple(built.lines), ())


def test_after_a_psci_exit_the_gprs_are_ignored_as_the_rules_say() -> None:
    from backends.exits import HypercallExit
    from realmtui.context import ExitCause, RealmState, VcpuContext
    from realmtui.rules import verdict

    spec = MachineSpec(realm=True, program=_psci_suspend_program(), forward_fids=(0xC400_0001,))
    ctx = VcpuContext(vm=VmKind.REALM, realm_state=RealmState.ACTIVE, rec_created=True,
                      last_exit=ExitCause.PSCI, has_run=True)
    for n in range(31):
        info = regs.describe(regs.x_id(n))
        rp = Replay(Profile.V9, spec).to(Point(Stage.ACTIVE, 1))
        assert isinstance(rp.last, HypercallExit) and rp.last.nr == 0xC400_0001
        value = distinctive(info)
        rp.vcpu.set_reg(info.id, value)
        rp.run()
        seen = Access.EFFECTIVE if reached_the_guest(rp, info, value) else Access.IGNORED
        assert seen is verdict(info, ctx).access is Access.IGNORED, info.name
        rp.close()
