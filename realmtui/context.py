"""What a verdict depends on: the VM, the realm's state and the reason for the last exit.

These values cross from the Session (which learns them through ioctls) to the rules (which
predict from them) and the UI (which shows them), so they live apart from both.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class VmKind(StrEnum):
    REALM = "realm"
    NORMAL = "normal"


class Profile(StrEnum):
    """Which kernel rules apply.

    seed: [PATCH v9 22/43] alone -- SET_ONE_REG on a realm takes x0-x30 and pc, nothing else.
    v9:   the whole v9 series -- also PMCR_EL0 (v9-32), ID_AA64DFR0_EL1 (v9-35) and
          KVM_REG_ARM64_SVE_VLS (v9-38), each with its own state rules.
    v10:  the v10 posting: the same register rules ([PATCH v10 22/43] is byte-identical to
          v9's), but KVM_CAP_ARM_RME is 244 instead of 243 ([PATCH v10 06/43]).
    v12, v13, v14: KVM_CAP_ARM_RMI; populate creates the realm, the first KVM_RUN activates
          it and creates the RECs (cca-uapi-v12-v16.md). realmtui/profiles.py has the rest.
    """

    SEED = "seed"
    V9 = "v9"
    V10 = "v10"
    V12 = "v12"
    V13 = "v13"
    V14 = "v14"

    @property
    def full_series(self) -> bool:
        """The realm parameters of v9-32/35/38 are in."""
        return self is not Profile.SEED


class RealmState(StrEnum):
    """KVM's enum realm_state (kvm_rme.h, [PATCH v9 07/43]); NONE for a normal VM."""

    NONE = "none"
    NEW = "new"
    ACTIVE = "active"
    DYING = "dying"
    DEAD = "dead"


class ExitCause(StrEnum):
    """Why the vCPU last came back to the VMM, as far as the rules care.

    For a realm these follow the RMI exit reason behind the KVM exit ([PATCH v9 16/43]
    handle_rec_exit): an MMIO exit is RMI_EXIT_SYNC with a data abort, a hypercall is
    RMI_EXIT_HOST_CALL, a system event is RMI_EXIT_PSCI, a memory fault is
    RMI_EXIT_RIPAS_CHANGE.
    """

    NONE = "none"  # the vCPU has not run yet
    MMIO_READ = "mmio-read"
    MMIO_WRITE = "mmio-write"
    HOST_CALL = "host-call"
    PSCI = "psci"
    RIPAS_CHANGE = "ripas-change"
    SHUTDOWN = "shutdown"
    OTHER = "other"


@dataclass(frozen=True)
class VcpuContext:
    """Everything the access rules read, besides the register itself."""

    vm: VmKind
    profile: Profile = Profile.V9
    realm_state: RealmState = RealmState.NONE
    rec_created: bool = False
    last_exit: ExitCause = ExitCause.NONE
    has_run: bool = False
    sve: bool = False
    pmu: bool = False
    pauth: bool = False

    @property
    def is_realm(self) -> bool:
        return self.vm is VmKind.REALM
