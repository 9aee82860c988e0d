"""Corrections 4 / issue 13 item 2: a realm's RAM is guest_memfd-backed private memory, and v9
POPULATE refuses any other slot ([PATCH v9 19/43] populate_region). A normal VM keeps its plain
memslot (Linux 6.1 has no guest_memfd)."""

from __future__ import annotations

import errno
import mmap

import pytest

from backends import abi
from backends.errors import KvmError
from backends.machine import DemoMachine, MachineSpec
from backends.sim import SimKernel
from backends.vmm import Kvm, Vm

BASE, SIZE = 0x8000_0000, 0x10_0000


class Recording(SimKernel):
    """A sim kernel that remembers the VMM's ioctls, by name."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def ioctl(self, fd: int, request: int, arg=0) -> int:  # type: ignore[no-untyped-def]
        self.calls.append(abi.IOCTL_NAMES.get(request, hex(request)))
        return super().ioctl(fd, request, arg)


def _realm() -> tuple[Vm, mmap.mmap, int]:
    vm = Kvm(SimKernel()).create_vm(abi.KVM_VM_TYPE_ARM_REALM | 40)
    ram = mmap.mmap(-1, SIZE)
    uaddr = int(abi.ffi.cast("uintptr_t", abi.ffi.from_buffer(ram)))
    vm.rme_create_realm()
    vm.rme_init_ripas(BASE, SIZE)
    return vm, ram, uaddr


def _errno(fn) -> int:  # type: ignore[no-untyped-def]
    try:
        fn()
    except KvmError as e:
        return e.errno
    return 0


def test_the_realm_machine_backs_its_ram_with_guest_memfd() -> None:
    k = Recording()
    m = DemoMachine(k, MachineSpec(realm=True))
    m.build()
    mem = [c for c in k.calls if "MEMORY" in c or "MEMFD" in c]
    assert mem == ["KVM_CREATE_GUEST_MEMFD", "KVM_SET_USER_MEMORY_REGION2",
                   "KVM_SET_MEMORY_ATTRIBUTES"]
    m.create_realm()  # INIT_RIPAS and POPULATE of the image: accepted on that slot
    m.close()


def test_the_normal_machine_keeps_a_plain_memslot() -> None:
    k = Recording()
    DemoMachine(k, MachineSpec(realm=False)).build()
    assert [c for c in k.calls if "MEMORY" in c or "MEMFD" in c] == [
        "KVM_SET_USER_MEMORY_REGION"]


def test_populate_on_a_slot_without_guest_memfd_is_eperm() -> None:
    vm, _ram, uaddr = _realm()
    vm.set_user_memory_region(0, BASE, SIZE, uaddr)
    assert _errno(lambda: vm.rme_populate(BASE, 0x1000)) == errno.EPERM


def test_populate_without_a_memslot_is_efault_and_across_slots_einval() -> None:
    vm, _ram, uaddr = _realm()
    assert _errno(lambda: vm.rme_populate(BASE, 0x1000)) == errno.EFAULT
    gmem = vm.create_guest_memfd(SIZE)
    vm.set_user_memory_region2(0, BASE, SIZE // 2, uaddr, gmem)
    vm.set_user_memory_region2(1, BASE + SIZE // 2, SIZE // 2, uaddr + SIZE // 2, gmem,
                               SIZE // 2)
    assert _errno(lambda: vm.rme_populate(BASE + SIZE // 2 - 0x1000, 0x2000)) == errno.EINVAL
    vm.rme_populate(BASE, 0x1000)


@pytest.mark.parametrize("what,expected", [
    ("normal VM", errno.EINVAL), ("bad size", errno.EINVAL), ("flags", errno.EINVAL),
])
def test_create_guest_memfd_errors(what: str, expected: int) -> None:
    realm = what != "normal VM"
    vm = Kvm(SimKernel()).create_vm((abi.KVM_VM_TYPE_ARM_REALM if realm else 0) | 40)
    size = 0x1234 if what == "bad size" else 0x1000
    flags = 1 if what == "flags" else 0
    assert _errno(lambda: vm.create_guest_memfd(size, flags)) == expected


def test_memory_attributes_take_only_private_page_aligned() -> None:
    vm, _ram, _uaddr = _realm()
    assert _errno(lambda: vm.set_memory_attributes(BASE, 0x1000, 1 << 0)) == errno.EINVAL
    private = abi.KVM_MEMORY_ATTRIBUTE_PRIVATE
    assert _errno(lambda: vm.set_memory_attributes(BASE + 1, 0x1000, private)) == errno.EINVAL
    vm.set_memory_attributes(BASE, SIZE, abi.KVM_MEMORY_ATTRIBUTE_PRIVATE)


def test_guest_memfd_ioctl_numbers_are_the_kernels() -> None:
    # include/uapi/linux/kvm.h: _IOW(0x49, 160-byte region2) (reference/arm64-uapi.json),
    # _IOWR(0xd4, 64-byte kvm_create_guest_memfd), _IOW(0xd2, 32-byte kvm_memory_attributes).
    assert abi.KVM_SET_USER_MEMORY_REGION2 == 0x40A0AE49
    assert abi.KVM_CREATE_GUEST_MEMFD == 0xC040AED4
    assert abi.KVM_SET_MEMORY_ATTRIBUTES == 0x4020AED2
