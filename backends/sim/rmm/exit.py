"""The REC running and how it stops: the exits the RMM gives the host and the ones it handles
itself (TF-RMM rmm-spec-v1.0-rel0 runtime/core/exit.c handle_realm_exit, handle_data_abort,
and runtime/core/run.c). SMCs go to runtime/rsi (rsi.py)."""

from __future__ import annotations

from backends.sim.cpu import Trap, TrapKind
from backends.sim.rmm import rsi, sysregs
from backends.sim.rmm.realm import Rec
from backends.sim.rmm.smc_rmi import RecExit, RmiExit, RmiStatus, rmi_pack
from backends.sim.syndrome import (
    ESR_EMULATED_ABORT_MASK,
    ESR_NONEMULATED_ABORT_MASK,
    esr_isv,
    esr_sas_bytes,
    esr_srt,
    esr_wnr,
)
from backends.smccc import RIPAS_RAM


def run_rec(rec: Rec, rec_exit: RecExit, budget: int) -> int:
    """Run the REC until something needs the host (runtime/core/exit.c)."""
    while True:
        trap = rec.engine.run(rec.cpu, rec.realm.memory.for_realm(), budget)
        match trap.kind:
            case TrapKind.BUDGET:
                # A host timer interrupt: the REC exits with RMI_EXIT_IRQ.
                rec_exit.exit_reason = RmiExit.IRQ
                return rmi_pack(RmiStatus.SUCCESS)
            case TrapKind.DATA_ABORT:
                if _data_abort(rec, trap, rec_exit):
                    return rmi_pack(RmiStatus.SUCCESS)
            case TrapKind.SMC:
                if rsi.handle_smc(rec, rec_exit):
                    return rmi_pack(RmiStatus.SUCCESS)
            case _ if sysregs.forwarded(trap.esr):
                # An MSR/MRS of a GIC CPU interface register trapped to EL2: the host
                # emulates it (runtime/core/sysregs.c).
                sysregs.forward(rec, trap.esr, rec_exit)
                return rmi_pack(RmiStatus.SUCCESS)
            case _:
                # HVC from a realm is undefined (the RMM injects an undefined-instruction
                # exception); an instruction the sim does not know, or an instruction
                # abort, also ends here.
                return sim_stop(rec, rec_exit, trap.pc, trap.insn, trap)

def _data_abort(rec: Rec, trap: Trap, rec_exit: RecExit) -> bool:
    """handle_data_abort: True if the host must see it (runtime/core/exit.c)."""
    realm = rec.realm
    ipa = trap.ipa  # HPFAR_EL2 with FAR_EL2[11:0]
    rec.last_esr = trap.esr
    if ipa & realm.unprotected_bit:
        # Emulatable: the host gets ISV, SAS, SF and WnR but not SRT or SSE, the FAR's
        # offset within the granule (exit.c: FAR_EL2 & ~GRANULE_MASK, where GRANULE_MASK
        # is ~0xfff; the page comes from HPFAR -- seen on TF-RMM by tests/rmm), and the
        # value of a write in gprs[0].
        rec_exit.exit_reason = RmiExit.SYNC
        rec_exit.esr = trap.esr & ESR_EMULATED_ABORT_MASK
        rec_exit.far = trap.far & 0xFFF
        rec_exit.hpfar = trap.hpfar
        if esr_wnr(trap.esr) and esr_isv(trap.esr):
            srt = esr_srt(trap.esr)
            size = esr_sas_bytes(trap.esr)
            value = 0 if srt == 31 else rec.cpu.x[srt]
            rec_exit.gprs[0] = value & ((1 << (8 * size)) - 1)
        return True
    if realm.memory.ripas_of(ipa) != RIPAS_RAM:
        # A protected IPA with RIPAS EMPTY: the RMM injects an SEA into the realm, with
        # no exit. The sim has no EL1 exception model, so it stops the REC.
        rec.stopped = f"the guest touched protected IPA 0x{ipa:x}, whose RIPAS is EMPTY"
        return sim_stop(rec, rec_exit, trap.pc, trap.insn) is not None
    # Protected RAM the host has not yet backed: the host must map it.
    rec_exit.exit_reason = RmiExit.SYNC
    rec_exit.esr = trap.esr & ESR_NONEMULATED_ABORT_MASK
    rec_exit.hpfar = trap.hpfar
    return True


def sim_stop(rec: Rec, rec_exit: RecExit, pc: int, insn: int, trap: Trap | None = None) -> int:
    """Not an RMM behaviour: the sim's CPU cannot go on (an instruction it does not know, an
    exception it cannot deliver). The REC exits with the sim's own reason, saying where."""
    if not rec.stopped and trap is not None:
        rec.stopped = trap_message(trap)
    rec_exit.exit_reason = RmiExit.SIM_UNSUPPORTED
    rec_exit.gprs[0] = pc
    rec_exit.gprs[1] = insn
    return rmi_pack(RmiStatus.SUCCESS)


def trap_message(trap: Trap) -> str:
    describe = getattr(trap, "describe", None)
    if callable(describe):
        return str(describe())
    return f"{trap.kind} at pc 0x{trap.pc:x} (instruction 0x{trap.insn:08x})"
