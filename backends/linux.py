"""The real kernel behind the Kernel boundary: libc's open/ioctl/mmap/munmap/close via cffi.

Everything here is a thin, faithful pass-through. A call that fails raises
OSError(errno, os.strerror(errno)) with the errno libc reported -- Python then picks the
subclass itself (ENOENT -> FileNotFoundError, EINTR -> InterruptedError, ...). Nothing is
retried: a KVM_RUN interrupted by a signal surfaces as EINTR, and the VMM layer decides.

The object owns every fd and mapping it hands out (including the fds that KVM_CREATE_VM,
KVM_CREATE_VCPU and KVM_CREATE_DEVICE create), so close_all() -- or leaving a `with` block --
releases all of them on every path.

This module must run in a bare arm64 Python (the emulated machine of tools/arm64vm/): stdlib
and cffi only, nothing from realmtui, widgets or Textual.
"""

from __future__ import annotations

import mmap as _mmap
import os
from typing import Any

import cffi

from backends import abi

_ffi = cffi.FFI()
# Prototypes as in glibc's <fcntl.h>, <sys/ioctl.h>, <sys/mman.h>, <unistd.h>. open and ioctl
# are variadic: the optional argument must be passed as a typed cdata (cffi refuses a bare int
# in the variadic part), which also makes its width well-defined -- unsigned long, as the
# kernel's ioctl handler receives it (fs/ioctl.c: SYSCALL_DEFINE3(ioctl, ..., unsigned long)).
_ffi.cdef(
    """
    int open(const char *pathname, int flags, ...);
    int ioctl(int fd, unsigned long request, ...);
    void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset);
    int munmap(void *addr, size_t length);
    int close(int fd);
    """
)
_libc = _ffi.dlopen(None)

_ULONG_MASK = (1 << (8 * _ffi.sizeof("unsigned long"))) - 1
# mmap(2): MAP_FAILED is (void *) -1.
_MAP_FAILED = _ULONG_MASK

# Requests whose non-negative result is a new fd (include/uapi/linux/kvm.h). Tracked so that
# close_all() can release them; KVM_CREATE_DEVICE returns its fd in the struct instead.
# Not in backends.abi: KVM_GET_STATS_FD = _IO(KVMIO, 0xce).
KVM_GET_STATS_FD = (abi.KVMIO << 8) | 0xCE
_FD_RESULT_REQUESTS = frozenset(
    {abi.KVM_CREATE_VM, abi.KVM_CREATE_VCPU, KVM_GET_STATS_FD, abi.KVM_CREATE_GUEST_MEMFD}
)
# struct kvm_create_device { __u32 type; __u32 fd; __u32 flags; }, as u32 indices.
_CREATE_DEVICE_FD_INDEX = abi.ffi.offsetof("struct kvm_create_device", "fd") // 4
_CREATE_DEVICE_FLAGS_INDEX = abi.ffi.offsetof("struct kvm_create_device", "flags") // 4
_KVM_CREATE_DEVICE_TEST = 1  # include/uapi/linux/kvm.h


def _raise_errno() -> None:
    err = _ffi.errno  # cffi saves errno right after each C call, per thread
    raise OSError(err, os.strerror(err))


def _as_ulong(arg: Any) -> Any:
    """An ioctl argument as a C unsigned long: an int as is, a pointer as its address.

    The pointer usually comes from backends.abi.ffi, a different FFI instance; all instances
    share one _cffi_backend, so casting its cdata to uintptr_t here is well-defined.
    """
    if isinstance(arg, bool) or not isinstance(arg, int | _ffi.CData):
        raise TypeError(f"ioctl arg must be an int or a cffi pointer, not {type(arg).__name__}")
    if isinstance(arg, int):
        value = arg & _ULONG_MASK  # a negative int wraps as C's conversion would
    else:
        value = int(_ffi.cast("uintptr_t", arg))
    return _ffi.cast("unsigned long", value)


class LinuxKernel:
    """The Kernel protocol (backends/kernel.py) on the running Linux kernel."""

    name = "linux"

    def __init__(self) -> None:
        # Insertion-ordered, so close_all() releases children (vCPU, device) before parents.
        self._fds: dict[int, None] = {}
        # id(buffer) -> (buffer, address, length). Holding the buffer keeps its id unique.
        self._maps: dict[int, tuple[Any, int, int]] = {}

    # --- the Kernel protocol ---------------------------------------------------------------

    def open(self, path: str) -> int:
        fd = _libc.open(os.fsencode(path), os.O_RDWR | os.O_CLOEXEC)
        if fd < 0:
            _raise_errno()  # nothing was allocated: a failed open(2) creates no fd
        self._fds[fd] = None
        return fd

    def ioctl(self, fd: int, request: int, arg: Any = 0) -> int:
        ulong_arg = _as_ulong(arg)
        result = _libc.ioctl(fd, request & _ULONG_MASK, ulong_arg)
        if result < 0:
            _raise_errno()
        if request in _FD_RESULT_REQUESTS:
            self._fds[result] = None
        elif request == abi.KVM_CREATE_DEVICE:
            # The kernel has just written the struct at this address; read its fd and flags.
            # KVM_CREATE_DEVICE_TEST (flags bit 0) only probes and creates no fd.
            fields = _ffi.cast("uint32_t *", int(ulong_arg))
            if not fields[_CREATE_DEVICE_FLAGS_INDEX] & _KVM_CREATE_DEVICE_TEST:
                self._fds[int(fields[_CREATE_DEVICE_FD_INDEX])] = None
        return int(result)

    def mmap(self, fd: int, length: int) -> Any:
        addr = _libc.mmap(
            _ffi.NULL, length, _mmap.PROT_READ | _mmap.PROT_WRITE, _mmap.MAP_SHARED, fd, 0
        )
        address = int(_ffi.cast("uintptr_t", addr))
        if address == _MAP_FAILED:
            _raise_errno()
        # A cffi buffer over the mapping: writable, and accepted by any FFI's from_buffer.
        # It does not own the memory: touching it after munmap() is a use-after-free, as in C.
        buffer = _ffi.buffer(addr, length)
        self._maps[id(buffer)] = (buffer, address, length)
        return buffer

    def munmap(self, mapping: Any) -> None:
        entry = self._maps.get(id(mapping))
        if entry is None or entry[0] is not mapping:
            raise ValueError("not a live mapping of this kernel (unmapped already, or unknown)")
        del self._maps[id(mapping)]
        _, address, length = entry
        if _libc.munmap(_ffi.cast("void *", address), length) < 0:
            _raise_errno()

    def close(self, fd: int) -> None:
        # Forget the fd first: Linux releases it even when close(2) reports an error
        # (close(2), NOTES: "the file descriptor is released... even if close() fails").
        self._fds.pop(fd, None)
        if _libc.close(fd) < 0:
            _raise_errno()

    # --- lifetime -------------------------------------------------------------------------

    @property
    def open_fds(self) -> tuple[int, ...]:
        """The fds this object opened or received from an ioctl and has not closed."""
        return tuple(self._fds)

    @property
    def live_mappings(self) -> int:
        return len(self._maps)

    def close_all(self) -> None:
        """Unmap every mapping, then close every fd (newest first); raise the first error."""
        first_error: OSError | None = None
        for key in list(self._maps):
            try:
                self.munmap(self._maps[key][0])
            except OSError as exc:
                first_error = first_error or exc
        for fd in reversed(list(self._fds)):
            try:
                self.close(fd)
            except OSError as exc:
                first_error = first_error or exc
        if first_error is not None:
            raise first_error

    def __enter__(self) -> LinuxKernel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close_all()
