"""KVM's SMCCC handling: the userspace filter, PSCI, and forwarding to the VMM.

arch/arm64/kvm/hypercalls.c (kvm_smccc_call_handler, kvm_prepare_hypercall_exit, the
KVM_ARM_VM_SMCCC_FILTER of v6.4) and psci.c. For a realm the same handler runs on the
registers KVM copied out of rec_exit ([PATCH v9 16/43]), and its results land in KVM's copy,
not in the REC.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backends import abi
from backends.arch import MPIDR_AFFINITY_MASK
from backends.sim.syndrome import EC_SMC64, ESR_IL, esr_ec
from backends.smccc import (
    PSCI_AFFINITY_INFO,
    PSCI_AFFINITY_INFO_64,
    PSCI_ALREADY_ON,
    PSCI_CPU_OFF,
    PSCI_CPU_ON,
    PSCI_CPU_ON_64,
    PSCI_CPU_SUSPEND,
    PSCI_CPU_SUSPEND_64,
    PSCI_INTERNAL_FAILURE,
    PSCI_INVALID_PARAMETERS,
    PSCI_NOT_SUPPORTED,
    PSCI_SUCCESS,
    PSCI_SYSTEM_OFF,
    PSCI_SYSTEM_RESET,
    PSCI_VERSION,
    SMCCC_RET_NOT_SUPPORTED,
    SMCCC_VERSION,
    SMCCC_VERSION_1_1,
    is_psci,
)

if TYPE_CHECKING:
    from backends.sim.kvm.arm import SimVcpu



def call_handler(vcpu: SimVcpu, esr: int) -> int:
    """kvm_smccc_call_handler: 1 to re-enter the guest, 0 to return to the VMM.

    Every call KVM answers itself ends in smccc_set_retval(val[0..3]): x0 is the result and
    x1-x3 are zeroed, a denied call and an unknown one alike (val = {NOT_SUPPORTED, 0, 0, 0}).
    """
    regs = vcpu.regs
    fid = regs.x(0) & 0xFFFF_FFFF
    action = vcpu.vm.smccc_action(fid)
    if action == abi.KVM_SMCCC_FILTER_FWD_TO_USER:
        _prepare_hypercall_exit(vcpu, fid, esr)
        return 0
    if action == abi.KVM_SMCCC_FILTER_DENY:
        _set_retval(vcpu, SMCCC_RET_NOT_SUPPORTED)
        return 1
    if fid == SMCCC_VERSION:
        _set_retval(vcpu, SMCCC_VERSION_1_1)
        return 1
    if is_psci(fid):
        return _psci_call(vcpu, fid)
    _set_retval(vcpu, SMCCC_RET_NOT_SUPPORTED)
    return 1


def _prepare_hypercall_exit(vcpu: SimVcpu, fid: int, esr: int) -> None:
    flags = 0
    if esr_ec(esr) == EC_SMC64:
        flags |= abi.KVM_HYPERCALL_EXIT_SMC
    # "!kvm_vcpu_trap_il_is32bit": a realm's host call arrives with esr = 0 (TF-RMM fills no
    # syndrome for it), so IL reads 0 and the exit claims a 16-bit instruction.
    if not esr & ESR_IL:
        flags |= abi.KVM_HYPERCALL_EXIT_16BIT
    run = vcpu.run
    run.exit_reason = abi.KVM_EXIT_HYPERCALL
    run.hypercall.nr = fid
    run.hypercall.flags = flags
    for i in range(6):
        run.hypercall.args[i] = 0
    run.hypercall.ret = 0


def _psci_call(vcpu: SimVcpu, fid: int) -> int:
    """psci.c kvm_psci_0_2_call / kvm_psci_1_x_call, for what a one-vCPU guest can ask; each
    path ends in smccc_set_retval(vcpu, val, 0, 0, 0)."""
    if fid == PSCI_VERSION:
        _set_retval(vcpu, vcpu.regs.fw[0x6030_0000_0014_0000])
        return 1
    if fid in (PSCI_SYSTEM_OFF, PSCI_SYSTEM_RESET):
        kind = (
            abi.KVM_SYSTEM_EVENT_SHUTDOWN
            if fid == PSCI_SYSTEM_OFF
            else abi.KVM_SYSTEM_EVENT_RESET
        )
        _prepare_system_event(vcpu, kind)
        # psci.c kvm_psci_0_2_call: "If user space accidentally/deliberately resumes guest
        # VCPU after SYSTEM_OFF request then guest VCPU should see internal failure", so x0 is
        # preloaded with PSCI_INTERNAL_FAILURE -- the real 6.1 shows x0 =
        # 0xfffffffffffffffa at the SYSTEM_EVENT exit.
        _set_retval(vcpu, PSCI_INTERNAL_FAILURE)
        return 0
    if fid in (PSCI_CPU_SUSPEND, PSCI_CPU_SUSPEND_64):
        # kvm_psci_vcpu_suspend: a standby suspend is a WFI; the vCPU has nothing pending
        # to wait for in the sim, so it resumes at once.
        _set_retval(vcpu, 0)
        return 1
    if fid == PSCI_CPU_OFF:
        vcpu.mp_state = abi.KVM_MP_STATE_STOPPED
        _set_retval(vcpu, 0)
        return 1
    if fid in (PSCI_CPU_ON, PSCI_CPU_ON_64):
        _set_retval(vcpu, _vcpu_on(vcpu, fid))
        return 1
    if fid in (PSCI_AFFINITY_INFO, PSCI_AFFINITY_INFO_64) and vcpu.rec is not None:
        _set_retval(vcpu, _realm_affinity_info(vcpu, fid))
        return 1
    _set_retval(vcpu, PSCI_NOT_SUPPORTED)
    return 1


def mpidr_to_vcpu(vcpu: SimVcpu, mpidr: int) -> SimVcpu | None:
    """kvm_mpidr_to_vcpu: the vCPU of the VM whose MPIDR affinity is `mpidr`."""
    mpidr &= MPIDR_AFFINITY_MASK
    return next((v for v in vcpu.vm.vcpus.values() if v.mpidr() == mpidr), None)


def _vcpu_on(source: SimVcpu, fid: int) -> int:
    """psci.c kvm_psci_vcpu_on: the target by MPIDR (x1), ALREADY_ON unless it is stopped,
    else made runnable. The entry point (x2) and context id (x3) go into its reset state,
    which for a realm the RMM zeroed in exit.gprs: the RMM starts the REC itself, and the sim
    does not model KVM's reset of its own copy. For a REC the call is completed with the RMM:
    v9-v13 here and now (realm_psci_complete, [PATCH v9 23/43], v12/v13 "Handle Realm PSCI
    requests"), v14 at the target's caller's next entry (rme.py, kvm_rec_complete_psci)."""
    target = mpidr_to_vcpu(source, source.regs.x(1))
    if target is None:
        result = PSCI_INVALID_PARAMETERS
    elif target.mp_state != abi.KVM_MP_STATE_STOPPED:
        result = PSCI_ALREADY_ON  # PSCI 0.2 and later
    else:
        target.mp_state = abi.KVM_MP_STATE_RUNNABLE
        result = PSCI_SUCCESS
    if source.rec is not None and target is not None:
        # What v9-v13 complete with: SUCCESS when KVM turned it on or it already was.
        ok = result in (PSCI_SUCCESS, PSCI_ALREADY_ON)
        source.psci_to_complete = (fid, target, ok)
    return result


def _realm_affinity_info(vcpu: SimVcpu, fid: int) -> int:
    """psci.c kvm_psci_vcpu_affinity_info for a REC ([PATCH v9 23/43]; v14 32/44): only
    affinity level 0 and a known MPIDR; the answer (ON or OFF) is the RMM's, given when the
    call is completed with SUCCESS."""
    if vcpu.regs.x(2) != 0:
        return PSCI_INVALID_PARAMETERS
    target = mpidr_to_vcpu(vcpu, vcpu.regs.x(1))
    if target is None:
        return PSCI_INVALID_PARAMETERS
    vcpu.psci_to_complete = (fid, target, True)
    return PSCI_SUCCESS


def _set_retval(vcpu: SimVcpu, a0: int, a1: int = 0, a2: int = 0, a3: int = 0) -> None:
    """include/kvm/arm_hypercalls.h smccc_set_retval: x0-x3 together."""
    for n, value in enumerate((a0, a1, a2, a3)):
        vcpu.regs.set_x(n, value)


def _prepare_system_event(vcpu: SimVcpu, kind: int) -> None:
    # "make sure that VCPUs are not run after this call is handled and before the VCPUs
    # have been re-initialized": every vCPU is stopped (psci.c kvm_prepare_system_event).
    for other in vcpu.vm.vcpus.values():
        other.mp_state = abi.KVM_MP_STATE_STOPPED
    run = vcpu.run
    run.exit_reason = abi.KVM_EXIT_SYSTEM_EVENT
    run.system_event.type = kind
    run.system_event.ndata = 1
    run.system_event.data[0] = 0
