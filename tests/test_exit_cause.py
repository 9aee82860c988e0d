"""Corrections 11: a realm's exit cause is the RMM's exit reason, not the function id, and a
KVM_RUN that fails before entering the REC leaves the previous cause in force."""

from __future__ import annotations

from backends import a64, guests
from backends.exits import MmioExit
from backends.smccc import RSI_HOST_CALL
from realmtui.context import ExitCause, VmKind
from realmtui.session import Session, SessionConfig, Stage

PSCI_CPU_SUSPEND = 0x8400_0001


def _host_call_carrying_a_psci_id(then_spin: bool = False) -> guests.Program:
    """Puts a PSCI function id in the host-call struct's gprs[0], makes the host call, then
    writes the struct's gprs[5] (as the host returned it) to the UART -- or spins."""
    asm = a64.Assembler(guests.REALM_RAM_BASE)
    x = a64.X
    asm.emit(*a64.mov_imm(x[20], guests.REALM_UART_IPA))
    asm.emit(*a64.mov_imm(x[1], guests.HOSTCALL_IPA))
    asm.emit(*a64.mov_imm(x[9], PSCI_CPU_SUSPEND))
    asm.emit(a64.str_(x[9], x[1], guests.HOSTCALL_GPRS_OFFSET))
    asm.emit(*a64.mov_imm(x[0], RSI_HOST_CALL))
    asm.emit(a64.smc(0))
    if not then_spin:
        asm.emit(a64.ldr(x[9], x[1], guests.HOSTCALL_GPRS_OFFSET + 8 * 5))
        asm.emit(a64.str_(x[9], x[20]))
    asm.label("end")
    asm.b("end")
    built = asm.assemble()
    image = built.image.ljust(0x2000, b"\0")
    return guests.Program("psci-id host call", built.base, built.base, image,
                          tuple(built.lines), ())


def _session(then_spin: bool = False) -> Session:
    return Session(SessionConfig(
        vm=VmKind.REALM, start=Stage.ACTIVE, program=_host_call_carrying_a_psci_id(then_spin),
        forward_fids=(PSCI_CPU_SUSPEND,),
    ))


def test_a_host_call_whose_gprs0_is_a_psci_id_is_still_a_host_call() -> None:
    s = _session()
    out = s.run()
    assert out.ok and out.exit is not None and out.exit.exit.name == "HYPERCALL"
    assert out.exit.cause is ExitCause.HOST_CALL
    assert out.exit.rmi_reason == "RMI_EXIT_HOST_CALL"
    x5 = s.set("x5", 0xFEED_F00D)
    assert x5.ok and x5.verdict is not None and str(x5.verdict.access) == "effective"
    nxt = s.run()
    assert isinstance(nxt.exit.exit, MmioExit) and nxt.exit.exit.data == 0xFEED_F00D  # type: ignore[union-attr]


def test_eintr_before_entry_keeps_the_previous_cause() -> None:
    from backends import abi

    s = _session()
    s.run()
    s.vcpu.set_mp_state(abi.KVM_MP_STATE_STOPPED)  # KVM_RUN sleeps, a signal ends it
    out = s.run()
    assert not out.ok and out.errno == "EINTR"
    assert s.context.last_exit is ExitCause.HOST_CALL


def test_eintr_after_the_rec_ran_ends_the_host_calls_effect() -> None:
    s = _session(then_spin=True)
    s.run()
    out = s.run()  # the guest spins: interrupt exits until KVM_RUN gives up with EINTR
    assert not out.ok and out.errno == "EINTR"
    assert s.context.last_exit is ExitCause.OTHER
    x5 = s.set("x5", 1)
    assert x5.verdict is not None and str(x5.verdict.access) == "ignored"
