"""What the RMM keeps for each realm and REC (TF-RMM runtime/include/realm.h, rec.h).

None of this is visible to the host; the sim's confidential peek reads it to show what a
real host cannot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from backends.sim.cpu import Cpu, CpuState
from backends.sim.rmm import sysregs
from backends.sim.rmm.granules import RealmMemory
from backends.sim.rmm.smc_rmi import RealmParams

PSTATE_EL1H_DAIF = 0x3C5  # REC_CREATE: EL1h, AArch64, D A I F masked (runtime/rmi/rec.c)


def rec_engine() -> Cpu:
    """The CPU a REC runs on, with the GIC CPU interface accesses TF-RMM traps to EL2
    (ICH_HCR_EL2.TC, runtime/core/sysregs.c handle_icc_el1_sysreg_trap) trapping."""
    return Cpu(sysreg_traps=sysregs.forwarded)


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


@dataclass(frozen=True)
class PsciRequest:
    """A PSCI call the RMM reported to the host and waits on RMI_PSCI_COMPLETE for
    (rec->psci_info in TF-RMM runtime/rsi/psci.c)."""

    fid: int
    target_mpidr: int
    entry: int
    context_id: int


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
    # The rest of the REC's EL1 and FP/SIMD context (rec->sysregs, rec's SIMD state). REC_CREATE
    # starts them at zero (TF-RMM runtime/rmi/rec.c); the sim's CPU has no instruction that
    # writes them (no exception entry to EL1, no FP/SIMD), so they stay as created.
    sp_el0: int = 0
    elr_el1: int = 0
    spsr_el1: int = 0
    vregs: tuple[int, ...] = (0,) * 32
    fpsr: int = 0
    fpcr: int = 0
    last_esr: int = 0  # last_run_info.esr: the full syndrome, SRT and SSE included
    host_call_ipa: int | None = None
    set_ripas: SetRipas | None = None
    psci_pending: PsciRequest | None = None
    # The sim's own record of what the guest was given at the last REC_ENTER, for the
    # simulation-only peek (no real host can read this).
    at_entry: CpuState | None = None
    host_call_delivered: tuple[int, ...] | None = None
    stopped: str = ""  # why the sim cannot run this REC any more
    engine: Cpu = field(default_factory=rec_engine)  # the physical CPU state the REC runs on


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


# TF-RMM rmm-spec-v1.0-rel0 runtime/core/sysregs.c handle_id_sysreg_trap: the realm reads the
# CPU's own ID_AA64DFR0_EL1 with the context-aware breakpoints, trace, SPE and BRBE fields
# cleared. num_bps/num_wps are realm parameters (validated in realm.c, measured in rim.c), not
# what the guest reads.
DFR0_CTX_CMPS = 0xF << 28
DFR0_TRACEVER = 0xF << 4
DFR0_PMSVER = 0xF << 32
DFR0_TRACEFILT = 0xF << 40
DFR0_TRACEBUFFER = 0xF << 44
DFR0_BRBE = 0xF << 52
DFR0_REALM_CLEAR = (
    DFR0_CTX_CMPS | DFR0_TRACEVER | DFR0_PMSVER | DFR0_TRACEFILT | DFR0_TRACEBUFFER | DFR0_BRBE
)


def realm_dfr0(hw_dfr0: int) -> int:
    """ID_AA64DFR0_EL1 as a realm's read of it returns."""
    return hw_dfr0 & ~DFR0_REALM_CLEAR
