"""arm64 ONE_REG register ids: encode, decode, name, size, group, and parse what a user types.

The encodings are the uapi's (arch/arm64/include/uapi/asm/kvm.h): a 64-bit id carries the
architecture, the size in bytes as a power of two, a coprocessor class, and a class-specific
index (a word offset into struct kvm_regs for CORE, op0/op1/CRn/CRm/op2 for SYSREG, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from backends import abi
from backends.reg_ids import (
    CORE_IDS,
    ELR_EL1,
    FPCR,
    FPSR,
    PC,
    PSTATE,
    SP,
    SP_EL1,
    SPSR,
    V,
    X,
    reg_size,
)
from backends.reg_ids import core_id as core_id  # re-exported: ids are built here too
from backends.reg_ids import sysreg_id as sysreg_id
from backends.sysreg_encodings import SYSREGS


class RegClass(StrEnum):
    CORE = "core"
    SYSREG = "sysreg"
    FW = "fw"
    FW_FEAT_BMAP = "fw_feat_bmap"
    SVE = "sve"
    DEMUX = "demux"
    UNKNOWN = "unknown"


class Group(StrEnum):
    """The grid's groups, in the order it shows them."""

    GPR = "GPRs"
    PC_SP_PSTATE = "PC/SP/PSTATE"
    EL1 = "EL1 state"
    FPSIMD = "FP/SIMD"
    SVE = "SVE"
    SYSTEM = "system"
    FIRMWARE = "firmware"
    TIMER = "timers"


GROUP_ORDER: tuple[Group, ...] = tuple(Group)


class UnknownRegister(ValueError):
    """What the user typed names no register."""


@dataclass(frozen=True)
class RegInfo:
    id: int
    name: str
    size: int  # bytes
    cls: RegClass
    group: Group

    @property
    def bits(self) -> int:
        return self.size * 8

    @property
    def hex_id(self) -> str:
        return f"0x{self.id:016x}"


# --- building ids ---------------------------------------------------------------------------

# Ids, sizes and struct kvm_regs offsets come from the uAPI module (backends/reg_ids.py).
size_of = reg_size


def sysreg_fields(reg_id: int) -> tuple[int, int, int, int, int]:
    return (
        (reg_id >> 14) & 3,
        (reg_id >> 11) & 7,
        (reg_id >> 7) & 15,
        (reg_id >> 3) & 15,
        reg_id & 7,
    )


def fw_id(index: int) -> int:
    return abi.KVM_REG_ARM64 | abi.KVM_REG_SIZE_U64 | abi.KVM_REG_ARM_FW | (index & 0xFFFF)


def fw_bmap_id(index: int) -> int:
    return (
        abi.KVM_REG_ARM64 | abi.KVM_REG_SIZE_U64 | abi.KVM_REG_ARM_FW_FEAT_BMAP | (index & 0xFFFF)
    )


def sve_zreg_id(n: int, slice_: int = 0) -> int:
    return (
        abi.KVM_REG_ARM64 | abi.KVM_REG_ARM64_SVE | abi.KVM_REG_ARM64_SVE_ZREG_BASE
        | abi.KVM_REG_SIZE_U2048 | (n & 31) << 5 | (slice_ & 31)
    )


def sve_preg_id(n: int, slice_: int = 0) -> int:
    return (
        abi.KVM_REG_ARM64 | abi.KVM_REG_ARM64_SVE | abi.KVM_REG_ARM64_SVE_PREG_BASE
        | abi.KVM_REG_SIZE_U256 | (n & 15) << 5 | (slice_ & 31)
    )


def sve_ffr_id(slice_: int = 0) -> int:
    return (
        abi.KVM_REG_ARM64 | abi.KVM_REG_ARM64_SVE | abi.KVM_REG_ARM64_SVE_FFR_BASE
        | abi.KVM_REG_SIZE_U256 | (slice_ & 31)
    )


def demux_ccsidr_id(index: int) -> int:
    return (
        abi.KVM_REG_ARM64 | abi.KVM_REG_SIZE_U32 | abi.KVM_REG_ARM_DEMUX
        | abi.KVM_REG_ARM_DEMUX_ID_CCSIDR | (index & abi.KVM_REG_ARM_DEMUX_VAL_MASK)
    )


SPSR_NAMES = ("spsr_el1", "spsr_abt", "spsr_und", "spsr_irq", "spsr_fiq")  # KVM_SPSR_* 0..4


def x_id(n: int) -> int:
    return X[n]


def v_id(n: int) -> int:
    return V[n]


SVE_VLS = abi.KVM_REG_ARM64_SVE_VLS
PMCR_EL0 = sysreg_id(*SYSREGS["PMCR_EL0"])
ID_AA64DFR0_EL1 = sysreg_id(*SYSREGS["ID_AA64DFR0_EL1"])



def gpr_index(reg_id: int) -> int | None:
    """n for x0..x30, else None."""
    return _GPR_INDEX.get(reg_id)


def core_register_ids(sve: bool) -> list[int]:
    """struct kvm_regs as KVM lists it (guest.c copy_core_reg_indices): every core register,
    the V registers only without SVE."""
    return [i for i in CORE_IDS if not (sve and reg_size(i) == 16)]


_GPR_INDEX: dict[int, int] = {x_id(n): n for n in range(31)}
_CORE_NAMES: dict[int, str] = {x_id(n): f"x{n}" for n in range(31)}
_CORE_NAMES |= {SP: "sp", PC: "pc", PSTATE: "pstate", SP_EL1: "sp_el1", ELR_EL1: "elr_el1"}
_CORE_NAMES |= {SPSR[i]: SPSR_NAMES[i] for i in range(5)}
_CORE_NAMES |= {v_id(n): f"v{n}" for n in range(32)}
_CORE_NAMES |= {FPSR: "fpsr", FPCR: "fpcr"}

_FW_NAMES = {
    fw_id(0): "PSCI_VERSION",
    fw_id(1): "SMCCC_ARCH_WORKAROUND_1",
    fw_id(2): "SMCCC_ARCH_WORKAROUND_2",
    fw_id(3): "SMCCC_ARCH_WORKAROUND_3",
    fw_id(4): "SMCCC_ARCH_WORKAROUND_4",
    fw_bmap_id(0): "STD_BMAP",
    fw_bmap_id(1): "STD_HYP_BMAP",
    fw_bmap_id(2): "VENDOR_HYP_BMAP",
    fw_bmap_id(3): "VENDOR_HYP_BMAP_2",
}

_SYSREG_NAMES: dict[int, str] = {sysreg_id(*enc): name for name, enc in SYSREGS.items()}


def reg_class(reg_id: int) -> RegClass:
    if reg_id & abi.KVM_REG_ARCH_MASK != abi.KVM_REG_ARM64:
        return RegClass.UNKNOWN
    return {
        abi.KVM_REG_ARM_CORE: RegClass.CORE,
        abi.KVM_REG_ARM64_SYSREG: RegClass.SYSREG,
        abi.KVM_REG_ARM_FW: RegClass.FW,
        abi.KVM_REG_ARM_FW_FEAT_BMAP: RegClass.FW_FEAT_BMAP,
        abi.KVM_REG_ARM64_SVE: RegClass.SVE,
        abi.KVM_REG_ARM_DEMUX: RegClass.DEMUX,
    }.get(reg_id & abi.KVM_REG_ARM_COPROC_MASK, RegClass.UNKNOWN)


def _sve_name(reg_id: int) -> str:
    if reg_id == SVE_VLS:
        return "SVE_VLS"
    low = reg_id & 0xFFFF
    slice_ = low & 31
    suffix = f".{slice_}" if slice_ else ""
    if low >= abi.KVM_REG_ARM64_SVE_FFR_BASE and low < abi.KVM_REG_ARM64_SVE_FFR_BASE + 32:
        return f"ffr{suffix}"
    if low >= abi.KVM_REG_ARM64_SVE_PREG_BASE and low < abi.KVM_REG_ARM64_SVE_FFR_BASE:
        return f"p{(low >> 5) & 15}{suffix}"
    return f"z{(low >> 5) & 31}{suffix}"


def _name(reg_id: int, cls: RegClass) -> str:
    match cls:
        case RegClass.CORE:
            return _CORE_NAMES.get(reg_id, f"core+0x{reg_id & 0xFFFF:x}/u{size_of(reg_id) * 8}")
        case RegClass.SYSREG:
            return _SYSREG_NAMES.get(reg_id) or "S{}_{}_C{}_C{}_{}".format(*sysreg_fields(reg_id))
        case RegClass.FW | RegClass.FW_FEAT_BMAP:
            return _FW_NAMES.get(reg_id, f"FW_{reg_id & 0xFFFF}")
        case RegClass.SVE:
            return _sve_name(reg_id)
        case RegClass.DEMUX:
            return f"CCSIDR[{reg_id & abi.KVM_REG_ARM_DEMUX_VAL_MASK}]"
    return f"0x{reg_id:016x}"


def _group(reg_id: int, cls: RegClass, name: str) -> Group:
    if cls is RegClass.CORE:
        if name.startswith("x") and name[1:].isdigit():
            return Group.GPR
        if name in ("pc", "sp", "pstate"):
            return Group.PC_SP_PSTATE
        if name in ("fpsr", "fpcr") or (name.startswith("v") and name[1:].isdigit()):
            return Group.FPSIMD
        return Group.EL1
    if cls is RegClass.SVE or name == "ZCR_EL1":
        return Group.SVE
    if cls in (RegClass.FW, RegClass.FW_FEAT_BMAP):
        return Group.FIRMWARE
    if cls is RegClass.SYSREG:
        if name.startswith("CNT"):
            return Group.TIMER
        op0, op1, crn, _crm, _op2 = sysreg_fields(reg_id)
        if op0 == 3 and op1 == 0 and crn != 0 and name.endswith("_EL1"):
            return Group.EL1
    return Group.SYSTEM


@lru_cache(maxsize=4096)
def describe(reg_id: int) -> RegInfo:
    cls = reg_class(reg_id)
    name = _name(reg_id, cls)
    return RegInfo(reg_id, name, size_of(reg_id), cls, _group(reg_id, cls, name))


def name_of(reg_id: int) -> str:
    return describe(reg_id).name


# --- which vCPU feature a register comes with -------------------------------------------------


class RegFeature(StrEnum):
    """A vCPU feature without which KVM does not have the register at all (sys_regs.c
    visibility callbacks, guest.c SVE checks): ONE_REG answers ENOENT."""

    PMU = "PMU"
    SVE = "SVE"
    PAUTH = "pointer authentication"


def feature_of(reg_id: int) -> RegFeature | None:
    cls = reg_class(reg_id)
    if cls is RegClass.SVE:
        return RegFeature.SVE
    if cls is not RegClass.SYSREG:
        return None
    op0, op1, crn, crm, op2 = sysreg_fields(reg_id)
    if (op0, op1, crn, crm, op2) == (3, 0, 1, 2, 0):  # ZCR_EL1
        return RegFeature.SVE
    if op0 == 3 and op1 == 0 and crn == 2 and 1 <= crm <= 3:  # AP{IA,IB,DA,DB,GA}KEY{LO,HI}
        return RegFeature.PAUTH
    # PMU: PMINTEN{SET,CLR}_EL1, the PMCR_EL0 ... PMOVSSET_EL0 block, PMEV{CNTR,TYPER}<n>_EL0
    # and PMCCFILTR_EL0 (arch/arm64/include/asm/sysreg.h).
    if op0 == 3 and op1 == 0 and crn == 9 and crm == 14 and op2 in (1, 2):
        return RegFeature.PMU
    if op0 == 3 and op1 == 3 and ((crn == 9 and 12 <= crm <= 14) or (crn == 14 and crm >= 8)):
        return RegFeature.PMU
    return None


# --- parsing what a user types ----------------------------------------------------------------

_ALIASES: dict[str, int] = {name.lower(): rid for rid, name in _CORE_NAMES.items()}
_ALIASES |= {name.lower(): rid for rid, name in _FW_NAMES.items()}
_ALIASES |= {name.lower(): rid for rid, name in _SYSREG_NAMES.items()}
_ALIASES |= {"lr": x_id(30), "fp": x_id(29), "cpsr": PSTATE, "sve_vls": SVE_VLS, "vls": SVE_VLS}
_ALIASES |= {f"spsr[{i}]": SPSR[i] for i in range(5)}
_ALIASES |= {f"q{n}": v_id(n) for n in range(32)}
_ALIASES |= {f"z{n}": sve_zreg_id(n) for n in range(32)}
_ALIASES |= {f"p{n}": sve_preg_id(n) for n in range(16)}
_ALIASES |= {"ffr": sve_ffr_id(0)}

_GENERIC_SYSREG = re.compile(r"s(\d)_(\d)_c(\d+)_c(\d+)_(\d)")


def parse_register(text: str) -> int:
    """A register name in any case, the generic S<op0>_<op1>_C<n>_C<m>_<op2> form, or a hex id.

    Raises UnknownRegister with a message that says what was expected.
    """
    key = text.strip().lower()
    if not key:
        raise UnknownRegister("no register named: give a name such as x0, pc or SCTLR_EL1")
    if key in _ALIASES:
        return _ALIASES[key]
    if m := _GENERIC_SYSREG.fullmatch(key):
        op0, op1, crn, crm, op2 = (int(g) for g in m.groups())
        if op0 <= 3 and op1 <= 7 and crn <= 15 and crm <= 15 and op2 <= 7:
            return sysreg_id(op0, op1, crn, crm, op2)
    if key.startswith("0x"):
        try:
            value = int(key, 16)
        except ValueError:
            pass
        else:
            if 0 <= value < 1 << 64 and value & abi.KVM_REG_ARCH_MASK == abi.KVM_REG_ARM64:
                return value
            raise UnknownRegister(
                f"{text.strip()!r} is not an arm64 ONE_REG id (they start 0x60...)"
            )
    raise UnknownRegister(
        f"unknown register {text.strip()!r}: expected a name (x0..x30, pc, sp, pstate, v0..v31, "
        "fpsr, SCTLR_EL1, ...), S<op0>_<op1>_C<n>_C<m>_<op2>, or a 0x6... register id"
    )
