"""What KVM does with a normal vCPU's exit (arch/arm64/kvm/handle_exit.c handle_exit and the
arm_exit_handlers): data aborts to mmio.c, HVC and SMC to hypercalls.c."""

from __future__ import annotations

from typing import TYPE_CHECKING

from backends import abi
from backends.arch import MASK64
from backends.sim.cpu import Trap, TrapKind
from backends.sim.kvm import hypercalls, mmio
from backends.sim.syndrome import esr_imm16

if TYPE_CHECKING:
    from backends.sim.kvm.arm import SimVcpu


def handle_exit(vcpu: SimVcpu, trap: Trap) -> int:
    """1 to re-enter the guest, 0 to return to the VMM."""
    vcpu.fault_esr = trap.esr
    match trap.kind:
        case TrapKind.BUDGET:
            return 1
        case TrapKind.DATA_ABORT:
            return mmio.io_mem_abort(vcpu, trap.ipa, trap.esr)  # HPFAR_EL2 | FAR_EL2[11:0]
        case TrapKind.HVC:
            return hypercalls.call_handler(vcpu, trap.esr)
        case TrapKind.SMC:
            vcpu.regs.pc = (vcpu.regs.pc + 4) & MASK64  # handle_smc: kvm_incr_pc first
            if esr_imm16(trap.esr):
                vcpu.regs.set_x(0, MASK64)
                return 1
            return hypercalls.call_handler(vcpu, trap.esr)
    # An instruction the sim's CPU does not know, or a fetch from nowhere. Real KVM would
    # inject an exception into the guest; the sim stops it and says where.
    internal_error(vcpu, trap.pc, trap.insn)
    return 0


def internal_error(vcpu: SimVcpu, pc: int, insn: int) -> None:
    """KVM_EXIT_INTERNAL_ERROR naming where the sim's CPU stopped (not a real kernel's exit)."""
    run = vcpu.run
    run.exit_reason = abi.KVM_EXIT_INTERNAL_ERROR
    run.internal.suberror = abi.KVM_INTERNAL_ERROR_EMULATION
    run.internal.ndata = 2
    run.internal.data[0] = pc
    run.internal.data[1] = insn
