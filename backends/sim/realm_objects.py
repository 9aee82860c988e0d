"""What the RMM keeps for each realm and REC (TF-RMM runtime/include/realm.h, rec.h).

None of this is visible to the host; the sim's confidential peek reads it to show what a
real host cannot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from backends.sim.cpu import CpuState
from backends.sim.realm_memory import RealmMemory
from backends.sim.rmi import RealmParams

PSTATE_EL1H_DAIF = 0x3C5  # REC_CREATE: EL1h, AArch64, D A I F masked (runtime/rmi/rec.c)


class RealmState(StrEnum):
    NEW = "new"
    ACTIVE = "active"
    SYSTEM_OFF = "system-off"


@dataclass
class SetRipas:
    """A pending RSI_IPA_STATE_SET (rec->set_ripas in TF-RMM)."""

    base: int
    top: int
    addr: int  # how far the host has got
    ripas: int


@dataclass
class Rec:
    realm: Realm
    index: int
    mpidr: int
    cpu: CpuState
    runnable: bool
    # What the realm sees of its realm parameters (RMM's sysreg emulation and reset values).
    pmcr: int = 0
    id_aa64dfr0: int = 0
    zcr_vq: int | None = None
    last_esr: int = 0  # last_run_info.esr: the full syndrome, SRT and SSE included
    host_call_ipa: int | None = None
    set_ripas: SetRipas | None = None
    psci_pending: bool = False
    # The sim's own record of what the guest was given at the last REC_ENTER, for the
    # simulation-only peek (no real host can read this).
    at_entry: CpuState | None = None
    host_call_delivered: tuple[int, ...] | None = None
    stopped: str = ""  # why the sim cannot run this REC any more


@dataclass
class Realm:
    params: RealmParams
    memory: RealmMemory
    state: RealmState = RealmState.NEW
    recs: list[Rec] = field(default_factory=list)

    @property
    def unprotected_bit(self) -> int:
        # The top IPA bit selects the unprotected (shared) half of the realm's IPA space.
        return 1 << (self.params.ipa_width - 1)


def realm_dfr0(p: RealmParams) -> int:
    """ID_AA64DFR0_EL1 as the realm reads it: the host's debug version with the realm's
    breakpoint, watchpoint and PMU parameters (TF-RMM runtime/core/sysreg_traps.c)."""
    dfr0 = 0x6  # DebugVer: Armv8 debug
    dfr0 |= (p.num_bps - 1) << 12 | (p.num_wps - 1) << 20 | (p.num_ctx_cmps - 1) << 28
    if p.pmu_num_ctrs is not None:
        dfr0 |= 0x1 << 8  # PMUVer: PMUv3
    return dfr0
