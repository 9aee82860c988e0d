"""Decoded KVM_RUN exits: what struct kvm_run said when the vCPU came back to the VMM."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backends import abi


@dataclass(frozen=True)
class Exit:
    """One return from KVM_RUN. `errno` is set when KVM_RUN failed but still filled kvm_run
    (a realm's RIPAS change comes back as -EFAULT with KVM_EXIT_MEMORY_FAULT, v9-17)."""

    reason: int
    errno: int | None = None

    @property
    def name(self) -> str:
        return abi.EXIT_NAMES.get(self.reason, f"EXIT_{self.reason}")

    def fields(self) -> dict[str, Any]:
        """The exit's own fields, for JSON and the UI (hex strings for addresses and data)."""
        return {}


@dataclass(frozen=True)
class MmioExit(Exit):
    addr: int = 0
    length: int = 0
    is_write: bool = False
    data: int = 0  # the bytes the guest wrote (little-endian); 0 for a read

    def fields(self) -> dict[str, Any]:
        return {
            "addr": f"0x{self.addr:x}",
            "len": self.length,
            "is_write": self.is_write,
            "data": f"0x{self.data:x}",
        }


@dataclass(frozen=True)
class HypercallExit(Exit):
    nr: int = 0  # the SMCCC function id
    flags: int = 0  # KVM_HYPERCALL_EXIT_SMC, KVM_HYPERCALL_EXIT_16BIT

    def fields(self) -> dict[str, Any]:
        return {
            "nr": f"0x{self.nr:x}",
            "flags": self.flags,
            "smc": bool(self.flags & abi.KVM_HYPERCALL_EXIT_SMC),
        }


@dataclass(frozen=True)
class SystemEventExit(Exit):
    type: int = 0
    data: tuple[int, ...] = field(default_factory=tuple)

    @property
    def type_name(self) -> str:
        return {
            abi.KVM_SYSTEM_EVENT_SHUTDOWN: "SHUTDOWN",
            abi.KVM_SYSTEM_EVENT_RESET: "RESET",
            abi.KVM_SYSTEM_EVENT_CRASH: "CRASH",
        }.get(self.type, str(self.type))

    def fields(self) -> dict[str, Any]:
        return {"type": self.type_name, "data": [f"0x{d:x}" for d in self.data]}


@dataclass(frozen=True)
class MemoryFaultExit(Exit):
    flags: int = 0
    gpa: int = 0
    size: int = 0

    @property
    def private(self) -> bool:
        return bool(self.flags & abi.KVM_MEMORY_EXIT_FLAG_PRIVATE)

    def fields(self) -> dict[str, Any]:
        return {
            "gpa": f"0x{self.gpa:x}",
            "size": f"0x{self.size:x}",
            "flags": self.flags,
            "private": self.private,
        }


@dataclass(frozen=True)
class InternalErrorExit(Exit):
    suberror: int = 0
    data: tuple[int, ...] = field(default_factory=tuple)

    def fields(self) -> dict[str, Any]:
        return {"suberror": self.suberror, "data": [f"0x{d:x}" for d in self.data]}


def decode_run(run: Any, err: int | None = None) -> Exit:
    """Read the exit out of a `struct kvm_run *` (cffi)."""
    reason = int(run.exit_reason)
    if reason == abi.KVM_EXIT_MMIO:
        length = int(run.mmio.len)
        data = int.from_bytes(bytes(run.mmio.data)[: min(length, 8)], "little")
        is_write = bool(run.mmio.is_write)
        return MmioExit(
            reason, err, int(run.mmio.phys_addr), length, is_write, data if is_write else 0
        )
    if reason == abi.KVM_EXIT_HYPERCALL:
        return HypercallExit(reason, err, int(run.hypercall.nr), int(run.hypercall.flags))
    if reason == abi.KVM_EXIT_SYSTEM_EVENT:
        n = min(int(run.system_event.ndata), 16)
        return SystemEventExit(
            reason,
            err,
            int(run.system_event.type),
            tuple(int(run.system_event.data[i]) for i in range(n)),
        )
    if reason == abi.KVM_EXIT_MEMORY_FAULT:
        mf = run.memory_fault
        return MemoryFaultExit(reason, err, int(mf.flags), int(mf.gpa), int(mf.size))
    if reason == abi.KVM_EXIT_INTERNAL_ERROR:
        n = min(int(run.internal.ndata), 16)
        return InternalErrorExit(
            reason,
            err,
            int(run.internal.suberror),
            tuple(int(run.internal.data[i]) for i in range(n)),
        )
    return Exit(reason, err)
