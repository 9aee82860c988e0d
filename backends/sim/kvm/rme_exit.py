"""What KVM does with each REC exit: the registers it takes from rec_exit and the exit it
gives the VMM.

arch/arm64/kvm/rme-exit.c of the v9 series: [PATCH v9 16/43] "arm64: RME: Handle realm
enter/exit" (handle_rec_exit, rec_exit_sync_dabt, rec_exit_psci, rec_exit_host_call,
update_arch_timer_irq_lines), [PATCH v9 17/43] "arm64: RME: Handle RMI_EXIT_RIPAS_CHANGE",
[PATCH v9 20/43] (kvm_gpa_from_fault: the unprotected-IPA bit). MMIO and SMCCC go on through
the same mmio.c and hypercalls.c a normal vCPU uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backends import abi
from backends.sim.errno_ import errno, fail
from backends.sim.kvm import hypercalls, mmio, sys_regs
from backends.sim.kvm.handle_exit import internal_error
from backends.sim.rmm.smc_rmi import REC_RUN_GPRS, RmiExit, RmiStatus, rmi_index, rmi_status
from backends.sim.syndrome import (
    EC_DABT_LOW,
    EC_IABT_LOW,
    EC_SYS64,
    esr_ec,
    esr_isv,
    esr_srt,
    esr_sysreg_is_read,
    esr_sysreg_rt,
    esr_wnr,
)
from backends.smccc import RIPAS_RAM

if TYPE_CHECKING:
    from backends.sim.kvm.arm import SimVcpu


def handle_rec_exit(vcpu: SimVcpu, status: int) -> int:
    """handle_rec_exit: 1 to re-enter, 0 to return to the VMM, or raise the errno."""
    krec = vcpu.rec
    assert krec is not None
    run = vcpu.run
    v14 = vcpu.vm.host.series.at_least("v14")
    if rmi_status(status) == RmiStatus.ERROR_REALM and (v14 or rmi_index(status) == 1):
        # REC_ENTER on a SYSTEM_OFF realm (v9-v13: index 1 only; v14: any ERROR_REALM, O5)
        run.exit_reason = abi.KVM_EXIT_SHUTDOWN
        return 0
    if v14 and rmi_status(status) == RmiStatus.ERROR_REC:
        raise fail(errno.EAGAIN)  # v14: a REC that may not run now (O4, O5)
    if rmi_status(status) != RmiStatus.SUCCESS:
        raise fail(errno.ENXIO)
    exit_ = krec.run.exit
    vcpu.fault_esr = exit_.esr
    _sync_timers(vcpu)
    krec.run.enter.flags = 0
    reason = exit_.exit_reason
    if reason == RmiExit.SYNC:
        return _sync_exit(vcpu)
    if reason in (RmiExit.IRQ, RmiExit.FIQ):
        return 1
    if reason in (RmiExit.PSCI, RmiExit.HOST_CALL):
        # rec_exit_psci / rec_exit_host_call: what the RMM published becomes KVM's x0-x30,
        # then the ordinary SMCCC handler runs on it (esr is 0: no syndrome for these).
        for n in range(REC_RUN_GPRS):
            vcpu.regs.set_x(n, exit_.gprs[n])
        return hypercalls.call_handler(vcpu, exit_.esr)
    if reason == RmiExit.RIPAS_CHANGE:
        return _ripas_change_exit(vcpu)
    if reason == RmiExit.SIM_UNSUPPORTED:
        # Not something a real kernel reports: the sim's CPU stopped the REC. Say where.
        internal_error(vcpu, exit_.gprs[0], exit_.gprs[1])
        return 0
    if reason == RmiExit.SERROR and v14:
        return 1  # v14 re-enters after an SError exit; v9-v13 do not know it (O5)
    run.exit_reason = abi.KVM_EXIT_INTERNAL_ERROR  # SERROR or an unknown reason (kvm_pr_unimpl)
    run.internal.suberror = 0
    run.internal.ndata = 0
    return 0


def _sync_exit(vcpu: SimVcpu) -> int:
    exit_ = vcpu.rec.run.exit  # type: ignore[union-attr]
    ec = esr_ec(exit_.esr)
    if ec == EC_DABT_LOW:
        if esr_wnr(exit_.esr) and esr_isv(exit_.esr):
            # SRT is masked off by the RMM, so this is always x0 (rec_exit_sync_dabt).
            vcpu.regs.set_x(esr_srt(exit_.esr), exit_.gprs[0])
        return _guest_abort(vcpu)
    if ec == EC_IABT_LOW:
        raise fail(errno.ENXIO)
    if ec == EC_SYS64:
        return _sys_reg_exit(vcpu)
    raise fail(errno.ENXIO)  # rec_exit_reason_notimpl, including EC 0 ("unhandled")


def _sys_reg_exit(vcpu: SimVcpu) -> int:
    """rec_exit_sys_reg: a write's value into x[Rt], kvm_handle_sys_reg, a read's value back
    to the RMM. v9-v13 pass the value in gprs[0] ([PATCH v9 16/43]; v12, v13 the same), as
    TF-RMM does; v14 in gprs[Rt] ([PATCH v14 22/44]: "The RMM is now required to provide an
    ESR value with the correct information"). Against this sim's RMM, which follows TF-RMM
    (gprs[0]), a v14 access with Rt != 0 moves the wrong value: cca-uapi-v12-v16.md C13
    records the same conflict with TF-RMM v0.9.0 and main."""
    krec = vcpu.rec
    assert krec is not None
    exit_ = krec.run.exit
    esr = exit_.esr
    rt = esr_sysreg_rt(esr)
    is_write = not esr_sysreg_is_read(esr)
    slot = rt if vcpu.vm.host.series.at_least("v14") else 0
    slot = 0 if slot == 31 else slot  # (an XZR access has no gprs[31]; the RMM used 0)
    if is_write and rt != 31:  # vcpu_set_reg ignores XZR
        vcpu.regs.set_x(rt, exit_.gprs[slot])
    ret = sys_regs.handle_gic_cpuif(vcpu, esr)
    if not is_write:
        krec.run.enter.gprs[slot] = vcpu.regs.x(rt) if rt != 31 else 0
    return ret


def _guest_abort(vcpu: SimVcpu) -> int:
    """kvm_handle_guest_abort for a realm: the stolen (unprotected) IPA bit is stripped
    before the memslot lookup and the MMIO address (kvm_gpa_from_fault, [PATCH v9 20/43])."""
    vm = vcpu.vm
    exit_ = vcpu.rec.run.exit  # type: ignore[union-attr]
    fault_ipa = ((exit_.hpfar >> 4) << 12) | (exit_.far & 0xFFF)
    ipa = fault_ipa & ~(1 << (vm.ipa_bits - 1))
    if vm.memslots.find(ipa) is not None:
        raise fail(errno.ENXIO)  # mapping realm memory on demand is not modelled by the sim
    return mmio.io_mem_abort(vcpu, ipa, exit_.esr)


def _ripas_change_exit(vcpu: SimVcpu) -> int:
    """[PATCH v9 17/43]: the VMM learns of the request as a memory fault, -EFAULT."""
    exit_ = vcpu.rec.run.exit  # type: ignore[union-attr]
    run = vcpu.run
    run.exit_reason = abi.KVM_EXIT_MEMORY_FAULT
    run.memory_fault.flags = (
        abi.KVM_MEMORY_EXIT_FLAG_PRIVATE if exit_.ripas_value == RIPAS_RAM else 0
    )
    run.memory_fault.gpa = exit_.ripas_base
    run.memory_fault.size = exit_.ripas_top - exit_.ripas_base
    raise fail(errno.EFAULT)


def _sync_timers(vcpu: SimVcpu) -> None:
    """update_arch_timer_irq_lines: KVM's timer registers follow the REC's on every exit."""
    exit_ = vcpu.rec.run.exit  # type: ignore[union-attr]
    regs = vcpu.regs
    for name, value in (
        ("CNTV_CTL_EL0", exit_.cntv_ctl),
        ("CNTV_CVAL_EL0", exit_.cntv_cval),
        ("CNTP_CTL_EL0", exit_.cntp_ctl),
        ("CNTP_CVAL_EL0", exit_.cntp_cval),
    ):
        regs.set_sysreg(name, value)
