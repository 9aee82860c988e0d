"""The VMM side of KVM: a thin typed wrapper per ioctl, over any Kernel.

Structs are built with cffi (backends/abi.py) and handed to `kernel.ioctl(fd, request, arg)`;
nothing here knows whether the kernel is Linux or the simulation. In the style of rust-vmm's
kvm-ioctls: one method per ioctl, failures raise KvmError carrying the errno, the ioctl and,
for ONE_REG, the register.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable
from typing import Any

from backends import abi, ioctl_log
from backends.errors import KvmError
from backends.exits import Exit, decode_run
from backends.kernel import Kernel
from backends.reg_ids import reg_size

ffi = abi.ffi

# KVM_RUN is retried when a signal interrupts it; a guest that never exits (the sim reports
# that as an interruption too) must not keep the VMM looping forever.
MAX_EINTR_RETRIES = 3


def issue(kernel: Kernel, fd: int, request: int, arg: Any = 0, run: Any = None) -> int:
    """Every ioctl goes through here, so the session's ioctl log sees each one (with the
    exit decoded from `run`, the vCPU's kvm_run, for KVM_RUN)."""
    log = ioctl_log.log_of(kernel)
    if log is None:
        return kernel.ioctl(fd, request, arg)
    if request in ioctl_log.ONE_REG:
        return ioctl_log.one_reg(log, kernel.ioctl, fd, request, arg)
    call = ioctl_log.Call(log, fd, request, arg)
    try:
        result = kernel.ioctl(fd, request, arg)
    except OSError as e:
        exit_ = _exit_json(run, e.errno) if run is not None else None
        call.done(None, e.errno or errno.EIO, exit_)
        raise
    call.done(result, None, _exit_json(run, None) if run is not None else None)
    return result


def _exit_json(run: Any, err: int | None) -> dict[str, Any]:
    kexit = decode_run(run, err)
    return {"reason": kexit.name, **kexit.fields()}


def _addr(cdata: Any) -> int:
    return int(ffi.cast("uintptr_t", cdata))


class _Fd:
    """An fd of some kernel object, with the ioctl call that names failures."""

    def __init__(self, kernel: Kernel, fd: int) -> None:
        self.kernel = kernel
        self.fd = fd

    def _ioctl(self, request: int, arg: Any = 0, reg: int | None = None) -> int:
        try:
            return issue(self.kernel, self.fd, request, arg)
        except OSError as e:
            name = abi.IOCTL_NAMES.get(request, f"ioctl 0x{request:x}")
            raise KvmError(e.errno or errno.EIO, name, reg) from None

    def close(self) -> None:
        if self.fd >= 0:
            self.kernel.close(self.fd)
            self.fd = -1


class Kvm(_Fd):
    """The system fd: /dev/kvm."""

    def __init__(self, kernel: Kernel, path: str = "/dev/kvm") -> None:
        try:
            fd = kernel.open(path)
        except OSError as e:
            raise KvmError(e.errno or errno.EIO, f"open {path}") from None
        super().__init__(kernel, fd)

    def api_version(self) -> int:
        return self._ioctl(abi.KVM_GET_API_VERSION)

    def check_extension(self, cap: int) -> int:
        return self._ioctl(abi.KVM_CHECK_EXTENSION, cap)

    def vcpu_mmap_size(self) -> int:
        return self._ioctl(abi.KVM_GET_VCPU_MMAP_SIZE)

    def create_vm(self, vm_type: int = 0) -> Vm:
        return Vm(self, self._ioctl(abi.KVM_CREATE_VM, vm_type))


class Vm(_Fd):
    def __init__(self, kvm: Kvm, fd: int) -> None:
        super().__init__(kvm.kernel, fd)
        self.kvm = kvm
        self.rme_cap = abi.KVM_CAP_ARM_RME_V9

    def check_extension(self, cap: int) -> int:
        return self._ioctl(abi.KVM_CHECK_EXTENSION, cap)

    def preferred_target(self) -> int:
        init = ffi.new("struct kvm_vcpu_init *")
        self._ioctl(abi.KVM_ARM_PREFERRED_TARGET, init)
        return int(init.target)

    def set_user_memory_region(
        self,
        slot: int,
        guest_phys_addr: int,
        memory_size: int,
        userspace_addr: int,
        flags: int = 0,
    ) -> None:
        region = ffi.new("struct kvm_userspace_memory_region *")
        region.slot = slot
        region.flags = flags
        region.guest_phys_addr = guest_phys_addr
        region.memory_size = memory_size
        region.userspace_addr = userspace_addr
        self._ioctl(abi.KVM_SET_USER_MEMORY_REGION, region)

    def create_guest_memfd(self, size: int, flags: int = 0) -> int:
        """KVM_CREATE_GUEST_MEMFD: an fd of guest-private memory (v6.8+); realms need it
        ([PATCH v9 19/43] populate_region, [PATCH v9 20/43] private_memslot_fault)."""
        req = ffi.new("struct kvm_create_guest_memfd *")
        req.size = size
        req.flags = flags
        return self._ioctl(abi.KVM_CREATE_GUEST_MEMFD, req)

    def set_user_memory_region2(
        self, slot: int, guest_phys_addr: int, memory_size: int, userspace_addr: int,
        guest_memfd: int, guest_memfd_offset: int = 0, flags: int = abi.KVM_MEM_GUEST_MEMFD,
    ) -> None:
        """KVM_SET_USER_MEMORY_REGION2: a memslot with a shared half (userspace_addr) and,
        with KVM_MEM_GUEST_MEMFD, a private half in the guest_memfd."""
        region = ffi.new("struct kvm_userspace_memory_region2 *")
        region.slot = slot
        region.flags = flags
        region.guest_phys_addr = guest_phys_addr
        region.memory_size = memory_size
        region.userspace_addr = userspace_addr
        region.guest_memfd = guest_memfd
        region.guest_memfd_offset = guest_memfd_offset
        self._ioctl(abi.KVM_SET_USER_MEMORY_REGION2, region)

    def set_memory_attributes(self, address: int, size: int, attributes: int) -> None:
        """KVM_SET_MEMORY_ATTRIBUTES: mark a GPA range private (or shared, with 0)."""
        req = ffi.new("struct kvm_memory_attributes *")
        req.address = address
        req.size = size
        req.attributes = attributes
        self._ioctl(abi.KVM_SET_MEMORY_ATTRIBUTES, req)

    def enable_cap(self, cap: int, *args: int, arg_struct: Any = None) -> int:
        """KVM_ENABLE_CAP. For the realm sub-commands args[0] is the action and args[1] the
        address of the action's struct ([PATCH v9 06/43], api.rst 7.44)."""
        req = ffi.new("struct kvm_enable_cap *")
        req.cap = cap
        values = list(args)
        if arg_struct is not None:
            values.append(_addr(arg_struct))
        for i, value in enumerate(values):
            req.args[i] = value
        return self._ioctl(abi.KVM_ENABLE_CAP, req)

    # --- the realm sub-commands of KVM_CAP_ARM_RME ([PATCH v9 06/43]) -----------------------
    def rme_config_hash(self, algo: int = abi.ARM_RME_CONFIG_HASH_ALGO_SHA256) -> None:
        cfg = ffi.new("struct arm_rme_config *")
        cfg.cfg = abi.ARM_RME_CONFIG_HASH_ALGO
        cfg.hash_algo = algo
        self.enable_cap(self.rme_cap, abi.KVM_CAP_ARM_RME_CONFIG_REALM, arg_struct=cfg)

    def rme_config_rpv(self, rpv: bytes) -> None:
        cfg = ffi.new("struct arm_rme_config *")
        cfg.cfg = abi.ARM_RME_CONFIG_RPV
        cfg.rpv = rpv.ljust(64, b"\0")[:64]
        self.enable_cap(self.rme_cap, abi.KVM_CAP_ARM_RME_CONFIG_REALM, arg_struct=cfg)

    def rme_create_realm(self) -> None:
        self.enable_cap(self.rme_cap, abi.KVM_CAP_ARM_RME_CREATE_REALM)

    def rme_init_ripas(self, base: int, size: int) -> None:
        ripas = ffi.new("struct arm_rme_init_ripas *")
        ripas.base = base
        ripas.size = size
        self.enable_cap(self.rme_cap, abi.KVM_CAP_ARM_RME_INIT_RIPAS_REALM, arg_struct=ripas)

    def rme_populate(self, base: int, size: int, measure: bool = True) -> None:
        pop = ffi.new("struct arm_rme_populate_realm *")
        pop.base = base
        pop.size = size
        pop.flags = abi.KVM_ARM_RME_POPULATE_FLAGS_MEASURE if measure else 0
        self.enable_cap(self.rme_cap, abi.KVM_CAP_ARM_RME_POPULATE_REALM, arg_struct=pop)

    def rme_activate(self) -> None:
        self.enable_cap(self.rme_cap, abi.KVM_CAP_ARM_RME_ACTIVATE_REALM)

    # --- v12 on: KVM_ARM_RMI_POPULATE (cca-uapi-v12-v16.md §1.2, O1, O2) -------------------
    def rmi_populate(
        self, request: int, base: int, size: int, source_uaddr: int, measure: bool = True,
        returns_bytes: bool = False,
    ) -> None:
        """Populate [base, base+size) from source_uaddr until done: v12's _IOW form returns
        the bytes it did; v13/v14's _IOWR form returns 0 and advances the struct's fields.
        The first call creates the realm."""
        req = ffi.new("struct kvm_arm_rmi_populate *")
        req.base, req.size, req.source_uaddr = base, size, source_uaddr
        req.flags = abi.KVM_ARM_RMI_POPULATE_FLAGS_MEASURE if measure else 0
        while req.size:
            before = int(req.size)
            done = self._ioctl(request, req)
            if returns_bytes:
                req.base += done
                req.size -= done
                req.source_uaddr += done
            if int(req.size) >= before:
                raise KvmError(errno.EIO, abi.IOCTL_NAMES.get(request, "KVM_ARM_RMI_POPULATE"),
                               detail="the kernel populated nothing")

    # --- devices and attributes -------------------------------------------------------------
    def set_device_attr(self, group: int, attr: int, value: Any = None) -> None:
        """KVM_SET_DEVICE_ATTR on the VM fd; `value` is the struct the attribute points at."""
        set_attr(self, group, attr, value)

    def set_smccc_filter(self, base: int, nr_functions: int, action: int) -> None:
        """Route a range of SMCCC function ids (upstream v6.4 KVM_ARM_VM_SMCCC_FILTER)."""
        filt = ffi.new("struct kvm_smccc_filter *")
        filt.base = base
        filt.nr_functions = nr_functions
        filt.action = action
        self.set_device_attr(abi.KVM_ARM_VM_SMCCC_CTRL, abi.KVM_ARM_VM_SMCCC_FILTER, filt)

    def create_device(self, dev_type: int) -> Device:
        req = ffi.new("struct kvm_create_device *")
        req.type = dev_type
        self._ioctl(abi.KVM_CREATE_DEVICE, req)
        return Device(self.kernel, int(req.fd))

    def create_vcpu(self, vcpu_id: int = 0) -> Vcpu:
        fd = self._ioctl(abi.KVM_CREATE_VCPU, vcpu_id)
        return Vcpu(self, fd, vcpu_id)


class Device(_Fd):
    def set_attr(self, group: int, attr: int, value: Any = None) -> None:
        set_attr(self, group, attr, value)


def set_attr(obj: _Fd, group: int, attr: int, value: Any = None) -> None:
    req = ffi.new("struct kvm_device_attr *")
    req.group = group
    req.attr = attr
    req.addr = _addr(value) if value is not None else 0
    obj._ioctl(abi.KVM_SET_DEVICE_ATTR, req)


class Vcpu(_Fd):
    def __init__(self, vm: Vm, fd: int, vcpu_id: int) -> None:
        super().__init__(vm.kernel, fd)
        self.vm = vm
        self.vcpu_id = vcpu_id
        self._map_size = vm.kvm.vcpu_mmap_size()
        try:
            self._mapping = self.kernel.mmap(fd, self._map_size)
        except OSError as e:
            raise KvmError(e.errno or errno.EIO, "mmap kvm_run") from None
        self.run_struct = ffi.from_buffer("struct kvm_run *", self._mapping)

    def init(self, target: int, features: Iterable[int] = ()) -> None:
        self.features = tuple(features)  # what it asked for (a recording's header names them)
        req = ffi.new("struct kvm_vcpu_init *")
        req.target = target
        for i, word in enumerate(abi.vcpu_features_word(*self.features)):
            req.features[i] = word
        self._ioctl(abi.KVM_ARM_VCPU_INIT, req)

    def finalize(self, feature: int) -> None:
        """KVM_ARM_VCPU_FINALIZE: SVE, or REC ([PATCH v9 11/43]: this issues RMI_REC_CREATE)."""
        self._ioctl(abi.KVM_ARM_VCPU_FINALIZE, ffi.new("int *", feature))

    def reg_list(self) -> list[int]:
        """KVM_GET_REG_LIST, called twice: n = 0 first to learn the count (E2BIG)."""
        probe = ffi.new("struct kvm_reg_list *")
        probe.n = 0
        try:
            self._ioctl(abi.KVM_GET_REG_LIST, probe)
        except KvmError as e:
            if e.errno != errno.E2BIG:
                raise
        n = int(probe.n)
        lst = ffi.new("struct kvm_reg_list *", {"n": n, "reg": n})
        self._ioctl(abi.KVM_GET_REG_LIST, lst)
        return [int(lst.reg[i]) for i in range(int(lst.n))]

    def _one_reg(self, reg_id: int) -> tuple[Any, Any]:
        buf = ffi.new("uint8_t[]", reg_size(reg_id))
        req = ffi.new("struct kvm_one_reg *")
        req.id = reg_id
        req.addr = _addr(buf)
        return req, buf

    def get_reg(self, reg_id: int) -> int:
        req, buf = self._one_reg(reg_id)
        self._ioctl(abi.KVM_GET_ONE_REG, req, reg=reg_id)
        return int.from_bytes(ffi.buffer(buf), "little")

    def get_regs(self, reg_ids: Iterable[int]) -> list[tuple[int | None, KvmError | None]]:
        """Many KVM_GET_ONE_REGs: each a value or the error; a remote VMM answers them in one
        round trip (realmtui/agent.py)."""
        out: list[tuple[int | None, KvmError | None]] = []
        for reg_id in reg_ids:
            try:
                out.append((self.get_reg(reg_id), None))
            except KvmError as e:
                out.append((None, e))
        return out

    def set_reg(self, reg_id: int, value: int) -> None:
        req, buf = self._one_reg(reg_id)
        size = len(buf)
        if value < 0 or value >= 1 << (8 * size):
            raise ValueError(f"0x{value:x} does not fit in {8 * size} bits")
        ffi.memmove(buf, value.to_bytes(size, "little"), size)
        self._ioctl(abi.KVM_SET_ONE_REG, req, reg=reg_id)

    def run(self) -> Exit:
        """KVM_RUN to the next exit. A failure that still filled kvm_run (a realm's RIPAS change:
        -EFAULT with KVM_EXIT_MEMORY_FAULT, [PATCH v9 17/43]) is an exit, not an error."""
        run = self.run_struct
        # kvm_run.exit_reason is left alone: KVM_RUN reads it to know that the last exit was
        # MMIO it must complete (arm.c kvm_arch_vcpu_ioctl_run), then resets it itself.
        for _ in range(MAX_EINTR_RETRIES + 1):
            try:
                issue(self.kernel, self.fd, abi.KVM_RUN, 0, run=run)
            except OSError as e:
                err = e.errno or errno.EIO
                if err == errno.EINTR:
                    continue
                if err == errno.EFAULT and run.exit_reason == abi.KVM_EXIT_MEMORY_FAULT:
                    return decode_run(run, err)
                raise KvmError(err, "KVM_RUN") from None
            return decode_run(run)
        raise KvmError(
            errno.EINTR, "KVM_RUN", detail="the guest did not exit; KVM_RUN kept being interrupted"
        )

    def set_mmio_data(self, value: int) -> None:
        """Complete an MMIO read: the data travels in kvm_run.mmio.data and KVM hands it to the
        guest on the next KVM_RUN (for a realm via rec_enter.gprs[0], [PATCH v9 18/43])."""
        length = int(self.run_struct.mmio.len)
        if value < 0 or value >= 1 << (8 * length):
            raise ValueError(f"0x{value:x} does not fit in a {length}-byte MMIO read")
        ffi.memmove(self.run_struct.mmio.data, value.to_bytes(8, "little"), 8)

    def get_mp_state(self) -> int:
        state = ffi.new("struct kvm_mp_state *")
        self._ioctl(abi.KVM_GET_MP_STATE, state)
        return int(state.mp_state)

    def set_mp_state(self, mp_state: int) -> None:
        self._ioctl(abi.KVM_SET_MP_STATE, ffi.new("struct kvm_mp_state *", {"mp_state": mp_state}))

    def psci_complete(self, target_mpidr: int, status: int) -> None:
        req = ffi.new("struct kvm_arm_rmm_psci_complete *")
        req.target_mpidr = target_mpidr
        req.psci_status = status
        self._ioctl(abi.KVM_ARM_VCPU_RMM_PSCI_COMPLETE, req)

    def set_device_attr(self, group: int, attr: int, value: Any = None) -> None:
        set_attr(self, group, attr, value)

    def close(self) -> None:
        if self.fd >= 0:
            self.run_struct = None
            self.kernel.munmap(self._mapping)
        super().close()
