"""The access verdict: what a KVM_SET_ONE_REG of a register would do now, and why."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Access(StrEnum):
    # realm VMs
    REFUSED = "refused"  # KVM_SET_ONE_REG fails
    IGNORED = "ignored"  # KVM accepts it, but nothing reads it before the guest runs again
    EFFECTIVE = "effective"  # KVM accepts it and the guest sees it
    # normal VMs (upstream KVM)
    WRITABLE = "writable"
    READ_ONLY = "read-only"

    @property
    def accepted(self) -> bool:
        """Whether the kernel is predicted to take the write."""
        return self in (Access.IGNORED, Access.EFFECTIVE, Access.WRITABLE)


@dataclass(frozen=True)
class Verdict:
    access: Access
    reason: str  # one line, for the grid's detail panel and the inline error
    source: str  # patch subject and version, or TF-RMM file
    errno: str | None = None  # the errno predicted for a refused / read-only write

    def explain(self) -> str:
        return f"{self.reason} ({self.source})"
