"""ESR_EL2 fields the hypervisor and the RMM read (Arm ARM D24.2.45, "ESR_EL2"), and the
masks the RMM applies before it shows a syndrome to the host (TF-RMM lib/arch/include/arch.h:
ESR_NONEMULATED_ABORT_MASK, ESR_EMULATED_ABORT_MASK)."""

from __future__ import annotations

EC_SHIFT = 26
EC_UNKNOWN = 0x00
EC_HVC64 = 0x16
EC_SMC64 = 0x17
EC_SYS64 = 0x18
EC_IABT_LOW = 0x20
EC_DABT_LOW = 0x24

ESR_EC_MASK = 0x3F << EC_SHIFT
ESR_IL = 1 << 25
ESR_ISV = 1 << 24
ESR_SAS_SHIFT = 22
ESR_SAS_MASK = 0x3 << ESR_SAS_SHIFT
ESR_SSE = 1 << 21
ESR_SRT_SHIFT = 16
ESR_SRT_MASK = 0x1F << ESR_SRT_SHIFT
ESR_SF = 1 << 15
ESR_SET_MASK = 0x3 << 11
ESR_FNV = 1 << 10
ESR_EA = 1 << 9
ESR_WNR = 1 << 6
ESR_FSC_MASK = 0x3F

ESR_NONEMULATED_ABORT_MASK = ESR_EC_MASK | ESR_SET_MASK | ESR_FNV | ESR_EA | ESR_FSC_MASK
# SRT and SSE are deliberately not in the mask: the host learns neither which register the
# guest used nor whether a load sign-extends (TF-RMM runtime/core/exit.c).
ESR_EMULATED_ABORT_MASK = ESR_NONEMULATED_ABORT_MASK | ESR_ISV | ESR_SAS_MASK | ESR_SF | ESR_WNR


def esr_ec(esr: int) -> int:
    return (esr >> EC_SHIFT) & 0x3F


def esr_isv(esr: int) -> bool:
    return bool(esr & ESR_ISV)


def esr_sas_bytes(esr: int) -> int:
    return 1 << ((esr & ESR_SAS_MASK) >> ESR_SAS_SHIFT)


def esr_sse(esr: int) -> bool:
    return bool(esr & ESR_SSE)


def esr_srt(esr: int) -> int:
    return (esr & ESR_SRT_MASK) >> ESR_SRT_SHIFT


def esr_sf(esr: int) -> bool:
    return bool(esr & ESR_SF)


def esr_wnr(esr: int) -> bool:
    return bool(esr & ESR_WNR)


def esr_imm16(esr: int) -> int:
    return esr & 0xFFFF


# EC 0x18, a trapped MSR/MRS: ISS Op0 [21:20], Op2 [19:17], Op1 [16:14], CRn [13:10],
# Rt [9:5], CRm [4:1], Direction [0] (1 for a read).
def esr_sysreg(esr: int) -> tuple[int, int, int, int, int]:
    """(op0, op1, CRn, CRm, op2) of the register a trapped MSR/MRS names."""
    return ((esr >> 20) & 0x3, (esr >> 14) & 0x7, (esr >> 10) & 0xF, (esr >> 1) & 0xF,
            (esr >> 17) & 0x7)


def esr_sysreg_rt(esr: int) -> int:
    return (esr >> 5) & 0x1F


def esr_sysreg_is_read(esr: int) -> bool:
    return bool(esr & 1)


# The GIC CPU interface registers whose trapped accesses the RMM gives the host, as
# (op0, op1, CRn, CRm, op2): ICC_PMR_EL1, and the group of DIR (op2 1), SGI1R (5), ASGI1R (6)
# and SGI0R (7) that shares op0 3, op1 0, CRn 12, CRm 11.
ICC_PMR_EL1 = (3, 0, 4, 6, 0)
ICC_SGI_DIR_GROUP = (3, 0, 12, 11)
