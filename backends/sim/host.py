"""What the simulated machine is: its CPU's capabilities and which kernel runs on it.

A real host differs by CPU (SVE, PMU, pointer auth) and by kernel (upstream, or one carrying
the CCA host series); the sim takes both as configuration so tests can ask for a kernel
without realm support, or one with only the seed patch.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from backends.series import SERIES, Series


class RealmSeries(StrEnum):
    """Which realm patches the simulated kernel carries."""

    NONE = "none"  # an upstream kernel: no KVM_VM_TYPE_ARM_REALM
    SEED = "seed"  # the v9 series up to [PATCH v9 22/43]: x0-x30 and pc settable
    V9 = "v9"  # the whole v9 series: PMCR_EL0 (v9-32), ID_AA64DFR0_EL1 (v9-35), SVE_VLS (v9-38)
    V10 = "v10"  # v10: the same register code, KVM_CAP_ARM_RME renumbered 243 -> 244
    # v12 on: KVM_CAP_ARM_RMI, POPULATE creates the realm, the first KVM_RUN activates it.
    V12 = "v12"  # RMM 1.0, POPULATE _IOW returning bytes, PSCI_COMPLETE
    V13 = "v13"  # RMM 2.0-bet0, POPULATE _IOWR
    V14 = "v14"  # RMM 2.0-bet1, realm VM type bit 30, no PSCI_COMPLETE, no PMCR_EL0 write

    @property
    def full(self) -> bool:
        """The realm parameters (PMCR_EL0, ID_AA64DFR0_EL1, SVE_VLS) and the register-list
        changes of the whole series are in."""
        return self not in (RealmSeries.NONE, RealmSeries.SEED)

    @property
    def uapi(self) -> Series | None:
        return None if self is RealmSeries.NONE else SERIES[self.value]

    def at_least(self, name: str) -> bool:
        """This posting is `name` or later (the order of the postings)."""
        order = list(RealmSeries)
        return order.index(self) >= order.index(RealmSeries(name))


@dataclass(frozen=True)
class SimHost:
    series: RealmSeries = RealmSeries.V9
    ipa_limit: int = 48  # KVM_CAP_ARM_VM_IPA_SIZE
    sve: bool = True  # KVM_CAP_ARM_SVE
    sve_max_vq: int = 4  # 512-bit vectors
    pmu: bool = True  # KVM_CAP_ARM_PMU_V3
    pmu_counters: int = 6  # PMCR_EL0.N of the host PMU
    pauth: bool = False  # QEMU's -cpu max,pauth=off, as the real-kernel tier runs
    # The CPU's own ID_AA64DFR0_EL1: DebugVer 6 (Armv8), PMUVer 1 (PMUv3), BRPs 5 (6
    # breakpoints), WRPs 3 (4 watchpoints), CTX_CMPs 1 (2). KVM's vCPU value is sanitised from
    # it; the RMM shows it to realms with a few fields cleared.
    id_aa64dfr0: int = 0x1030_5106
    max_vcpus: int = 8
    # The RMM's limits for realm parameters (RMI_FEATURES register 0).
    rmm_max_sve_vq: int = 4
    rmm_pmu_counters: int = 6
    # How many guest instructions one REC/vCPU entry may run before a (simulated) host
    # timer interrupt brings it back to KVM's run loop.
    slice_instructions: int = 100_000

    @property
    def realm(self) -> bool:
        return self.series is not RealmSeries.NONE

    @property
    def rme_cap(self) -> int:
        """The realm capability's number in this kernel's series: KVM_CAP_ARM_RME 243/244
        ([PATCH v9/v10 06/43]), KVM_CAP_ARM_RMI 247/248/249 (v12/v13/v14)."""
        uapi = self.series.uapi
        return uapi.cap if uapi is not None else 0

    @property
    def uapi(self) -> Series:
        uapi = self.series.uapi
        if uapi is None:
            raise ValueError("an upstream kernel has no realm uAPI")
        return uapi
