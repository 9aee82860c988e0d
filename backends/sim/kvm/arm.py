"""A simulated vCPU fd: init, finalize, ONE_REG, the register list, and KVM_RUN.

arch/arm64/kvm/arm.c (kvm_arch_vcpu_ioctl, kvm_arch_vcpu_ioctl_run), handle_exit.c and
mmio.c for normal VMs. A realm vCPU's run goes through backends/sim/realm.py instead, which
talks to the RMM the way [PATCH v9 16/43] does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backends import abi
from backends.abi import ffi
from backends.sim.cpu import CpuState, TrapKind, run
from backends.sim.errno_ import errno, fail
from backends.sim.kvm import hypercalls as smccc
from backends.sim.kvm import rme as kvm_realm
from backends.sim.kvm.guest import OFF_SP, OFF_SP_EL1, VcpuRegs
from backends.sim.kvm.memslots import MemslotMemory, copy_from_user, copy_to_user, read_struct
from backends.sim.syndrome import (
    esr_imm16,
    esr_isv,
    esr_sas_bytes,
    esr_sf,
    esr_srt,
    esr_sse,
    esr_wnr,
)

if TYPE_CHECKING:
    from backends.sim.kvm.kvm_main import SimVm

MASK64 = (1 << 64) - 1
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
        self.rec = kvm_realm.KvmRec() if vm.is_realm else None

    def has(self, feature: int) -> bool:
        return feature in self.features

    def mpidr(self) -> int:
        """kvm_vcpu_get_mpidr_aff: MPIDR_EL1's affinity fields."""
        return self.regs.sysreg("MPIDR_EL1") & 0xFF_00FF_FFFF

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
            abi.KVM_ARM_VCPU_RMM_PSCI_COMPLETE: self._psci_complete,
            abi.KVM_SET_DEVICE_ATTR: self._set_device_attr,
        }.get(request)
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
        return 10 if self.vm.host.realm else 9

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
        if self.vm.is_realm:
            # [PATCH v9 11/43]: KVM_ARM_VCPU_REC is cleared from the supported set for VMs
            # that are not realms, so asking for it there is EINVAL.
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
        if feature == abi.KVM_ARM_VCPU_REC:
            return kvm_realm.create_rec(self)
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
            return kvm_realm.rec_is_finalized(self)
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
        size = 1 << ((reg_id & abi.KVM_REG_SIZE_MASK) >> abi.KVM_REG_SIZE_SHIFT)
        self.regs.set(reg_id, copy_from_user(addr, size))
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
        if not self.has(abi.KVM_ARM_VCPU_REC):
            raise fail(errno.EPERM)  # !vcpu_is_rec
        req = read_struct(int(ffi.cast("uintptr_t", arg)), "struct kvm_arm_rmm_psci_complete")
        target = self.vm.vcpu_by_mpidr(int(req.target_mpidr))
        if target is None:
            raise fail(errno.EINVAL)
        return kvm_realm.psci_complete(self, target, int(req.psci_status))

    def _set_device_attr(self, arg: Any) -> int:
        # The PMU's IRQ/INIT attributes: accepted; the sim has no interrupt controller model.
        return 0

    # --- KVM_RUN -----------------------------------------------------------------------------
    def _run(self, arg: Any) -> int:
        if arg:
            raise fail(errno.EINVAL)
        if not self.initialized:
            raise fail(errno.ENOEXEC)
        if not self.is_finalized():
            raise fail(errno.EPERM)  # kvm_vcpu_first_run_init: !kvm_arm_vcpu_is_finalized
        if self.vm.is_realm:
            return kvm_realm.vcpu_run(self)
        if self.run.exit_reason == abi.KVM_EXIT_MMIO:
            self._mmio_return()
        self.run.exit_reason = abi.KVM_EXIT_UNKNOWN
        if self.mp_state == abi.KVM_MP_STATE_STOPPED:
            # A stopped vCPU sleeps in KVM_RUN until a signal (kvm_vcpu_sleep); here the
            # signal comes at once.
            self.run.exit_reason = abi.KVM_EXIT_INTR
            raise fail(errno.EINTR)
        self.vm.has_ran_once = True
        for _ in range(SLICES_PER_RUN):
            ret = self._enter_guest()
            if ret <= 0:
                return ret
        self.run.exit_reason = abi.KVM_EXIT_INTR
        raise fail(errno.EINTR)

    def _cpu_state(self) -> CpuState:
        r = self.regs
        sp_off = OFF_SP_EL1 if r.word64(0x42) & 1 else OFF_SP  # EL1h uses SP_EL1
        return CpuState(
            x=[r.x(n) for n in range(31)], sp=r.word64(sp_off), pc=r.pc, pstate=r.word64(0x42)
        )

    def _store_cpu_state(self, st: CpuState) -> None:
        r = self.regs
        for n in range(31):
            r.set_x(n, st.x[n])
        r.set_word64(OFF_SP_EL1 if st.pstate & 1 else OFF_SP, st.sp)
        r.pc = st.pc
        r.set_word64(0x42, st.pstate)

    def _enter_guest(self) -> int:
        """One guest entry and the handling of its exit: 1 to re-enter, 0 to return to the
        VMM (handle_exit.c handle_exit)."""
        st = self._cpu_state()
        trap = run(st, MemslotMemory(self.vm.memslots), self.vm.host.slice_instructions)
        self._store_cpu_state(st)
        self.fault_esr = trap.esr
        match trap.kind:
            case TrapKind.BUDGET:
                return 1
            case TrapKind.DATA_ABORT:
                return self.io_mem_abort(trap.far, trap.esr)
            case TrapKind.HVC:
                return smccc.call_handler(self, trap.esr)
            case TrapKind.SMC:
                self.regs.pc = (self.regs.pc + 4) & MASK64  # handle_smc: kvm_incr_pc first
                if esr_imm16(trap.esr):
                    self.regs.set_x(0, MASK64)
                    return 1
                return smccc.call_handler(self, trap.esr)
        # An instruction the sim's CPU does not know, or a fetch from nowhere. Real KVM would
        # inject an exception into the guest; the sim stops it and says where.
        self._internal_error(trap.pc, trap.insn)
        return 0

    def _internal_error(self, pc: int, insn: int) -> None:
        run_ = self.run
        run_.exit_reason = abi.KVM_EXIT_INTERNAL_ERROR
        run_.internal.suberror = abi.KVM_INTERNAL_ERROR_EMULATION
        run_.internal.ndata = 2
        run_.internal.data[0] = pc
        run_.internal.data[1] = insn

    def io_mem_abort(self, ipa: int, esr: int) -> int:
        """mmio.c io_mem_abort: an access outside every memslot goes to the VMM."""
        if not esr_isv(esr):
            raise fail(errno.ENOSYS)  # no syndrome and no KVM_CAP_ARM_NISV_TO_USER
        size = esr_sas_bytes(esr)
        run_ = self.run
        if esr_wnr(esr):
            rt = esr_srt(esr)
            value = 0 if rt == 31 else self.regs.x(rt)
            data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
            ffi.memmove(run_.mmio.data, data, size)
        run_.mmio.is_write = int(esr_wnr(esr))
        run_.mmio.phys_addr = ipa
        run_.mmio.len = size
        run_.exit_reason = abi.KVM_EXIT_MMIO
        self.mmio_needed = True
        return 0

    def _mmio_return(self) -> None:
        """mmio.c kvm_handle_mmio_return: finish the access the VMM has emulated."""
        if not self.mmio_needed:
            return
        self.mmio_needed = False
        esr = self.fault_esr
        if not esr_wnr(esr):
            size = esr_sas_bytes(esr)
            data = int.from_bytes(bytes(self.run.mmio.data)[:size], "little")
            if esr_sse(esr) and size < 8 and data >> (8 * size - 1):
                data = (data - (1 << (8 * size))) & MASK64
            if not esr_sf(esr):
                data &= 0xFFFF_FFFF
            rt = esr_srt(esr)
            if rt != 31:
                self.regs.set_x(rt, data)
        self.regs.pc = (self.regs.pc + 4) & MASK64  # kvm_incr_pc: every A64 instruction is 4 bytes
