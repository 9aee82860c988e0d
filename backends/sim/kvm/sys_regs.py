"""The simulated KVM's system-register table (arch/arm64/kvm/sys_regs.c, in miniature).

Which registers a vCPU has depends on its features, as in the kernel's `visibility`
callbacks; each has a reset value and a kind that picks its set_user behaviour. The set of
registers is the one the get-reg-list selftest blesses (tools/testing/selftests/kvm/arm64/
get-reg-list.c at torvalds/linux 1f4a10ff), for the features this sim offers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from backends import abi
from backends.sim.syndrome import ICC_PMR_EL1, esr_sysreg, esr_sysreg_is_read, esr_sysreg_rt
from backends.sysreg_encodings import SYSREGS

if TYPE_CHECKING:
    from backends.sim.kvm.arm import SimVcpu


class Kind(StrEnum):
    NORMAL = "normal"  # reset_val / reset_unknown: the value written is the value kept
    INVARIANT = "invariant"  # set_invariant_sys_reg: only the host's own value is accepted
    ID = "id"  # set_id_reg: fields may be lowered before the first run, fixed afterwards
    PMCR = "pmcr"  # set_pmcr: P and C are actions, N is fixed once the VM has run


class Feature(StrEnum):
    BASE = "base"
    PMU = "pmu"
    SVE = "sve"
    PAUTH_ADDRESS = "pauth_address"
    PAUTH_GENERIC = "pauth_generic"


@dataclass(frozen=True)
class SysRegDesc:
    name: str
    encoding: tuple[int, int, int, int, int]
    feature: Feature
    kind: Kind
    reset: int

    @property
    def id(self) -> int:
        op0, op1, crn, crm, op2 = self.encoding
        return (
            abi.KVM_REG_ARM64
            | abi.KVM_REG_SIZE_U64
            | abi.KVM_REG_ARM64_SYSREG
            | op0 << 14
            | op1 << 11
            | crn << 7
            | crm << 3
            | op2
        )


# An imaginary Neoverse-class host (part 0xd49) with CCA. Values only need to be plausible
# and self-consistent: the ID registers feed the realm parameters (v9-34/35).
_RESETS: dict[str, int] = {
    "MIDR_EL1": 0x410F_D490,
    "CLIDR_EL1": 0x0A20_0023,  # L1 split I/D, L2 unified: three CCSIDR demux registers
    "CTR_EL0": 0x8444_C004,
    "SCTLR_EL1": 0x00C5_0078,  # KVM's reset_val for SCTLR_EL1
    "OSLSR_EL1": 0x8,  # OSLM = 0b10: OS lock implemented (KVM reset)
    "ID_AA64PFR0_EL1": 0x1100_0000_1100_0011,  # EL0/EL1 AArch64, GIC, RAS, CSV2, CSV3
    "ID_AA64ISAR0_EL1": 0x0221_1000_1021_2120,
    "ID_AA64MMFR0_EL1": 0x0000_0000_0010_1122,
    "ID_AA64MMFR1_EL1": 0x0000_0000_1021_2122,
    "ID_AA64MMFR2_EL1": 0x0000_0000_0000_1011,
    # ID_AA64DFR0_EL1 comes from the host's (SimHost.id_aa64dfr0), PMUVer per vCPU: reset().
    # reset_pmcr (v6.7+, "KVM: arm64: PMU: Allow userspace to limit PMCR_EL0.N"): everything 0
    # but LC, set because this host has no AArch32 EL0; N is filled in at reset. (6.1 kept the
    # host's IMP/IDCODE and filled the writable bits from 0xdecafbad: the real-kernel tier saw
    # 0x410130ac.)
    "PMCR_EL0": 0x40,
    # reset_val 0x700 (sys_regs.c, unchanged since v4.x; the real 6.1 reads 0x700 too).
    "FPEXC32_EL2": 0x700,
}

# reset_unknown (sys_regs.h) does not leave "unknown" registers at 0: it writes this marker,
# as the real 6.1 kernel showed (TTBR0_EL1 & co read 0x1de7ec7edbadc0de before the first run).
RESET_UNKNOWN = 0x1DE7_EC7E_DBAD_C0DE
# The registers sys_reg_descs resets with reset_unknown (v6.16-era table). The PMU registers
# that reset_pmu_reg/reset_pmevcntr/reset_pmevtyper/reset_pmselr mask afterwards are in
# guest_regs.py, which knows the vCPU's counters.
_RESET_UNKNOWN_NAMES = {
    "TTBR0_EL1", "TTBR1_EL1", "AFSR0_EL1", "AFSR1_EL1", "ESR_EL1", "FAR_EL1", "PAR_EL1",
    "MAIR_EL1", "PIRE0_EL1", "PIR_EL1", "POR_EL1", "TPIDR_EL1", "CSSELR_EL1", "POR_EL0",
    "TPIDR_EL0", "TPIDRRO_EL0", "DACR32_EL2", "IFSR32_EL2", "PMCCNTR_EL0",
}

_INVARIANT = {"MIDR_EL1", "REVIDR_EL1", "CLIDR_EL1", "AIDR_EL1", "CTR_EL0"}


def _encoding(name: str) -> tuple[int, int, int, int, int]:
    if name in SYSREGS:
        return SYSREGS[name]
    # The unallocated ID-register slots have no architectural name: S3_0_C0_C<m>_<op2>.
    op0, op1, crn, crm, op2 = name[1:].replace("C", "").split("_")
    return int(op0), int(op1), int(crn), int(crm), int(op2)


def _kind(name: str, enc: tuple[int, int, int, int, int]) -> Kind:
    if name in _INVARIANT:
        return Kind.INVARIANT
    if name == "PMCR_EL0":
        return Kind.PMCR
    op0, op1, crn, crm, _op2 = enc
    if op0 == 3 and op1 == 0 and crn == 0 and 1 <= crm <= 7:
        return Kind.ID
    return Kind.NORMAL


_BASE = (
    """
CNTV_CTL_EL0 CNTV_CVAL_EL0 CNTVCT_EL0 MIDR_EL1 REVIDR_EL1 CLIDR_EL1 AIDR_EL1 CTR_EL0
"""
    + " ".join(
        f"DBGBVR{n}_EL1 DBGBCR{n}_EL1 DBGWVR{n}_EL1 DBGWCR{n}_EL1"
        + (" MDCCINT_EL1 MDSCR_EL1" if n == 1 else "")
        for n in range(16)
    )
    + """
OSLSR_EL1 DBGVCR32_EL2 MPIDR_EL1 ID_PFR0_EL1 ID_PFR1_EL1 ID_DFR0_EL1 ID_AFR0_EL1 ID_MMFR0_EL1
ID_MMFR1_EL1 ID_MMFR2_EL1 ID_MMFR3_EL1 ID_ISAR0_EL1 ID_ISAR1_EL1 ID_ISAR2_EL1 ID_ISAR3_EL1
ID_ISAR4_EL1 ID_ISAR5_EL1 ID_MMFR4_EL1 ID_ISAR6_EL1 MVFR0_EL1 MVFR1_EL1 MVFR2_EL1 S3_0_C0_C3_3
ID_PFR2_EL1 ID_DFR1_EL1 ID_MMFR5_EL1 S3_0_C0_C3_7 ID_AA64PFR0_EL1 ID_AA64PFR1_EL1
ID_AA64PFR2_EL1 S3_0_C0_C4_3 ID_AA64ZFR0_EL1 ID_AA64SMFR0_EL1 S3_0_C0_C4_6 S3_0_C0_C4_7
ID_AA64DFR0_EL1 ID_AA64DFR1_EL1 S3_0_C0_C5_2 S3_0_C0_C5_3 ID_AA64AFR0_EL1 ID_AA64AFR1_EL1
S3_0_C0_C5_6 S3_0_C0_C5_7 ID_AA64ISAR0_EL1 ID_AA64ISAR1_EL1 ID_AA64ISAR2_EL1 S3_0_C0_C6_3
S3_0_C0_C6_4 S3_0_C0_C6_5 S3_0_C0_C6_6 S3_0_C0_C6_7 ID_AA64MMFR0_EL1 ID_AA64MMFR1_EL1
ID_AA64MMFR2_EL1 ID_AA64MMFR3_EL1 ID_AA64MMFR4_EL1 S3_0_C0_C7_5 S3_0_C0_C7_6 S3_0_C0_C7_7
SCTLR_EL1 ACTLR_EL1 CPACR_EL1 SCTLR2_EL1 TTBR0_EL1 TTBR1_EL1 TCR_EL1 TCR2_EL1 AFSR0_EL1
AFSR1_EL1 ESR_EL1 FAR_EL1 PAR_EL1 MAIR_EL1 PIRE0_EL1 PIR_EL1 POR_EL1 AMAIR_EL1 VBAR_EL1
DISR_EL1 CONTEXTIDR_EL1 TPIDR_EL1 CNTKCTL_EL1 CSSELR_EL1 POR_EL0 TPIDR_EL0 TPIDRRO_EL0
CNTPCT_EL0 CNTP_CTL_EL0 CNTP_CVAL_EL0 DACR32_EL2 IFSR32_EL2 FPEXC32_EL2
"""
)

_PMU = (
    "PMINTENSET_EL1 PMINTENCLR_EL1 PMCR_EL0 PMCNTENSET_EL0 PMCNTENCLR_EL0 PMOVSCLR_EL0 "
    "PMSWINC_EL0 PMSELR_EL0 PMCCNTR_EL0 PMUSERENR_EL0 PMOVSSET_EL0 "
    + " ".join(f"PMEVCNTR{n}_EL0" for n in range(31))
    + " "
    + " ".join(f"PMEVTYPER{n}_EL0" for n in range(31))
    + " PMCCFILTR_EL0"
)

_GROUPS = {
    Feature.BASE: _BASE,
    Feature.PMU: _PMU,
    Feature.SVE: "ZCR_EL1",
    Feature.PAUTH_ADDRESS: " ".join(
        f"AP{k}KEY{half}_EL1" for k in ("IA", "IB", "DA", "DB") for half in ("LO", "HI")
    ),
    Feature.PAUTH_GENERIC: "APGAKEYLO_EL1 APGAKEYHI_EL1",
}


def _table() -> tuple[SysRegDesc, ...]:
    descs = []
    for feature, names in _GROUPS.items():
        for name in names.split():
            enc = _encoding(name)
            reset = RESET_UNKNOWN if name in _RESET_UNKNOWN_NAMES else _RESETS.get(name, 0)
            descs.append(SysRegDesc(name, enc, feature, _kind(name, enc), reset))
    # kvm_arm_copy_sys_reg_indices walks sys_reg_descs, which is sorted by encoding.
    return tuple(sorted(descs, key=lambda d: d.encoding))


SYS_REG_DESCS: tuple[SysRegDesc, ...] = _table()
BY_ID: dict[int, SysRegDesc] = {d.id: d for d in SYS_REG_DESCS}
BY_NAME: dict[str, SysRegDesc] = {d.name: d for d in SYS_REG_DESCS}




def handle_gic_cpuif(vcpu: SimVcpu, esr: int) -> int:
    """kvm_handle_sys_reg for the GIC CPU interface registers an RMM hands to the host
    (sys_regs.c access_gic_sgi / access_gic_dir, the vgic-v3 PMR): 1, the guest goes on.
    The sim has no virtual distributor to deliver an SGI to and no active interrupt to
    deactivate, so a write to SGI0R, SGI1R, ASGI1R or DIR is taken with no effect; ICC_PMR_EL1
    is kept per vCPU (0 at reset) and read back."""
    rt = esr_sysreg_rt(esr)
    if esr_sysreg(esr) == ICC_PMR_EL1:
        if esr_sysreg_is_read(esr):
            if rt != 31:  # vcpu_set_reg ignores XZR
                vcpu.regs.set_x(rt, vcpu.icc_pmr)
        else:
            vcpu.icc_pmr = (vcpu.regs.x(rt) if rt != 31 else 0) & 0xFF
    return 1
