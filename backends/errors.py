"""The one error type the VMM raises: a failed ioctl, with its errno, the ioctl and the register."""

from __future__ import annotations

import errno as errno_mod
import os


class KvmError(Exception):
    """An ioctl (or open/mmap) that the kernel refused."""

    def __init__(self, err: int, call: str, reg: int | None = None, detail: str = "") -> None:
        self.errno = err
        self.call = call
        self.reg = reg
        self.detail = detail
        super().__init__(str(self))

    @property
    def errno_name(self) -> str:
        return errno_mod.errorcode.get(self.errno, f"errno {self.errno}")

    def __str__(self) -> str:
        where = f"{self.call}" + (f" (reg 0x{self.reg:016x})" if self.reg is not None else "")
        text = f"{where}: {self.errno_name} ({os.strerror(self.errno)})"
        return f"{text} — {self.detail}" if self.detail else text
