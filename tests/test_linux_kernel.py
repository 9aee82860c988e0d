"""LinuxKernel against the real /dev/kvm of this machine: the arch-neutral transport.

CI runs on x86_64 with a real /dev/kvm. Only generic KVM ioctls are used here (their numbers
are the same on x86 and arm64: include/uapi/linux/kvm.h), so this checks the transport itself
-- int and pointer arguments, fds, the kvm_run mapping, errno -- not arm64 semantics, which
tools/arm64vm/ tests inside an emulated arm64 machine.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
from collections.abc import Iterator

import pytest

from backends import abi
from backends.kernel import Kernel
from backends.linux import KVM_GET_STATS_FD, LinuxKernel

KVM_PATH = "/dev/kvm"


def _kvm_unusable() -> str | None:
    if not os.path.exists(KVM_PATH):
        return f"{KVM_PATH} is absent on this machine"
    try:
        fd = os.open(KVM_PATH, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        return f"{KVM_PATH} exists but cannot be opened read-write: {exc}"
    os.close(fd)
    return None


_reason = _kvm_unusable()
if _reason is not None:
    pytest.skip(_reason, allow_module_level=True)

# Not in backends.abi (the VMM has no use for them); numbers from include/uapi/linux/kvm.h.
KVM_GET_MP_STATE = (2 << 30) | (4 << 16) | (abi.KVMIO << 8) | 0x98  # _IOR(KVMIO, 0x98, u32)
KVM_CREATE_DEVICE_TEST = 1
KVM_DEV_TYPE_VFIO = 4
# An ioctl number no KVM handler knows: type KVMIO, nr 0x7f, no direction, no size.
UNKNOWN_REQUEST = (abi.KVMIO << 8) | 0x7F


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture
def kernel() -> Iterator[LinuxKernel]:
    before = _open_fds()
    k = LinuxKernel()
    yield k
    k.close_all()
    assert k.open_fds == () and k.live_mappings == 0
    assert _open_fds() == before, "LinuxKernel leaked an fd"


@pytest.fixture
def sys_fd(kernel: LinuxKernel) -> int:
    return kernel.open(KVM_PATH)


@pytest.fixture
def vm_fd(kernel: LinuxKernel, sys_fd: int) -> int:
    return kernel.ioctl(sys_fd, abi.KVM_CREATE_VM, 0)


@pytest.fixture
def vcpu_fd(kernel: LinuxKernel, vm_fd: int) -> int:
    return kernel.ioctl(vm_fd, abi.KVM_CREATE_VCPU, 0)


def test_is_a_kernel() -> None:
    assert isinstance(LinuxKernel(), Kernel)
    assert LinuxKernel.name == "linux"


def test_api_version(kernel: LinuxKernel, sys_fd: int) -> None:
    assert kernel.ioctl(sys_fd, abi.KVM_GET_API_VERSION) == abi.KVM_API_VERSION == 12


def test_check_extension_user_memory(kernel: LinuxKernel, sys_fd: int) -> None:
    assert kernel.ioctl(sys_fd, abi.KVM_CHECK_EXTENSION, abi.KVM_CAP_USER_MEMORY) > 0


def test_open_is_cloexec(kernel: LinuxKernel, sys_fd: int) -> None:
    assert fcntl.fcntl(sys_fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
    assert fcntl.fcntl(sys_fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDWR


def test_create_vm_and_vcpu_give_tracked_fds(
    kernel: LinuxKernel, sys_fd: int, vm_fd: int, vcpu_fd: int
) -> None:
    assert len({sys_fd, vm_fd, vcpu_fd}) == 3
    assert min(sys_fd, vm_fd, vcpu_fd) >= 0
    assert kernel.open_fds == (sys_fd, vm_fd, vcpu_fd)
    assert os.readlink(f"/proc/self/fd/{vm_fd}") == "anon_inode:kvm-vm"
    assert os.readlink(f"/proc/self/fd/{vcpu_fd}").startswith("anon_inode:kvm-vcpu")


def test_kvm_run_mapping(kernel: LinuxKernel, sys_fd: int, vcpu_fd: int) -> None:
    size = kernel.ioctl(sys_fd, abi.KVM_GET_VCPU_MMAP_SIZE)
    assert size > 0 and size % mmap.PAGESIZE == 0
    assert size >= abi.ffi.sizeof("struct kvm_run")
    buf = kernel.mmap(vcpu_fd, size)
    assert len(buf) == size
    run = abi.ffi.cast("struct kvm_run *", abi.ffi.from_buffer(buf))
    assert run.exit_reason == abi.KVM_EXIT_UNKNOWN == 0  # nothing has run yet
    # The mapping is shared and writable: a write through one view is seen by the other.
    run.immediate_exit = 1
    assert buf[abi.ffi.offsetof("struct kvm_run", "immediate_exit")] == b"\x01"
    kernel.munmap(buf)
    assert kernel.live_mappings == 0


def test_munmap_twice_or_unknown_is_value_error(kernel: LinuxKernel, vcpu_fd: int) -> None:
    buf = kernel.mmap(vcpu_fd, mmap.PAGESIZE)
    kernel.munmap(buf)
    with pytest.raises(ValueError):
        kernel.munmap(buf)
    with pytest.raises(ValueError):
        kernel.munmap(bytearray(mmap.PAGESIZE))


def test_mmap_error_is_the_kernels(kernel: LinuxKernel, sys_fd: int) -> None:
    # The system fd has no mmap handler (kvm_chardev_ops): mmap(2) gives ENODEV.
    with pytest.raises(OSError) as info:
        kernel.mmap(sys_fd, mmap.PAGESIZE)
    assert info.value.errno == errno.ENODEV
    assert kernel.live_mappings == 0


def test_pointer_argument_is_written_through(kernel: LinuxKernel, vcpu_fd: int) -> None:
    # KVM_GET_MP_STATE writes struct kvm_mp_state { __u32 mp_state; } through the pointer;
    # a fresh vCPU 0 is runnable (KVM_MP_STATE_RUNNABLE == 0) on x86 and arm64 alike.
    state = abi.ffi.new("uint32_t *", 0xFFFF_FFFF)
    assert kernel.ioctl(vcpu_fd, KVM_GET_MP_STATE, state) == 0
    assert state[0] == 0


def test_pointer_argument_is_read(kernel: LinuxKernel, vm_fd: int) -> None:
    backing = mmap.mmap(-1, 0x10000)
    try:
        region = abi.ffi.new("struct kvm_userspace_memory_region *")
        region.slot = 0
        region.guest_phys_addr = 0x10_0000
        region.memory_size = 0x10000
        region.userspace_addr = int(abi.ffi.cast("uintptr_t", abi.ffi.from_buffer(backing)))
        assert kernel.ioctl(vm_fd, abi.KVM_SET_USER_MEMORY_REGION, region) == 0
        # The kernel reads what we wrote: a size that is not page-aligned is refused
        # (virt/kvm/kvm_main.c, kvm_set_memory_region: "if (mem->memory_size & (PAGE_SIZE - 1))").
        region.slot = 1
        region.guest_phys_addr = 0x20_0000
        region.memory_size = 0x123
        with pytest.raises(OSError) as info:
            kernel.ioctl(vm_fd, abi.KVM_SET_USER_MEMORY_REGION, region)
        assert info.value.errno == errno.EINVAL
    finally:
        backing.close()


def test_unknown_ioctl_errno_matches_libc(kernel: LinuxKernel, sys_fd: int) -> None:
    # virt/kvm/kvm_main.c, kvm_dev_ioctl: unknown requests go to kvm_arch_dev_ioctl, whose
    # default is -EINVAL on x86 (arch/x86/kvm/x86.c) and arm64 (arch/arm64/kvm/arm.c).
    with pytest.raises(OSError) as ours:
        kernel.ioctl(sys_fd, UNKNOWN_REQUEST, 0)
    # The same call through CPython's own libc wrapper must report the same errno.
    with pytest.raises(OSError) as libcs:
        fcntl.ioctl(sys_fd, UNKNOWN_REQUEST, 0)
    assert ours.value.errno == libcs.value.errno == errno.EINVAL
    assert type(ours.value) is OSError
    assert ours.value.strerror == os.strerror(errno.EINVAL)
    assert ours.value.args == (errno.EINVAL, os.strerror(errno.EINVAL))


def test_create_vcpu_absurd_id_is_einval(kernel: LinuxKernel, vm_fd: int) -> None:
    # kvm_vm_ioctl_create_vcpu: "if (id >= KVM_MAX_VCPU_IDS) return -EINVAL;"
    with pytest.raises(OSError) as info:
        kernel.ioctl(vm_fd, abi.KVM_CREATE_VCPU, 0x7FFF_FFFF)
    assert info.value.errno == errno.EINVAL
    assert len(kernel.open_fds) == 2  # only the system and VM fds


def test_create_vcpu_twice_is_eexist(kernel: LinuxKernel, vm_fd: int, vcpu_fd: int) -> None:
    # kvm_vm_ioctl_create_vcpu: a taken id fails with -EEXIST (kvm_get_vcpu_by_id).
    with pytest.raises(FileExistsError) as info:
        kernel.ioctl(vm_fd, abi.KVM_CREATE_VCPU, 0)
    assert info.value.errno == errno.EEXIST


def test_create_vm_bad_type_is_einval(kernel: LinuxKernel, sys_fd: int) -> None:
    with pytest.raises(OSError) as info:
        kernel.ioctl(sys_fd, abi.KVM_CREATE_VM, 0xDEAD)
    assert info.value.errno == errno.EINVAL


def test_eintr_is_reported_not_retried(kernel: LinuxKernel, sys_fd: int, vcpu_fd: int) -> None:
    # With kvm_run.immediate_exit set, KVM_RUN returns -EINTR without entering the guest
    # (Documentation/virt/kvm/api.rst, "immediate_exit"). The VMM retries; we must not.
    size = kernel.ioctl(sys_fd, abi.KVM_GET_VCPU_MMAP_SIZE)
    buf = kernel.mmap(vcpu_fd, size)
    abi.ffi.cast("struct kvm_run *", abi.ffi.from_buffer(buf)).immediate_exit = 1
    with pytest.raises(InterruptedError) as info:
        kernel.ioctl(vcpu_fd, abi.KVM_RUN, 0)
    assert info.value.errno == errno.EINTR


def test_create_device_fd_is_tracked(kernel: LinuxKernel, vm_fd: int) -> None:
    dev = abi.ffi.new("struct kvm_create_device *")
    dev.type = KVM_DEV_TYPE_VFIO
    dev.flags = KVM_CREATE_DEVICE_TEST
    try:
        kernel.ioctl(vm_fd, abi.KVM_CREATE_DEVICE, dev)
    except OSError as exc:
        pytest.skip(f"no KVM VFIO device on this host ({exc})")
    assert len(kernel.open_fds) == 2  # a test-only probe creates no fd
    dev.flags = 0
    kernel.ioctl(vm_fd, abi.KVM_CREATE_DEVICE, dev)
    assert kernel.open_fds[-1] == dev.fd
    assert os.readlink(f"/proc/self/fd/{dev.fd}") == "anon_inode:kvm-vfio"


def test_stats_fd_is_tracked(kernel: LinuxKernel, vm_fd: int, vcpu_fd: int) -> None:
    # KVM_GET_STATS_FD (generic since Linux 5.14) returns a new fd on VM and vCPU fds.
    vm_stats = kernel.ioctl(vm_fd, KVM_GET_STATS_FD)
    vcpu_stats = kernel.ioctl(vcpu_fd, KVM_GET_STATS_FD)
    assert kernel.open_fds[-2:] == (vm_stats, vcpu_stats)
    assert os.readlink(f"/proc/self/fd/{vm_stats}") == "anon_inode:kvm-vm-stats"


def test_open_nonexistent_is_enoent_and_leaks_nothing() -> None:
    before = _open_fds()
    k = LinuxKernel()
    with pytest.raises(FileNotFoundError) as info:
        k.open("/nonexistent")
    assert info.value.errno == errno.ENOENT
    assert k.open_fds == ()
    assert _open_fds() == before


def test_close_bad_fd_is_ebadf(kernel: LinuxKernel) -> None:
    fd = os.open("/dev/null", os.O_RDONLY)
    os.close(fd)
    with pytest.raises(OSError) as info:
        kernel.close(fd)
    assert info.value.errno == errno.EBADF


def test_bad_arg_type_is_type_error(kernel: LinuxKernel, sys_fd: int) -> None:
    with pytest.raises(TypeError):
        kernel.ioctl(sys_fd, abi.KVM_CHECK_EXTENSION, "3")


def test_context_manager_releases_everything() -> None:
    before = _open_fds()
    with LinuxKernel() as k:
        sys_fd = k.open(KVM_PATH)
        vm_fd = k.ioctl(sys_fd, abi.KVM_CREATE_VM, 0)
        vcpu_fd = k.ioctl(vm_fd, abi.KVM_CREATE_VCPU, 0)
        size = k.ioctl(sys_fd, abi.KVM_GET_VCPU_MMAP_SIZE)
        k.mmap(vcpu_fd, size)
        assert len(_open_fds() - before) == 3
    assert k.open_fds == () and k.live_mappings == 0
    assert _open_fds() == before
