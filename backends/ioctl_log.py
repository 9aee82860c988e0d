"""Every ioctl a session makes, as `strace -e ioctl` would show it, decoded for KVM: the name,
the arguments (ONE_REG's id and value, a struct's fields), the result or errno, how long it
took, and for KVM_RUN the exit. Recorded in backends/vmm.py, the one place both kernels (the
sim and Linux) are called from, so the log is the same on either backend.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from backends import abi
from backends.reg_ids import reg_size

ffi = abi.ffi
ONE_REG = (abi.KVM_GET_ONE_REG, abi.KVM_SET_ONE_REG)


@dataclass(frozen=True)
class IoctlRecord:
    seq: int
    fd: int
    name: str
    args: dict[str, str]
    result: int | None  # None when it failed
    errno: int | None
    duration_s: float
    reg: int | None = None  # the ONE_REG register id
    value: int | None = None  # the ONE_REG value (written, or read back)
    exit: dict[str, Any] | None = None  # KVM_RUN: the exit's name and fields

    def as_json(self, reg_name: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"seq": self.seq, "ioctl": self.name, "fd": self.fd}
        if self.reg is not None:
            out["reg"] = reg_name or f"0x{self.reg:x}"
            if self.value is not None:
                out["value"] = f"0x{self.value:x}"
        if self.args:
            out["args"] = self.args
        out["result"] = self.result
        out["errno"] = self.errno
        out["duration_us"] = round(self.duration_s * 1e6, 1)
        if self.exit is not None:
            out["exit"] = self.exit
        return out


@dataclass
class IoctlLog:
    records: list[IoctlRecord] = field(default_factory=list)
    limit: int = 100_000  # a long session keeps the newest

    def __iter__(self) -> Iterator[IoctlRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def add(self, rec: IoctlRecord) -> None:
        self.records.append(rec)
        if len(self.records) > self.limit:
            del self.records[: len(self.records) - self.limit]

    def next_seq(self) -> int:
        return self.records[-1].seq + 1 if self.records else 1


_LOGS: weakref.WeakKeyDictionary[object, IoctlLog] = weakref.WeakKeyDictionary()


def attach(kernel: object) -> IoctlLog:
    """Start (or keep) logging every ioctl the VMM issues to `kernel`."""
    return _LOGS.setdefault(kernel, IoctlLog())


def adopt(kernel: object, log: IoctlLog) -> IoctlLog:
    """Give `kernel` a log kept elsewhere (a remote VMM's, filled from its agent's host)."""
    return _LOGS.setdefault(kernel, log)


def log_of(kernel: object) -> IoctlLog | None:
    try:
        return _LOGS.get(kernel)
    except TypeError:  # a kernel that cannot be weakly referenced is never logged
        return None


def _struct_fields(arg: Any) -> dict[str, str]:
    try:
        t = ffi.typeof(arg)
    except TypeError:
        return {"arg": f"0x{int(arg):x}"} if isinstance(arg, int) else {}
    if t.kind != "pointer":
        return {}
    if t.item.kind == "primitive":
        return {"value": f"0x{int(arg[0]):x}"}
    if t.item.kind != "struct":
        return {}
    out = {}
    for name, _ in t.item.fields:
        value = getattr(arg, name)
        if isinstance(value, int):
            out[name] = f"0x{value:x}"
    return out


def _one_reg(arg: Any) -> tuple[int, int]:
    req = ffi.cast("struct kvm_one_reg *", arg)
    reg_id = int(req.id)
    raw = bytes(ffi.buffer(ffi.cast("uint8_t *", int(req.addr)), reg_size(reg_id)))
    return reg_id, int.from_bytes(raw, "little")


class Call:
    """One ioctl being recorded: arguments before, result after."""

    def __init__(self, log: IoctlLog, fd: int, request: int, arg: Any) -> None:
        self.log, self.fd, self.request, self.arg = log, fd, request, arg
        self.name = abi.IOCTL_NAMES.get(request, f"ioctl 0x{request:x}")
        self.reg: int | None = None
        self.value: int | None = None
        if request in ONE_REG:
            self.args: dict[str, str] = {}
            self.reg, value = _one_reg(arg)
            if request == abi.KVM_SET_ONE_REG:
                self.value = value
        else:
            self.args = _struct_fields(arg)
        self.start = time.perf_counter()

    def done(
        self, result: int | None, err: int | None, exit_: dict[str, Any] | None = None
    ) -> None:
        elapsed = time.perf_counter() - self.start
        if self.request == abi.KVM_GET_ONE_REG and err is None:
            self.value = _one_reg(self.arg)[1]
        elif self.request not in ONE_REG and self.request != abi.KVM_RUN:
            self.args = _struct_fields(self.arg) or self.args  # what the kernel wrote back
        self.log.add(IoctlRecord(
            self.log.next_seq(), self.fd, self.name, self.args, result, err, elapsed,
            self.reg, self.value, exit_,
        ))
