"""ONE_REG register ids as the arm64 uAPI builds them (arch/arm64/include/uapi/asm/kvm.h).

The core ids are derived from struct kvm_regs itself with ffi.offsetof, as kvmtool's
ARM64_CORE_REG(x) does with offsetof: KVM_REG_ARM64 | size | KVM_REG_ARM_CORE | offset / 4.
Every other module -- the VMM, the sim's KVM, the rules, the register names -- takes its ids,
offsets and sizes from here.
"""

from __future__ import annotations

from backends import abi
from backends.abi import ffi

_SIZE_CODE = {1: 0, 2: 1, 4: 2, 8: 3, 16: 4, 32: 5, 64: 6, 128: 7, 256: 8}

SIZEOF_KVM_REGS = ffi.sizeof("struct kvm_regs")
NR_CORE_WORDS = SIZEOF_KVM_REGS // 4


def reg_size(reg_id: int) -> int:
    """KVM_REG_SIZE(id): the register's size in bytes, 1 << the size field."""
    return 1 << ((reg_id & abi.KVM_REG_SIZE_MASK) >> abi.KVM_REG_SIZE_SHIFT)


def with_size(reg_id: int, size: int) -> int:
    return (reg_id & ~abi.KVM_REG_SIZE_MASK) | (_SIZE_CODE[size] << abi.KVM_REG_SIZE_SHIFT)


def core_reg_offset_from_id(reg_id: int) -> int:
    """guest.c core_reg_offset_from_id: only the arch, size and CORE bits are masked off, so
    bits 28-31 stay in the offset (0x6030000010100000 is offset 0x10000000, not x0)."""
    return reg_id & ~(abi.KVM_REG_ARCH_MASK | abi.KVM_REG_SIZE_MASK | abi.KVM_REG_ARM_CORE)


def core_id(word_offset: int, size: int) -> int:
    return with_size(abi.KVM_REG_ARM64 | abi.KVM_REG_ARM_CORE | word_offset, size)


def _core(*field: str | int) -> tuple[int, int]:
    """(word offset, size) of a struct kvm_regs member, e.g. ("regs", "pc")."""
    off = ffi.offsetof("struct kvm_regs", *field)
    ctype = ffi.typeof("struct kvm_regs")
    for part in field:
        ctype = ctype.item if isinstance(part, int) else dict(ctype.fields)[part].type
    return off // 4, ffi.sizeof(ctype)


def _core_reg(*field: str | int) -> int:
    return core_id(*_core(*field))


# Word offsets into struct kvm_regs (KVM_REG_ARM_CORE_REG), and the ids.
OFF_X = tuple(_core("regs", "regs", n)[0] for n in range(31))
OFF_SP = _core("regs", "sp")[0]
OFF_PC = _core("regs", "pc")[0]
OFF_PSTATE = _core("regs", "pstate")[0]
OFF_SP_EL1 = _core("sp_el1")[0]
OFF_ELR_EL1 = _core("elr_el1")[0]
OFF_SPSR = tuple(_core("spsr", i)[0] for i in range(5))
OFF_VREGS = tuple(_core("fp_regs", "vregs", n)[0] for n in range(32))
OFF_FPSR = _core("fp_regs", "fpsr")[0]
OFF_FPCR = _core("fp_regs", "fpcr")[0]

X = tuple(_core_reg("regs", "regs", n) for n in range(31))
SP = _core_reg("regs", "sp")
PC = _core_reg("regs", "pc")
PSTATE = _core_reg("regs", "pstate")
SP_EL1 = _core_reg("sp_el1")
ELR_EL1 = _core_reg("elr_el1")
SPSR = tuple(_core_reg("spsr", i) for i in range(5))  # KVM_SPSR_EL1, _ABT, _UND, _IRQ, _FIQ
V = tuple(_core_reg("fp_regs", "vregs", n) for n in range(32))
FPSR = _core_reg("fp_regs", "fpsr")
FPCR = _core_reg("fp_regs", "fpcr")
CORE_IDS = (*X, SP, PC, PSTATE, SP_EL1, ELR_EL1, *SPSR, *V, FPSR, FPCR)
_CORE_SIZE = {core_reg_offset_from_id(i): reg_size(i) for i in CORE_IDS}


def core_size_at(word_offset: int) -> int | None:
    """guest.c core_reg_size_from_offset: the size of the core register that starts at this
    word offset, or None (a misaligned or reserved offset)."""
    return _CORE_SIZE.get(word_offset)


def sysreg_id(op0: int, op1: int, crn: int, crm: int, op2: int) -> int:
    """ARM64_SYS_REG(op0, op1, crn, crm, op2)."""
    return (
        abi.KVM_REG_ARM64
        | abi.KVM_REG_SIZE_U64
        | abi.KVM_REG_ARM64_SYSREG
        | (op0 & 3) << abi.KVM_REG_ARM64_SYSREG_OP0_SHIFT
        | (op1 & 7) << abi.KVM_REG_ARM64_SYSREG_OP1_SHIFT
        | (crn & 15) << abi.KVM_REG_ARM64_SYSREG_CRN_SHIFT
        | (crm & 15) << abi.KVM_REG_ARM64_SYSREG_CRM_SHIFT
        | (op2 & 7)
    )
