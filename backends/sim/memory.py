"""Memory as the simulated kernel sees it: the VMM's pages at user addresses, and memslots.

Like copy_from_user/copy_to_user, the sim reads and writes the VMM's memory at the addresses
the VMM passed in (struct kvm_one_reg.addr, kvm_userspace_memory_region.userspace_addr): the
buffers are in this same process, so the address is enough.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backends.abi import ffi
from backends.sim.errno_ import errno, fail

PAGE_SIZE = 4096


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


@dataclass(frozen=True)
class Memslot:
    slot: int
    gpa: int
    size: int
    uaddr: int
    flags: int

    def contains(self, gpa: int, size: int = 1) -> bool:
        return self.gpa <= gpa and gpa + size <= self.gpa + self.size


class Memslots:
    """KVM_SET_USER_MEMORY_REGION bookkeeping (virt/kvm/kvm_main.c __kvm_set_memory_region)."""

    def __init__(self) -> None:
        self.slots: dict[int, Memslot] = {}

    def set(self, slot: int, flags: int, gpa: int, size: int, uaddr: int) -> None:
        if gpa % PAGE_SIZE or size % PAGE_SIZE or uaddr % PAGE_SIZE:
            raise fail(errno.EINVAL)
        if flags & ~0x3:  # KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY
            raise fail(errno.EINVAL)
        if size == 0:
            self.slots.pop(slot, None)
            return
        new = Memslot(slot, gpa, size, uaddr, flags)
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
    """A normal VM's guest memory for the CPU: what the memslots map, and nothing else —
    an access anywhere else is a stage-2 fault, which KVM turns into MMIO."""

    def __init__(self, slots: Memslots) -> None:
        self.slots = slots

    def load(self, ipa: int, size: int) -> int | None:
        data = self.slots.read(ipa, size)
        return None if data is None else int.from_bytes(data, "little")

    def store(self, ipa: int, size: int, value: int) -> bool:
        s = self.slots.find(ipa, size)
        if s is None or s.flags & 0x2:  # KVM_MEM_READONLY writes fault to userspace
            return False
        copy_to_user(
            s.uaddr + ipa - s.gpa, (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        )
        return True
