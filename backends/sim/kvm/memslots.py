"""Memory as the simulated kernel sees it: the VMM's pages at user addresses, memslots and
guest_memfd (virt/kvm/kvm_main.c __kvm_set_memory_region, virt/kvm/guest_memfd.c, and the
uaccess copy_from_user/copy_to_user).

Like copy_from_user/copy_to_user, the sim reads and writes the VMM's memory at the addresses
the VMM passed in (struct kvm_one_reg.addr, kvm_userspace_memory_region.userspace_addr): the
buffers are in this same process, so the address is enough.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backends import abi
from backends.abi import ffi
from backends.arch import GRANULE_SIZE as PAGE_SIZE
from backends.sim.cpu import Region
from backends.sim.errno_ import errno, fail


def copy_from_user(addr: int, size: int) -> bytes:
    if addr == 0:
        raise fail(errno.EFAULT)
    return bytes(ffi.buffer(ffi.cast("uint8_t *", addr), size))


def read_struct(addr: int, ctype: str) -> Any:
    """copy_from_user into a kernel-side copy of a struct (a cffi struct pointer it owns)."""
    size = ffi.sizeof(ctype)
    copy = ffi.new(ctype + " *")
    ffi.memmove(copy, copy_from_user(addr, size), size)
    return copy


def copy_to_user(addr: int, data: bytes) -> None:
    if addr == 0:
        raise fail(errno.EFAULT)
    ffi.memmove(ffi.cast("uint8_t *", addr), data, len(data))


class GuestMemfd:
    """A guest_memfd (virt/kvm/guest_memfd.c): private memory no VMM mapping reaches. The
    sim keeps no bytes here -- a realm's protected granules live in the RMM's memory."""

    def __init__(self, size: int) -> None:
        self.size = size

    def ioctl(self, request: int, arg: Any) -> int:
        raise fail(errno.ENOTTY)


@dataclass(frozen=True)
class Memslot:
    slot: int
    gpa: int
    size: int
    uaddr: int
    flags: int
    gmem: GuestMemfd | None = None
    gmem_offset: int = 0

    @property
    def can_be_private(self) -> bool:
        """kvm_slot_can_be_private: the slot has a guest_memfd."""
        return bool(self.flags & abi.KVM_MEM_GUEST_MEMFD)

    def contains(self, gpa: int, size: int = 1) -> bool:
        return self.gpa <= gpa and gpa + size <= self.gpa + self.size


class Memslots:
    """KVM_SET_USER_MEMORY_REGION bookkeeping (virt/kvm/kvm_main.c __kvm_set_memory_region)."""

    def __init__(self) -> None:
        self.slots: dict[int, Memslot] = {}

    def set(
        self, slot: int, flags: int, gpa: int, size: int, uaddr: int,
        gmem: GuestMemfd | None = None, gmem_offset: int = 0, valid_flags: int = 0x3,
    ) -> None:
        """`valid_flags`: KVM_MEM_LOG_DIRTY_PAGES | abi.KVM_MEM_READONLY, and KVM_MEM_GUEST_MEMFD
        through KVM_SET_USER_MEMORY_REGION2 on a VM with private memory (check_memory_region_
        flags)."""
        if gpa % PAGE_SIZE or size % PAGE_SIZE or uaddr % PAGE_SIZE:
            raise fail(errno.EINVAL)
        if flags & ~valid_flags:
            raise fail(errno.EINVAL)
        if size == 0:
            self.slots.pop(slot, None)
            return
        if flags & abi.KVM_MEM_GUEST_MEMFD:
            # kvm_gmem_bind: the fd must be a guest_memfd and the range must fit in it.
            if gmem is None or gmem_offset % PAGE_SIZE or gmem_offset + size > gmem.size:
                raise fail(errno.EINVAL)
        new = Memslot(slot, gpa, size, uaddr, flags, gmem, gmem_offset)
        for other in self.slots.values():
            if other.slot != slot and gpa < other.gpa + other.size and other.gpa < gpa + size:
                raise fail(errno.EEXIST)
        self.slots[slot] = new

    def find(self, gpa: int, size: int = 1) -> Memslot | None:
        for s in self.slots.values():
            if s.contains(gpa, size):
                return s
        return None

    def read(self, gpa: int, size: int) -> bytes | None:
        s = self.find(gpa, size)
        if s is None:
            return None
        return copy_from_user(s.uaddr + gpa - s.gpa, size)


class MemslotMemory:
    """A normal VM's guest memory for the CPU: what the memslots map, and nothing else --
    an access anywhere else is a stage-2 fault, which KVM turns into MMIO. The CPU maps the
    VMM's own pages, so the VMM sees the guest's writes as it does with KVM."""

    def __init__(self, slots: Memslots) -> None:
        self.slots = slots

    def regions(self) -> tuple[Region, ...]:
        return tuple(
            Region(s.gpa, s.size, s.uaddr, not s.flags & abi.KVM_MEM_READONLY)
            for s in self.slots.slots.values()
            if not s.can_be_private  # a guest_memfd slot's memory is not the VMM's to map
        )
