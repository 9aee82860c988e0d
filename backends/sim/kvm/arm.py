"""A simulated vCPU fd: init, finalize, ONE_REG, the register list, and KVM_RUN.

arch/arm64/kvm/arm.c (kvm_arch_vcpu_ioctl, kvm_arch_vcpu_ioctl_run) and, for the exits of a
normal vCPU, handle_exit.c. KVM_RUN has one loop; a REC's iteration goes to the RMM through
rme.py ([PATCH v9 16/43] "arm64: RME: Handle realm enter/exit"), a normal vCPU's runs the CPU
itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backends import abi
from backends.abi import ffi
from backends.arch import MPIDR_AFFINITY_MASK
from backends.reg_ids import OFF_PSTATE, OFF_SP, OFF_SP_EL1, reg_size
from backends.sim.cpu import Cpu, CpuState
from backends.sim.errno_ import errno, fail
from backends.sim.kvm import handle_exit, mmio, rme
from backends.sim.kvm.guest import VcpuRegs
from backends.sim.kvm.memslots import MemslotMemory, copy_from_user, copy_to_user, read_struct

if TYPE_CHECKING:
    from backends.sim.kvm.kvm_main import SimVm

VCPU_MMAP_SIZE = 2 * 4096  # kvm_run plus the coalesced-MMIO ring page, as on arm64
# How many host-timer slices a KVM_RUN sits through before a (simulated) signal ends it.
SLICES_PER_RUN = 4


def _ptr(ctype: str, arg: Any) -> Any:
    return ffi.cast(ctype, arg)


class SimVcpu:
    def __init__(self, vm: SimVm, vcpu_id: int) -> None:
        self.vm = vm
        self.vcpu_id = vcpu_id
        self.features: set[int] = set()
        self.initialized = False
        self.sve_finalized = False
        self.mp_state = abi.KVM_MP_STATE_RUNNABLE
        self.regs = VcpuRegs(self)
        self.page = bytearray(VCPU_MMAP_SIZE)
        self.run = ffi.from_buffer("struct kvm_run *", self.page)
        self.mmio_needed = False
        self.fault_esr = 0  # ESR_EL2 of the last exit, as KVM keeps it in vcpu->arch.fault
        self.rec = rme.KvmRec() if vm.is_realm else None
        self.cpu = Cpu()  # a normal vCPU's CPU; a REC's runs inside the RMM
        # A PSCI call KVM handled for this REC that the RMM still waits on (v9-v13 complete
        # it at once, hypercalls.py): the function, the target vCPU, whether it succeeded.
        self.psci_to_complete: tuple[int, SimVcpu, bool] | None = None
        self.icc_pmr = 0  # the vGIC CPU interface's priority mask (sys_regs.handle_gic_cpuif)

    def has(self, feature: int) -> bool:
        return feature in self.features

    def mpidr(self) -> int:
        """kvm_vcpu_get_mpidr_aff: MPIDR_EL1's affinity fields."""
        return self.regs.sysreg("MPIDR_EL1") & MPIDR_AFFINITY_MASK

    # --- ioctl dispatch ------------------------------------------------------------------------
    def ioctl(self, request: int, arg: Any) -> int:
        handler = {
            abi.KVM_ARM_VCPU_INIT: self._init,
            abi.KVM_ARM_VCPU_FINALIZE: self._finalize,
            abi.KVM_GET_REG_LIST: self._reg_list,
            abi.KVM_GET_ONE_REG: self._get_one_reg,
            abi.KVM_SET_ONE_REG: self._set_one_reg,
            abi.KVM_RUN: self._run,
            abi.KVM_GET_MP_STATE: self._get_mp_state,
            abi.KVM_SET_MP_STATE: self._set_mp_state,
            abi.KVM_SET_DEVICE_ATTR: self._set_device_attr,
        }.get(request)
        host = self.vm.host
        if request == abi.KVM_ARM_VCPU_RMM_PSCI_COMPLETE and (
            not host.realm or host.uapi.psci_complete_ioctl is not None
        ):
            handler = self._psci_complete  # v9-v13; v14 removed it (O1): EINVAL
        if handler is None:
            raise fail(errno.EINVAL)  # kvm_arch_vcpu_ioctl: default r = -EINVAL
        return handler(arg)

    def _init(self, arg: Any) -> int:
        init = _ptr("struct kvm_vcpu_init *", arg)
        if init.target != abi.KVM_ARM_TARGET_GENERIC_V8:
            raise fail(errno.EINVAL)
        features = {bit for bit in range(7 * 32) if init.features[bit // 32] & (1 << (bit % 32))}
        # arm.c kvm_vcpu_init_check_features: a bit KVM does not know is -ENOENT, a known
        # feature this host or VM cannot have is -EINVAL (the real 6.1 answers ENOENT for
        # bit 9, which only the CCA series defines).
        if any(bit >= self._max_features() for bit in features):
            raise fail(errno.ENOENT)
        self._check_features(features)
        if self.initialized and features != self.features:
            raise fail(errno.EINVAL)  # kvm_vcpu_init_changed
        self.features = features
        self.initialized = True
        self.regs.reset()
        off = abi.KVM_ARM_VCPU_POWER_OFF in features
        self.mp_state = abi.KVM_MP_STATE_STOPPED if off else abi.KVM_MP_STATE_RUNNABLE
        return 0

    def _max_features(self) -> int:
        """KVM_VCPU_MAX_FEATURES: 9 upstream (HAS_EL2_E2H0 is bit 8); 10 once the CCA series
        adds KVM_ARM_VCPU_REC ([PATCH v9 06/43])."""
        host = self.vm.host
        # v12/v13 removed the REC feature but kept the bump to 10 (C9); v14 dropped it.
        return 10 if host.realm and not host.series.at_least("v14") else 9

    def _check_features(self, features: set[int]) -> None:
        host = self.vm.host
        supported = {
            abi.KVM_ARM_VCPU_POWER_OFF,
            abi.KVM_ARM_VCPU_PSCI_0_2,
        }
        if host.pmu:
            supported.add(abi.KVM_ARM_VCPU_PMU_V3)
        if host.sve:
            supported.add(abi.KVM_ARM_VCPU_SVE)
        if host.pauth:
            supported |= {abi.KVM_ARM_VCPU_PTRAUTH_ADDRESS, abi.KVM_ARM_VCPU_PTRAUTH_GENERIC}
        if self.vm.is_realm and not host.uapi.implicit:
            # [PATCH v9 11/43]: KVM_ARM_VCPU_REC is cleared from the supported set for VMs
            # that are not realms, so asking for it there is EINVAL.
            supported.add(abi.KVM_ARM_VCPU_REC)
        elif host.realm and host.uapi.implicit and self._max_features() == 10:
            # v12/v13: bit 9 is within KVM_VCPU_MAX_FEATURES and nothing clears it, so any
            # VM takes it, meaning nothing (C9, [INFER]).
            supported.add(abi.KVM_ARM_VCPU_REC)
        if features - supported:
            raise fail(errno.EINVAL)
        pauth = {abi.KVM_ARM_VCPU_PTRAUTH_ADDRESS, abi.KVM_ARM_VCPU_PTRAUTH_GENERIC}
        if features & pauth and not pauth <= features:
            raise fail(errno.EINVAL)  # both pointer-auth flavours or neither

    def _finalize(self, arg: Any) -> int:
        feature = int(_ptr("int *", arg)[0])
        if not self.initialized:
            raise fail(errno.ENOEXEC)  # arm.c KVM_ARM_VCPU_FINALIZE: !kvm_vcpu_initialized
        if feature == abi.KVM_ARM_VCPU_SVE:
            if not self.has(abi.KVM_ARM_VCPU_SVE):
                raise fail(errno.EINVAL)
            if self.sve_finalized:
                raise fail(errno.EPERM)
            self.sve_finalized = True
            return 0
        host = self.vm.host
        if feature == abi.KVM_ARM_VCPU_REC and not (host.realm and host.uapi.implicit):
            return rme.create_rec(self)
        raise fail(errno.EINVAL)

    def _reg_list(self, arg: Any) -> int:
        if not self.initialized:
            raise fail(errno.ENOEXEC)
        if not self.vm.host.series.full and not self.is_finalized():
            # arm.c KVM_GET_REG_LIST: -EPERM until every feature is finalized, as the real 6.1
            # answers. [PATCH v9 39/43] removes this check (for every VM), so only a kernel
            # without it keeps it -- upstream, and the seed series, where a realm vCPU stays
            # unfinalized until its REC exists in an active realm.
            raise fail(errno.EPERM)
        lst = _ptr("struct kvm_reg_list *", arg)
        ids = self.regs.indices()
        user_n = int(lst.n)
        lst.n = len(ids)  # always written back, so the caller learns the count
        if user_n < len(ids):
            raise fail(errno.E2BIG)
        for i, reg_id in enumerate(ids):
            lst.reg[i] = reg_id
        return 0

    def is_finalized(self) -> bool:
        """reset.c kvm_arm_vcpu_is_finalized: SVE finalized if the vCPU has SVE, and, for a
        realm vCPU ([PATCH v9 11/43]), a REC that exists in an ACTIVE realm."""
        if self.has(abi.KVM_ARM_VCPU_SVE) and not self.sve_finalized:
            return False
        if self.rec is not None:
            return rme.rec_is_finalized(self)
        return True

    def _one_reg(self, arg: Any) -> tuple[int, int]:
        if not self.initialized:
            raise fail(errno.ENOEXEC)
        req = _ptr("struct kvm_one_reg *", arg)
        return int(req.id), int(req.addr)

    def _get_one_reg(self, arg: Any) -> int:
        reg_id, addr = self._one_reg(arg)
        copy_to_user(addr, self.regs.get(reg_id))
        return 0

    def _set_one_reg(self, arg: Any) -> int:
        reg_id, addr = self._one_reg(arg)
        self.regs.set(reg_id, copy_from_user(addr, reg_size(reg_id)))
        return 0

    def _get_mp_state(self, arg: Any) -> int:
        _ptr("struct kvm_mp_state *", arg).mp_state = self.mp_state
        return 0

    def _set_mp_state(self, arg: Any) -> int:
        state = int(_ptr("struct kvm_mp_state *", arg).mp_state)
        if state not in (abi.KVM_MP_STATE_RUNNABLE, abi.KVM_MP_STATE_STOPPED):
            raise fail(errno.EINVAL)
        self.mp_state = state
        return 0

    def _psci_complete(self, arg: Any) -> int:
        """KVM_ARM_VCPU_RMM_PSCI_COMPLETE ([PATCH v9 23/43]): the REC feature is checked, then
        the target is looked up by MPIDR, then the RMM is asked (realm_psci_complete)."""
        host = self.vm.host
        if host.realm and host.uapi.implicit:
            if self.rec is None:
                # !vcpu_is_rec: EPERM in v12, ENXIO in v13 ("Chance return code for
                # non-realms to -ENXIO", C6).
                raise fail(errno.EPERM if host.series.value == "v12" else errno.ENXIO)
        elif not self.has(abi.KVM_ARM_VCPU_REC):
            raise fail(errno.EPERM)  # !vcpu_is_rec
        req = read_struct(int(ffi.cast("uintptr_t", arg)), "struct kvm_arm_rmm_psci_complete")
        target = self.vm.vcpu_by_mpidr(int(req.target_mpidr))
        if target is None:
            raise fail(errno.EINVAL)
        return rme.psci_complete(self, target, int(req.psci_status))

    def _set_device_attr(self, arg: Any) -> int:
        # The PMU's IRQ/INIT attributes: accepted; the sim has no interrupt controller model.
        return 0

    # --- KVM_RUN -----------------------------------------------------------------------------
    def _run(self, arg: Any) -> int:
        """kvm_arch_vcpu_ioctl_run."""
        if arg:
            raise fail(errno.EINVAL)
        if not self.initialized:
            raise fail(errno.ENOEXEC)
        if not self.is_finalized():
            raise fail(errno.EPERM)  # kvm_vcpu_first_run_init: !kvm_arm_vcpu_is_finalized
        if self.rec is not None and self.vm.host.uapi.implicit:
            rme.activate_realm(self.vm)  # v12+: the first KVM_RUN activates (C12)
        elif self.rec is not None and self.vm.irqchip is None:
            raise fail(errno.EOPNOTSUPP)  # [PATCH v9 13/43]: realms need the in-kernel GIC
        if self.run.exit_reason == abi.KVM_EXIT_MMIO:
            mmio.handle_mmio_return(self)
        self.run.exit_reason = abi.KVM_EXIT_UNKNOWN
        if self.mp_state == abi.KVM_MP_STATE_STOPPED:
            # A stopped vCPU sleeps in KVM_RUN until a signal (kvm_vcpu_sleep); here the
            # signal comes at once, before any entry.
            self.run.exit_reason = abi.KVM_EXIT_INTR
            raise fail(errno.EINTR)
        self.vm.has_ran_once = True
        for _ in range(SLICES_PER_RUN):
            if self.rec is not None:  # vcpu_is_rec
                ret = rme.rec_run_once(self)
            else:
                ret = self._enter_guest()
            if ret <= 0:
                return ret
        self.run.exit_reason = abi.KVM_EXIT_INTR
        raise fail(errno.EINTR)

    def _cpu_state(self) -> CpuState:
        r = self.regs
        sp_off = OFF_SP_EL1 if r.word64(OFF_PSTATE) & 1 else OFF_SP  # EL1h uses SP_EL1
        return CpuState(
            x=[r.x(n) for n in range(31)], sp=r.word64(sp_off), pc=r.pc,
            pstate=r.word64(OFF_PSTATE),
        )

    def _store_cpu_state(self, st: CpuState) -> None:
        r = self.regs
        for n in range(31):
            r.set_x(n, st.x[n])
        r.set_word64(OFF_SP_EL1 if st.pstate & 1 else OFF_SP, st.sp)
        r.pc = st.pc
        r.set_word64(OFF_PSTATE, st.pstate)

    def _enter_guest(self) -> int:
        """kvm_arm_vcpu_enter_exit, then handle_exit: 1 to re-enter, 0 to return to the VMM."""
        st = self._cpu_state()
        trap = self.cpu.run(st, MemslotMemory(self.vm.memslots), self.vm.host.slice_instructions)
        self._store_cpu_state(st)
        return handle_exit.handle_exit(self, trap)
