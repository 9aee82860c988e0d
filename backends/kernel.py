"""The one boundary between the VMM and a kernel: open, ioctl, mmap, close.

backends/linux.py passes these to libc on /dev/kvm; backends/sim/ answers them in Python.
Both receive the same request numbers and the same struct memory (cffi objects from
backends/abi.py), and both fail the same way: an OSError carrying the kernel's errno.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

# An ioctl argument is what the syscall takes: an integer, or a pointer to struct memory
# (a cffi cdata such as ffi.new("struct kvm_one_reg *")).
IoctlArg = Any
# A writable buffer that cffi's ffi.from_buffer accepts (mmap.mmap, bytearray).
Buffer = Any


@runtime_checkable
class Kernel(Protocol):
    """A kernel as the VMM sees it. Every method raises OSError(errno, ...) on failure."""

    name: str

    def open(self, path: str) -> int:
        """Open a device node read-write and close-on-exec; return the fd."""
        ...

    def ioctl(self, fd: int, request: int, arg: IoctlArg = 0) -> int:
        """Issue one ioctl; return its non-negative result."""
        ...

    def mmap(self, fd: int, length: int) -> Buffer:
        """Map `length` bytes of fd at offset 0, shared, read-write (the vCPU's kvm_run)."""
        ...

    def munmap(self, mapping: Buffer) -> None:
        """Release a mapping returned by mmap."""
        ...

    def close(self, fd: int) -> None: ...
