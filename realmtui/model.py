"""What the Session hands the UI: plain values, no VMM, no kernel.

The widgets import these without importing the Session (an import-linter contract says so):
a register's view carries its own value history, so nothing on the UI side calls back into
the live Session to draw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from backends import guests
from backends.exits import Exit, MmioExit
from realmtui.context import ExitCause, Profile, VcpuContext, VmKind
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


@dataclass(frozen=True, eq=False)
class ValueHistory:
    """A register's value at each snapshot, newest last. Each snapshot's entry links to the one
    before, so a long session keeps one entry per register per exit, not a copy per exit.

    Equality and hashing walk the chain in a loop: the dataclass's own would recurse once per
    exit and overflow Python's stack after a few hundred exits (the detail panel compares
    the register it drew last with the one under the cursor)."""

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

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ValueHistory):
            return NotImplemented
        a: ValueHistory | None = self
        b: ValueHistory | None = other
        while a is not None and b is not None:
            if a is b:
                return True  # a shared tail: the rest is the same chain
            if a.label != b.label or a.value != b.value:
                return False
            a, b = a.earlier, b.earlier
        return a is b

    def __hash__(self) -> int:
        return hash(tuple(self.items()))


@dataclass(frozen=True)
class RegView:
    """One register as the UI draws it, with everything the detail panel shows of it."""

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


@dataclass
class SessionConfig:
    """What a Session is opened with (and what a restart or a profile switch changes)."""

    backend: str = "sim"
    vm: VmKind = VmKind.REALM
    # None: the sim runs v9; the kvm backend finds the host's series (backends/detect.py).
    profile: Profile | None = Profile.V9
    pmu: bool = False
    sve: bool = False
    start: Stage = Stage.REALM_CREATED
    # Another guest in place of the demo, and the SMCCC ids the VMM forwards to itself.
    program: guests.Program | None = None
    forward_fids: tuple[int, ...] = (guests.HOSTCALL_FID,)


@dataclass(frozen=True)
class SessionView:
    """What the UI shows of a Session, captured in one go off the UI thread
    (realmtui/view.py's `capture`): the widgets draw only from it."""

    config: SessionConfig
    backend: str  # the kernel's name: "sim" or "kvm"
    simulated: bool
    stage: Stage
    context: VcpuContext
    snapshot: Snapshot
    last_exit: ExitInfo | None
    exit_count: int
    next_step: str  # what the guest does when it next runs ("" when unknown)
    changed: frozenset[int] = frozenset()  # ids whose value changed at the last exit
    edits: Mapping[int, int] = field(default_factory=dict)  # ids the user wrote since then
    pending_mmio: MmioExit | None = None  # an MMIO read waiting for its data
    mmio_data: int | None = None  # the data already given for it

    @property
    def realm(self) -> bool:
        return self.context.is_realm

    @property
    def regs(self) -> tuple[RegView, ...]:
        return self.snapshot.regs

    @property
    def needs_mmio_data(self) -> bool:
        return self.pending_mmio is not None and self.mmio_data is None

    @property
    def shows_rec(self) -> bool:
        """Whether there is a confidential REC column to show: sim realms only."""
        return self.simulated and self.realm
