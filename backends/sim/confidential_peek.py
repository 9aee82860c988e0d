"""SIMULATION ONLY: a read-only look at what the RMM holds for a REC.

No real host can do this -- the REC's registers are the realm's confidential state, and the
host's own copy (what KVM_GET_ONE_REG returns) is stale by design. The sim can show both, so
the UI can put the staleness side by side. This sits outside the ioctl boundary on purpose:
nothing that drives a real kernel may depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backends import abi
from backends import reg_ids as ids
from backends.reg_ids import sysreg_id
from backends.sim.kernel import SimKernel
from backends.sim.kvm.arm import SimVcpu
from backends.sim.rmm.realm import Rec
from backends.sim.rmm.rsi import read_host_call_gprs

PMCR_EL0 = sysreg_id(3, 3, 9, 12, 0)
ID_AA64DFR0_EL1 = sysreg_id(3, 0, 0, 5, 0)


@dataclass(frozen=True)
class RecView:
    """The REC as the RMM has it, keyed by the ONE_REG id of the matching host register."""

    regs: dict[int, int]
    realm_state: str
    runnable: bool
    # The 31 values the RMM copied into the guest's RsiHostCall struct at the last entry,
    # if that entry completed a host call (runtime/rmi/run.c).
    host_call_delivered: tuple[int, ...] | None
    # While a host call waits for the host: the guest's RsiHostCall.gprs as they are now in
    # realm memory, where the next REC_ENTER writes what the host put in rec_enter.gprs.
    host_call_gprs: tuple[int, ...] | None
    # The full syndrome of the last exit, SRT and SSE included, before the RMM masked it.
    last_esr: int
    stopped: str
    # What the realm was created with (struct realm_params), by field name.
    realm_params: dict[str, int | None] = field(default_factory=dict)


def _vcpu_of(kernel: Any, vcpu_fd: int) -> SimVcpu | None:
    """The simulated vCPU behind an fd, or None for a real kernel or another kind of fd."""
    if not isinstance(kernel, SimKernel):
        return None
    try:
        vcpu = kernel.object(vcpu_fd)
    except OSError:
        return None
    return vcpu if isinstance(vcpu, SimVcpu) else None


def _rec_of(kernel: Any, vcpu_fd: int) -> Rec | None:
    vcpu = _vcpu_of(kernel, vcpu_fd)
    if vcpu is None or vcpu.rec is None or vcpu.rec.rec_pa is None:
        return None
    # The RMM's own record of the REC behind the granule KVM delegated to it.
    return vcpu.vm.rmi.rec_at(vcpu.rec.rec_pa)


def _view(rec: Rec, at_entry: bool) -> RecView | None:
    cpu = rec.at_entry if at_entry else rec.cpu
    p = rec.realm.params
    if cpu is None:
        return None
    regs = {ids.X[n]: cpu.x[n] for n in range(31)}
    regs |= {ids.PC: cpu.pc, ids.PSTATE: cpu.pstate, ids.SP_EL1: cpu.sp}
    regs |= {ids.SP: rec.sp_el0, ids.ELR_EL1: rec.elr_el1, ids.SPSR[0]: rec.spsr_el1}
    regs |= {ids.V[n]: v for n, v in enumerate(rec.vregs)}
    regs |= {ids.FPSR: rec.fpsr, ids.FPCR: rec.fpcr}
    regs[PMCR_EL0] = rec.pmcr
    regs[ID_AA64DFR0_EL1] = rec.id_aa64dfr0
    if rec.zcr_vq is not None:
        regs[abi.KVM_REG_ARM64_SVE_VLS] = (1 << rec.zcr_vq) - 1
    return RecView(
        regs=regs,
        realm_state=str(rec.realm.state),
        runnable=rec.runnable,
        host_call_delivered=rec.host_call_delivered if at_entry else None,
        host_call_gprs=(
            None if rec.host_call_ipa is None
            else read_host_call_gprs(rec.realm.memory, rec.host_call_ipa)
        ),
        last_esr=rec.last_esr,
        stopped=rec.stopped,
        realm_params={
            "num_bps": p.num_bps, "num_wps": p.num_wps, "pmu_num_ctrs": p.pmu_num_ctrs,
            "sve_vq": p.sve_vq,
        },
    )


def rec_now(kernel: Any, vcpu_fd: int) -> RecView | None:
    """The REC's registers as they are now; None if there is no REC or no sim."""
    rec = _rec_of(kernel, vcpu_fd)
    return None if rec is None else _view(rec, at_entry=False)


def rec_at_last_entry(kernel: Any, vcpu_fd: int) -> RecView | None:
    """The REC as the guest received it at the last REC_ENTER, after the RMM consumed
    rec_enter -- or at REC creation, if it has not run yet."""
    rec = _rec_of(kernel, vcpu_fd)
    if rec is None:
        return None
    if rec.at_entry is None:
        return _view(rec, at_entry=False)
    return _view(rec, at_entry=True)


def last_kernel_esr(kernel: Any, vcpu_fd: int) -> int | None:
    """The syndrome of the last exit as KVM kept it (vcpu->arch.fault.esr_el2): for a realm,
    what the RMM let through in rec_exit.esr."""
    vcpu = _vcpu_of(kernel, vcpu_fd)
    return None if vcpu is None else vcpu.fault_esr


def kvm_rec_exit_reason(kernel: Any, vcpu_fd: int) -> int | None:
    """The RMI exit reason of the REC's last exit, as KVM read it from rec_run.exit (not
    confidential -- the page is the host's -- but not in the uAPI: kvm_run has no field for
    it). None without a REC or without the sim."""
    vcpu = _vcpu_of(kernel, vcpu_fd)
    if vcpu is None or vcpu.rec is None or vcpu.rec.rec_pa is None:
        return None
    return int(vcpu.rec.run.exit.exit_reason)


def read_protected(kernel: Any, vcpu_fd: int, ipa: int, size: int) -> bytes | None:
    """The realm's protected memory as the RMM holds it (no host can read it); None outside
    RIPAS-RAM granules, without a REC, or without the sim."""
    rec = _rec_of(kernel, vcpu_fd)
    return None if rec is None else rec.realm.memory.read(ipa, size)


class Inspector:
    """The REC inspector of one simulated kernel: what the app's REC column and exit panel
    read. Only the sim has one; a real kernel's backend bundle carries None."""

    def __init__(self, kernel: SimKernel) -> None:
        self.kernel = kernel

    def rec_now(self, vcpu_fd: int) -> RecView | None:
        return rec_now(self.kernel, vcpu_fd)

    def rec_at_last_entry(self, vcpu_fd: int) -> RecView | None:
        return rec_at_last_entry(self.kernel, vcpu_fd)

    def last_kernel_esr(self, vcpu_fd: int) -> int | None:
        return last_kernel_esr(self.kernel, vcpu_fd)

    def kvm_rec_exit_reason(self, vcpu_fd: int) -> int | None:
        return kvm_rec_exit_reason(self.kernel, vcpu_fd)

    def rec_exit_plane(self, vcpu_fd: int) -> int | None:
        return rec_exit_plane(self.kernel, vcpu_fd)

    def read_protected(self, vcpu_fd: int, ipa: int, size: int) -> bytes | None:
        return read_protected(self.kernel, vcpu_fd, ipa, size)

    @property
    def rmi_major(self) -> int:
        """The RMI ABI the simulated RMM speaks (1 or 2)."""
        host = self.kernel.host
        return host.uapi.rmi_major if host.realm else 1


def inspector_for(kernel: Any) -> Inspector | None:
    """An inspector for a simulated kernel; None for any other."""
    return Inspector(kernel) if isinstance(kernel, SimKernel) else None


def rec_exit_plane(kernel: Any, vcpu_fd: int) -> int | None:
    """rec_exit.plane of the last exit where the RMM reports one (RMM 2.0); None otherwise."""
    vcpu = _vcpu_of(kernel, vcpu_fd)
    if vcpu is None or vcpu.rec is None or vcpu.rec.rec_pa is None:
        return None
    if vcpu.vm.rmi_major < 2:
        return None
    return int(vcpu.rec.run.exit.plane)
