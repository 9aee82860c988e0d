"""The simulated kernel's syscall surface: the same open/ioctl/mmap/close the VMM uses on
Linux, answered from an fd table of simulated KVM objects."""

from __future__ import annotations

from typing import Any, Protocol

from backends.sim.errno_ import errno, fail
from backends.sim.host import SimHost
from backends.sim.kvm.arm import VCPU_MMAP_SIZE, SimVcpu
from backends.sim.kvm.kvm_main import SimSystem

# Simulated fds start high so that they can't be mistaken for the process's real ones.
FIRST_FD = 1000


class _FdObject(Protocol):
    def ioctl(self, request: int, arg: Any) -> int: ...


class SimKernel:
    name = "sim"

    def __init__(self, host: SimHost | None = None) -> None:
        self.host = host or SimHost()
        self._fds: dict[int, _FdObject] = {}
        self._next = FIRST_FD
        self._maps: dict[int, SimVcpu] = {}

    def install(self, obj: _FdObject) -> int:
        fd = self._next
        self._next += 1
        self._fds[fd] = obj
        return fd

    def object(self, fd: int) -> _FdObject:
        try:
            return self._fds[fd]
        except KeyError:
            raise fail(errno.EBADF) from None

    def open(self, path: str) -> int:
        if path != "/dev/kvm":
            raise fail(errno.ENOENT)
        return self.install(SimSystem(self))

    def ioctl(self, fd: int, request: int, arg: Any = 0) -> int:
        return self.object(fd).ioctl(request, arg)

    def mmap(self, fd: int, length: int) -> bytearray:
        obj = self.object(fd)
        if not isinstance(obj, SimVcpu):
            raise fail(errno.ENODEV)
        if length > VCPU_MMAP_SIZE or length <= 0:
            raise fail(errno.EINVAL)
        # A shared mapping of the vCPU's kvm_run page: the VMM and the kernel see the same
        # bytes, so the VMM can read exits and write MMIO data as on Linux.
        self._maps[id(obj.page)] = obj
        return obj.page

    def munmap(self, mapping: Any) -> None:
        if self._maps.pop(id(mapping), None) is None:
            raise ValueError("not a mapping of this kernel")

    def close(self, fd: int) -> None:
        if self._fds.pop(fd, None) is None:
            raise fail(errno.EBADF)
