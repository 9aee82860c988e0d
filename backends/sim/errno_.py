"""How the simulated kernel fails: exactly like a syscall, an OSError carrying the errno."""

from __future__ import annotations

import errno
import os


class SimErrno(OSError):
    def __init__(self, err: int) -> None:
        super().__init__(err, os.strerror(err))


def fail(err: int) -> SimErrno:
    """`raise fail(errno.EINVAL)` reads like the kernel's `return -EINVAL`."""
    return SimErrno(err)


__all__ = ["SimErrno", "fail", "errno"]
