"""Every ioctl a session makes, as `strace -e ioctl` would show it, decoded for KVM: the name,
the arguments (ONE_REG's id and value, a struct's fields), the result or errno, how long it
took, and for KVM_RUN the exit. Recorded in backends/vmm.py, the one place both kernels (the
sim and Linux) are called from, so the log is the same on either backend.
"""

from __future__ import annotations

import errno
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from backends import abi
from backends.reg_ids import reg_size

ffi = abi.ffi
ONE_REG = (abi.KVM_GET_ONE_REG, abi.KVM_SET_ONE_REG)


class IoctlRecord(NamedTuple):
    """One ioctl, as the log hands it out (it keeps the same fields as a plain tuple)."""

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
    """The session's ioctls, oldest first. Kept as plain tuples: Python's cyclic garbage
    collector stops tracking a tuple of plain values, where each named tuple or dataclass
    would be walked by every full collection -- with tens of thousands kept, that cost the app
    some 20 ms a step (benchmarks/bench_tui.py)."""

    # A long session keeps the newest (some 350 bytes each: 50,000 is about 17 MB); a sink
    # (`batch --ioctl-log FILE`) gets every one as it is made.
    limit: int = 50_000
    sink: Callable[[IoctlRecord], None] | None = None
    seq: int = 0  # of the last record
    _rows: list[tuple[Any, ...]] = field(default_factory=list)

    def __iter__(self) -> Iterator[IoctlRecord]:
        return (_record(r) for r in self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def newest(self, n: int) -> list[IoctlRecord]:
        self.sync()
        return [_record(r) for r in self._rows[-n:]] if n > 0 else []

    def since(self, seq: int) -> list[IoctlRecord]:
        """The records made after record `seq`, oldest first (a recorder's one step)."""
        self.sync()
        rows = self._rows
        first = len(rows)
        while first > 0 and rows[first - 1][0] > seq:
            first -= 1
        return [_record(r) for r in rows[first:]]

    def sync(self) -> None:
        """Bring in records kept elsewhere (a remote VMM's log, realmtui/remote.py)."""

    def add_record(self, rec: IoctlRecord) -> None:
        self.add(rec[:3] + (tuple(rec.args.items()),) + rec[4:])

    def add(self, row: tuple[Any, ...]) -> None:
        """One record: IoctlRecord's fields in order, the arguments as (name, value) pairs."""
        self._rows.append(row)
        self.seq = row[0]
        if self.sink is not None:
            self.sink(_record(row))
        if len(self._rows) > self.limit + self.limit // 10:  # trimmed now and then, not
            del self._rows[: len(self._rows) - self.limit]  # at every call

    def next_seq(self) -> int:
        return self.seq + 1


def _record(row: tuple[Any, ...]) -> IoctlRecord:
    return IoctlRecord._make(row[:3] + (dict(row[3]),) + row[4:])


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


def _one_reg_value(req: Any, size: int) -> int:
    if size == 8:
        return int(ffi.cast("uint64_t *", req.addr)[0])
    return int.from_bytes(ffi.buffer(ffi.cast("uint8_t *", req.addr), size), "little")


_GET_NAME, _SET_NAME = "KVM_GET_ONE_REG", "KVM_SET_ONE_REG"


def one_reg(log: IoctlLog, ioctl: Callable[[int, int, Any], int], fd: int, request: int,
            arg: Any) -> int:
    """A ONE_REG ioctl, logged. Every step reads every register (some 80 calls), so this path
    is kept short: no Call object, one cast, the value read once (before a SET, after a GET),
    a row of plain values."""
    req = ffi.cast("struct kvm_one_reg *", arg)
    reg = int(req.id)
    size = reg_size(reg)
    is_set = request == abi.KVM_SET_ONE_REG
    value = _one_reg_value(req, size) if is_set else None
    name = _SET_NAME if is_set else _GET_NAME
    start = time.perf_counter()
    try:
        result = ioctl(fd, request, arg)
    except OSError as e:
        log.add((log.seq + 1, fd, name, (), None, e.errno or errno.EIO,
                 time.perf_counter() - start, reg, value, None))
        raise
    elapsed = time.perf_counter() - start
    if not is_set:
        value = _one_reg_value(req, size)
    log.add((log.seq + 1, fd, name, (), result, None, elapsed, reg, value, None))
    return result


class Call:
    """One ioctl being recorded: arguments before, result after."""

    def __init__(self, log: IoctlLog, fd: int, request: int, arg: Any) -> None:
        self.log, self.fd, self.request, self.arg = log, fd, request, arg
        self.name = abi.IOCTL_NAMES.get(request, f"ioctl 0x{request:x}")
        self.args = _struct_fields(arg)  # ONE_REG goes through one_reg()
        self.start = time.perf_counter()

    def done(
        self, result: int | None, err: int | None, exit_: dict[str, Any] | None = None
    ) -> None:
        elapsed = time.perf_counter() - self.start
        if self.request != abi.KVM_RUN:
            self.args = _struct_fields(self.arg) or self.args  # what the kernel wrote back
        # The arguments as a tuple of pairs: a dict would keep the row tracked by the GC.
        self.log.add((
            self.log.seq + 1, self.fd, self.name, tuple(self.args.items()), result, err,
            elapsed, None, None, exit_,
        ))
