"""A GIC CPU interface access the RMM gives the host: the REC exits RMI_EXIT_SYNC with the
syndrome unmodified and a write's value in gprs[0]; a read's value comes back at the next
REC_ENTER in rec_enter.gprs[0] (TF-RMM runtime/core/sysregs.c, runtime/rmi/run.c); KVM moves
the value between that slot and x[Rt] (rec_exit_sys_reg): slot 0 in v9-v13, slot Rt in v14
(cca-uapi-v12-v16.md C13: the v14/TF-RMM conflict for Rt != 0 shows here).

Most tests hand the trap to the RMM with the syndrome the hardware would give, at the RMI
level (RMI_REC_ENTER on the sim's RMM, then KVM's exit handler on what it returned), to reach
reads and XZR; the first runs a realm guest's own MSR through the sim's CPU, which traps it
to EL2 as hardware does."""

from __future__ import annotations

import ctypes

import pytest

from backends.machine import DemoMachine, MachineSpec
from backends.series import SERIES
from backends.sim import RealmSeries, SimHost, SimKernel
from backends.sim import confidential_peek as peek
from backends.sim.cpu import Trap, TrapKind, sysreg_esr
from backends.sim.kvm import rme_exit
from backends.sim.kvm.arm import SimVcpu
from backends.sim.rmm.realm import rec_engine
from backends.sim.rmm.smc_rmi import RmiExit, RmiStatus, rmi_status

EC_SYS64, IL = 0x18 << 26, 1 << 25


def _sysreg_esr(op0: int, op1: int, crn: int, crm: int, op2: int, rt: int, read: bool) -> int:
    return (EC_SYS64 | IL | op0 << 20 | op2 << 17 | op1 << 14 | crn << 10 | rt << 5 | crm << 1
            | int(read))


def msr_sgi1r(rt: int) -> int:
    return _sysreg_esr(3, 0, 12, 11, 5, rt, read=False)  # MSR ICC_SGI1R_EL1, Xt


def mrs_pmr(rt: int) -> int:
    return _sysreg_esr(3, 0, 4, 6, 0, rt, read=True)  # MRS Xt, ICC_PMR_EL1


def _active_vcpu(name: str) -> tuple[DemoMachine, SimVcpu]:
    m = DemoMachine(SimKernel(SimHost(series=RealmSeries(name))),
                    MachineSpec(realm=True, series=SERIES[name]))
    m.build()
    m.create_realm()
    assert m.vcpu is not None
    if SERIES[name].implicit:
        m.vcpu.run()  # the first run activates the realm and creates the REC
    else:
        m.finalize_rec()
        m.activate()
    vcpu = peek._vcpu_of(m.kernel, m.vcpu.fd)
    assert vcpu is not None and vcpu.rec is not None
    return m, vcpu


def _enter(vcpu: SimVcpu, monkeypatch: pytest.MonkeyPatch, trap_esr: int | None) -> int:
    """RMI_REC_ENTER with the REC's CPU stopping at once: at a trap with `trap_esr`, or (None)
    at a host interrupt."""

    class Stopping:
        """The REC's CPU, stopping before its first instruction."""

        def run(self, cpu, memory, budget):  # noqa: ANN001, ANN201, ARG002
            if trap_esr is None:
                return Trap(TrapKind.BUDGET, 0, 0, 0, cpu.pc, 0)
            # The CPU has no kind for an EL2 sysreg trap; the RMM goes by the syndrome.
            return Trap(TrapKind.UNDEFINED, trap_esr, 0, 0, cpu.pc, 0)

    monkeypatch.setattr(_rec(vcpu), "engine", Stopping())
    krec = vcpu.rec
    assert krec is not None and krec.rec_pa is not None
    return vcpu.vm.rmi.rec_enter(krec.rec_pa, krec.run_pa, krec.run)


def _rec(vcpu: SimVcpu):  # noqa: ANN202
    assert vcpu.rec is not None and vcpu.rec.rec_pa is not None
    return vcpu.vm.rmi.rec_at(vcpu.rec.rec_pa)


def _msr(op0: int, op1: int, crn: int, crm: int, op2: int, rt: int) -> int:
    """MSR (register): 1101 0101 0001 o0 op1 CRn CRm op2 Rt (Arm ARM C6.2.230)."""
    return (0xD510_0000 | (op0 - 2) << 19 | op1 << 16 | crn << 12 | crm << 8 | op2 << 5
            | rt)


def _run_from_fresh_cpu(vcpu: SimVcpu, words: list[int]) -> int:
    """Put a tiny guest at the start of the realm's first RAM granule (the RMM's memory) and
    point the REC there on a CPU fresh from reset (MMU off, as after PSCI CPU_ON, so no stale
    translation of what was there). Returns that IPA."""
    rec = _rec(vcpu)
    ram = rec.realm.memory.for_realm().regions()[0]
    data = b"".join(w.to_bytes(4, "little") for w in words)
    ctypes.memmove(ram.host, data, len(data))
    rec.engine = rec_engine()
    rec.cpu.pc = ram.ipa
    return ram.ipa


@pytest.mark.parametrize("name,rt,kvm_sees", [
    ("v9", 1, 0xC0FFEE), ("v14", 0, 0xC0FFEE),
    ("v14", 1, 0),  # v14 reads exit.gprs[1]; the RMM put x1's value in gprs[0]
])
def test_a_realm_guests_msr_sgi1r_traps_and_reaches_the_host(
    name: str, rt: int, kvm_sees: int,
) -> None:
    _m, vcpu = _active_vcpu(name)
    rec = _rec(vcpu)
    msr = _msr(3, 0, 12, 11, 5, rt)  # msr ICC_SGI1R_EL1, x<rt>
    pc = _run_from_fresh_cpu(vcpu, [msr, msr])
    rec.cpu.x[rt] = 0xC0FFEE
    krec = vcpu.rec
    assert krec is not None and krec.rec_pa is not None
    status = vcpu.vm.rmi.rec_enter(krec.rec_pa, krec.run_pa, krec.run)
    exit_ = krec.run.exit
    assert rmi_status(status) == RmiStatus.SUCCESS
    assert exit_.exit_reason == RmiExit.SYNC
    assert exit_.esr == sysreg_esr(msr) == msr_sgi1r(rt)  # EC 0x18, Rt not masked
    assert exit_.gprs[0] == 0xC0FFEE and rec.cpu.pc == pc + 4  # the RMM stepped past it
    vcpu.regs.set_x(rt, 0xDEAD)
    assert rme_exit.handle_rec_exit(vcpu, status) == 1
    assert vcpu.regs.x(rt) == kvm_sees


@pytest.mark.parametrize("name,rt,kvm_sees", [
    ("v9", 0, 0x5EED), ("v9", 5, 0x5EED), ("v14", 0, 0x5EED),
    ("v14", 5, 0),  # v14 reads exit.gprs[5]; the RMM put the value in gprs[0]
])
def test_a_forwarded_write_reaches_kvms_x_rt(
    monkeypatch: pytest.MonkeyPatch, name: str, rt: int, kvm_sees: int,
) -> None:
    _m, vcpu = _active_vcpu(name)
    rec = _rec(vcpu)
    rec.cpu.x[rt] = 0x5EED
    pc = rec.cpu.pc
    esr = msr_sgi1r(rt)
    status = _enter(vcpu, monkeypatch, esr)
    exit_ = vcpu.rec.run.exit  # type: ignore[union-attr]
    assert rmi_status(status) == RmiStatus.SUCCESS
    assert exit_.exit_reason == RmiExit.SYNC and exit_.esr == esr  # Rt not masked
    assert exit_.gprs[0] == 0x5EED and rec.cpu.pc == pc + 4
    vcpu.regs.set_x(rt, 0xDEAD)
    assert rme_exit.handle_rec_exit(vcpu, status) == 1  # KVM emulates it; the guest goes on
    assert vcpu.regs.x(rt) == kvm_sees


@pytest.mark.parametrize("name,rt,guest_reads", [
    ("v9", 3, 0xF0), ("v14", 0, 0xF0),
    ("v14", 3, 0),  # v14 answers in enter.gprs[3]; the RMM takes gprs[0]
])
def test_a_forwarded_read_takes_kvms_value_at_the_next_entry(
    monkeypatch: pytest.MonkeyPatch, name: str, rt: int, guest_reads: int,
) -> None:
    _m, vcpu = _active_vcpu(name)
    vcpu.icc_pmr = 0xF0  # KVM's vGIC priority mask
    rec = _rec(vcpu)
    rec.cpu.x[rt] = 0x1234
    status = _enter(vcpu, monkeypatch, mrs_pmr(rt))
    assert vcpu.rec.run.exit.gprs[0] == 0  # type: ignore[union-attr]  # a read carries none
    assert rme_exit.handle_rec_exit(vcpu, status) == 1
    assert rec.cpu.x[rt] == 0x1234  # nothing reaches the REC before it runs again
    _enter(vcpu, monkeypatch, None)
    assert rec.cpu.x[rt] == guest_reads
    _enter(vcpu, monkeypatch, None)  # completed once: a later entry leaves x[Rt] alone
    assert rec.cpu.x[rt] == guest_reads


def test_an_unforwarded_sysreg_trap_is_not_given_to_the_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _m, vcpu = _active_vcpu("v9")
    # MRS of ID_AA64PFR0_EL1: the RMM answers ID registers itself (handle_id_sysreg_trap),
    # which the sim's CPU does without a trap; here it is not a host exit.
    _enter(vcpu, monkeypatch, _sysreg_esr(3, 0, 0, 4, 0, 1, read=True))
    assert vcpu.rec.run.exit.exit_reason == RmiExit.SIM_UNSUPPORTED  # type: ignore[union-attr]
