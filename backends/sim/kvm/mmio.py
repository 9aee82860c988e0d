"""MMIO emulation: the abort KVM hands to the VMM, and its completion at the next KVM_RUN.

arch/arm64/kvm/mmio.c io_mem_abort and kvm_handle_mmio_return, one of each, with the REC
branches of [PATCH v9 18/43] "KVM: arm64: Handle realm MMIO emulation": a realm's abort
without a syndrome injects an SEA (kvm_inject_dabt sets REC_ENTER_FLAG_INJECT_SEA); a
completed read goes to rec_enter.gprs[0], not to KVM's registers; and EMULATED_MMIO tells the
RMM to step over the access instead of kvm_incr_pc.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backends import abi
from backends.abi import ffi
from backends.arch import MASK64
from backends.sim.errno_ import errno, fail
from backends.sim.rmm.smc_rmi import REC_ENTER_FLAG_EMULATED_MMIO, REC_ENTER_FLAG_INJECT_SEA
from backends.sim.syndrome import esr_isv, esr_sas_bytes, esr_sf, esr_srt, esr_sse, esr_wnr

if TYPE_CHECKING:
    from backends.sim.kvm.arm import SimVcpu


def io_mem_abort(vcpu: SimVcpu, ipa: int, esr: int) -> int:
    """An access outside every memslot: 0 with KVM_EXIT_MMIO for the VMM, 1 to re-enter."""
    if not esr_isv(esr):
        if vcpu.rec is not None:
            # kvm_inject_dabt on a REC: only a flag for the next REC_ENTER, and re-enter.
            vcpu.rec.run.enter.flags |= REC_ENTER_FLAG_INJECT_SEA
            return 1
        raise fail(errno.ENOSYS)  # no syndrome and no KVM_CAP_ARM_NISV_TO_USER
    size = esr_sas_bytes(esr)
    run = vcpu.run
    if esr_wnr(esr):
        # For a REC, rec_exit_sync_dabt has put the RMM's gprs[0] into x[SRT] (SRT is 0).
        rt = esr_srt(esr)
        value = 0 if rt == 31 else vcpu.regs.x(rt)
        ffi.memmove(run.mmio.data, (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little"),
                    size)
    run.mmio.is_write = int(esr_wnr(esr))
    run.mmio.phys_addr = ipa
    run.mmio.len = size
    run.exit_reason = abi.KVM_EXIT_MMIO
    vcpu.mmio_needed = True
    return 0


def handle_mmio_return(vcpu: SimVcpu) -> None:
    """Finish the access the VMM has emulated (called by KVM_RUN after a KVM_EXIT_MMIO)."""
    if not vcpu.mmio_needed:
        return
    vcpu.mmio_needed = False
    esr = vcpu.fault_esr
    if not esr_wnr(esr):
        size = esr_sas_bytes(esr)
        data = int.from_bytes(bytes(vcpu.run.mmio.data)[:size], "little")
        if esr_sse(esr) and size < 8 and data >> (8 * size - 1):
            data = (data - (1 << (8 * size))) & MASK64
        if not esr_sf(esr):
            data &= 0xFFFF_FFFF
        if vcpu.rec is not None:
            vcpu.rec.run.enter.gprs[0] = data
        elif (rt := esr_srt(esr)) != 31:
            vcpu.regs.set_x(rt, data)
    if vcpu.rec is not None:
        vcpu.rec.run.enter.flags |= REC_ENTER_FLAG_EMULATED_MMIO
    else:
        vcpu.regs.pc = (vcpu.regs.pc + 4) & MASK64  # kvm_incr_pc: A64 instructions are 4 bytes
