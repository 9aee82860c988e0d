"""What the Session hands the UI: plain values, no VMM, no kernel.

The widgets import these without importing the Session (an import-linter contract says so):
a register's view carries its own value history, so nothing on the UI side calls back into
the live Session to draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from backends.exits import Exit
from realmtui.context import ExitCause, VcpuContext
from realmtui.regs import RegInfo
from realmtui.verdict import Verdict


class Stage(StrEnum):
    """Where the VM is in its life. Realm, v9/v10: new -> created -> rec-created -> active;
    v12 on: new -> created (populated) -> active at the first run."""

    REALM_NEW = "new"  # vCPU ready, realm not created: realm parameters still open
    REALM_CREATED = "created"  # realm created and its image populated; no REC yet
    REC_CREATED = "rec-created"  # KVM_ARM_VCPU_FINALIZE(REC) done
    ACTIVE = "active"  # the realm is activated and may run
    INITIALISED = "initialised"  # a normal VM's vCPU, ready to run
    OFF = "off"  # the guest has powered off; only a restart helps

    @property
    def label(self) -> str:
        return {
            Stage.REALM_NEW: "realm not created (parameters open)",
            Stage.REALM_CREATED: "before REC creation",
            Stage.REC_CREATED: "REC created",
            Stage.ACTIVE: "active",
            Stage.INITIALISED: "initialised",
            Stage.OFF: "powered off",
        }[self]


class RecMark(StrEnum):
    """How the REC column relates what the realm holds to KVM's copy (simulation only)."""

    NONE = "—"  # nothing to show: no REC yet, or the REC holds no such register
    SAME = "="  # the REC holds KVM's value
    STALE = "≠"  # the REC holds another value: KVM's copy is stale
    HOST_CALL = "→"  # a host call is pending: this GPR goes into the guest's RsiHostCall


@dataclass(frozen=True)
class RecCell:
    """The REC column of one register: a value the sim's RMM holds, and what it means."""

    value: int | None
    mark: RecMark
    note: str  # one line for the detail panel


@dataclass(frozen=True)
class ValueHistory:
    """A register's value at each snapshot, newest last. Each snapshot's entry links to the one
    before, so a long session keeps one entry per register per exit, not a copy per exit."""

    label: str
    value: int | None
    earlier: ValueHistory | None = None

    def items(self) -> list[tuple[str, int | None]]:
        out: list[tuple[str, int | None]] = []
        node: ValueHistory | None = self
        while node is not None:
            out.append((node.label, node.value))
            node = node.earlier
        return out[::-1]


@dataclass(frozen=True)
class RegView:
    info: RegInfo
    value: int | None  # None when the read failed
    read_errno: str | None
    verdict: Verdict
    real: int | None = None  # simulation only: what the REC really holds
    rec: RecCell | None = None  # simulation only, realms only: the REC column
    history: ValueHistory | None = None  # this register's value at each snapshot so far

    @property
    def id(self) -> int:
        return self.info.id


@dataclass(frozen=True)
class ExitInfo:
    number: int  # 1 for the first exit
    exit: Exit
    cause: ExitCause
    rmi_reason: str  # what the RMM's exit was, as far as the host can tell
    pc: int | None  # the pc KVM reports (stale for a realm)
    step: str  # what the demo guest was doing, from its listing
    kernel_esr: int | None = None  # simulation only: the syndrome as KVM saw it
    rmm_esr: int | None = None  # simulation only: the full syndrome the RMM kept
    plane: int | None = None  # simulation only, RMM 2.0: rec_exit.plane

    @property
    def label(self) -> str:
        return f"E{self.number} {self.exit.name}"


@dataclass(frozen=True)
class Snapshot:
    index: int  # 0 before the first run, n after exit n
    label: str
    stage: Stage
    context: VcpuContext
    regs: tuple[RegView, ...]
    exit: ExitInfo | None = None

    def by_id(self) -> dict[int, RegView]:
        return {r.id: r for r in self.regs}


@dataclass(frozen=True)
class SetOutcome:
    ok: bool
    reg: RegInfo | None
    message: str
    value: int | None = None  # read back after the write
    old: int | None = None
    errno: str | None = None
    verdict: Verdict | None = None
    agrees: bool = True  # did the kernel's answer match the prediction?
    input_error: bool = False  # refused before reaching the kernel


@dataclass(frozen=True)
class RunOutcome:
    ok: bool
    message: str
    exit: ExitInfo | None = None
    snapshot: Snapshot | None = None
    changed: frozenset[int] = frozenset()
    errno: str | None = None
