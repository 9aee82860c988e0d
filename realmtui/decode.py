"""Bitfield decoders for the registers whose raw hex says little: PSTATE/SPSR, FPSR, FPCR,
PMCR_EL0, ID_AA64DFR0_EL1, ESR_ELx (and exit syndromes), MPIDR_EL1 and SCTLR_EL1.

Each register is a table of field specs (name, bit range, meanings), in the spirit of a
BitFlags table: the tables carry the architecture, one small interpreter turns a value into
Fields. Bit positions are from the Arm Architecture Reference Manual for A-profile (DDI 0487),
chapter D24 "AArch64 System Register Descriptions" / C5.2 "Special-purpose registers"; each
table names the register description it follows.

Pure: no Textual, no I/O. The one import outside the standard library is the table of
system-register encodings, used to name the register in a trapped MSR/MRS syndrome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from backends.sysreg_encodings import SYSREGS

_U64 = (1 << 64) - 1


@dataclass(frozen=True)
class Field:
    name: str  # e.g. "N", "EL", "SRT"
    msb: int
    lsb: int
    value: int
    meaning: str  # human text, "" if none

    @property
    def width(self) -> int:
        return self.msb - self.lsb + 1


Decoder = Callable[[int], list[Field]]
# A meaning is a table of value -> text, or a function of the value (for "n+1 breakpoints").
Meaning = Mapping[int, str] | Callable[[int], str] | None


@dataclass(frozen=True)
class _Spec:
    name: str
    msb: int
    lsb: int
    meaning: Meaning = None

    def field(self, value: int) -> Field:
        raw = (value >> self.lsb) & ((1 << (self.msb - self.lsb + 1)) - 1)
        if self.meaning is None:
            text = ""
        elif callable(self.meaning):
            text = self.meaning(raw)
        else:
            text = self.meaning.get(raw, "")
        return Field(self.name, self.msb, self.lsb, raw, text)


def _bit(name: str, bit: int, set_: str = "", clear: str = "") -> _Spec:
    """A one-bit field; the texts say what 1 and 0 mean (either may be empty)."""
    return _Spec(name, bit, bit, {1: set_, 0: clear})


def _apply(specs: tuple[_Spec, ...], value: int) -> list[Field]:
    fields = [spec.field(value) for spec in specs]
    return sorted(fields, key=lambda f: f.msb, reverse=True)  # most significant first


def _ver(table: Mapping[int, str], reserved: str = "reserved") -> Callable[[int], str]:
    """An ID-register field: named values, anything else reserved."""
    return lambda v: table.get(v, reserved)


# --- PSTATE / SPSR ---------------------------------------------------------------------------
# ARM ARM D24.2 SPSR_EL1, "SPSR_EL1 format when the exception was taken from AArch64 state",
# which is also how KVM's struct kvm_regs.regs.pstate holds PSTATE for an AArch64 vCPU.

_AARCH64_MODES: dict[int, tuple[str, str, str]] = {
    # M[3:0]: name, EL, stack pointer. M[3:2] is the EL; M[0] picks SP_EL0 (t) or SP_ELx (h).
    0b0000: ("EL0t", "EL0", "SP_EL0"),
    0b0100: ("EL1t", "EL1", "SP_EL0"),
    0b0101: ("EL1h", "EL1", "SP_EL1"),
    0b1000: ("EL2t", "EL2", "SP_EL0"),
    0b1001: ("EL2h", "EL2", "SP_EL2"),
    0b1100: ("EL3t", "EL3", "SP_EL0"),
    0b1101: ("EL3h", "EL3", "SP_EL3"),
}


def _aarch64_mode(m: int) -> str:
    if m in _AARCH64_MODES:
        name, el, sp = _AARCH64_MODES[m]
        return f"{name} ({el}, {sp})"
    # M[1] is RES0 and EL0 has no "h" form: an ERET to these is an illegal exception return.
    return f"reserved mode 0b{m:04b} (illegal return)"


_NZCV = (
    _bit("N", 31, "negative"),
    _bit("Z", 30, "zero"),
    _bit("C", 29, "carry"),
    _bit("V", 28, "overflow"),
)

_SPSR_AARCH64 = (
    # FEAT_UINJ, FEAT_PAuth_LR, FEAT_GCS, FEAT_EBEP (x2): bits [36:32] of the 64-bit SPSR.
    _bit("UINJ", 36, "undefined instruction exception injected"),
    _bit("PACM", 35, "PACM (FEAT_PAuth_LR)"),
    _bit("EXLOCK", 34, "GCS exception state lock"),
    _bit("PPEND", 33, "PMU exception pending"),
    _bit("PM", 32, "PMU exception mask"),
    *_NZCV,
    _bit("TCO", 25, "MTE tag checks suppressed"),
    _bit("DIT", 24, "data-independent timing"),
    _bit("UAO", 23, "unprivileged loads/stores use EL1 permissions"),
    _bit("PAN", 22, "privileged access never"),
    _bit("SS", 21, "software step active"),
    _bit("IL", 20, "illegal execution state"),
    _bit("ALLINT", 13, "all interrupts masked"),
    _bit("SSBS", 12, "speculative store bypass safe"),
    _Spec("BTYPE", 11, 10),  # branch type of the last indirect branch (FEAT_BTI)
    _bit("D", 9, "debug exceptions masked"),
    _bit("A", 8, "SError masked"),
    _bit("I", 7, "IRQ masked"),
    _bit("F", 6, "FIQ masked"),
    _bit("nRW", 4, "AArch32", "AArch64"),  # M[4]
    _Spec("M", 3, 0, _aarch64_mode),  # M[3:0]
)

# ARM ARM D24.2 SPSR_EL1, "SPSR_EL1 format when the exception was taken from AArch32 state";
# also the format of the banked SPSR_abt/und/irq/fiq (G8.2 SPSR_abt etc.) and of CPSR.
_AARCH32_MODES: dict[int, str] = {
    0b10000: "usr (User)",
    0b10001: "fiq (FIQ)",
    0b10010: "irq (IRQ)",
    0b10011: "svc (Supervisor)",
    0b10110: "mon (Monitor)",
    0b10111: "abt (Abort)",
    0b11010: "hyp (Hyp)",
    0b11011: "und (Undefined)",
    0b11111: "sys (System)",
}

_SPSR_AARCH32 = (
    *_NZCV,
    _bit("Q", 27, "saturation (sticky)"),
    _Spec("IT[1:0]", 26, 25),
    _bit("DIT", 24, "data-independent timing"),
    _bit("SSBS", 23, "speculative store bypass safe"),
    _bit("PAN", 22, "privileged access never"),
    _bit("SS", 21, "software step active"),
    _bit("IL", 20, "illegal execution state"),
    _Spec("GE", 19, 16),
    _Spec("IT[7:2]", 15, 10),
    _bit("E", 9, "big-endian data", "little-endian data"),
    _bit("A", 8, "SError masked"),
    _bit("I", 7, "IRQ masked"),
    _bit("F", 6, "FIQ masked"),
    _bit("T", 5, "T32", "A32"),
    _Spec("M", 4, 0, lambda m: _AARCH32_MODES.get(m, f"reserved mode 0b{m:05b}")),
)


def decode_pstate(value: int) -> list[Field]:
    """PSTATE or an SPSR: M[4] (nRW) says which of the two formats the value is in."""
    value &= _U64
    if value & (1 << 4):
        return _apply(_SPSR_AARCH32, value)
    return _apply(_SPSR_AARCH64, value)


# --- FPSR / FPCR -----------------------------------------------------------------------------
# ARM ARM C5.2.9 FPSR, Floating-point Status Register.
_FPSR = (
    # NZCV here are the AArch32 FPSCR flags; AArch64 keeps them in PSTATE.
    _bit("N", 31, "negative (AArch32 only)"),
    _bit("Z", 30, "zero (AArch32 only)"),
    _bit("C", 29, "carry (AArch32 only)"),
    _bit("V", 28, "overflow (AArch32 only)"),
    _bit("QC", 27, "saturation occurred"),
    _bit("IDC", 7, "input denormal"),
    _bit("IXC", 4, "inexact"),
    _bit("UFC", 3, "underflow"),
    _bit("OFC", 2, "overflow"),
    _bit("DZC", 1, "divide by zero"),
    _bit("IOC", 0, "invalid operation"),
)

# ARM ARM C5.2.8 FPCR, Floating-point Control Register.
_FPCR = (
    _bit("AHP", 26, "alternative half-precision", "IEEE half-precision"),
    _bit("DN", 25, "default NaN"),
    _bit("FZ", 24, "flush denormals to zero"),
    # Single-token texts: the status line shows "RMode=RZ".
    _Spec("RMode", 23, 22, {0: "RN", 1: "RP", 2: "RM", 3: "RZ"}),
    _Spec("Stride", 21, 20),  # AArch32 short vectors; RES0 in AArch64 use
    _bit("FZ16", 19, "flush half-precision denormals to zero"),
    _Spec("Len", 18, 16),
    _bit("IDE", 15, "trap input denormal"),
    _bit("EBF", 13, "extended BFloat16 behaviour"),  # FEAT_EBF16
    _bit("IXE", 12, "trap inexact"),
    _bit("UFE", 11, "trap underflow"),
    _bit("OFE", 10, "trap overflow"),
    _bit("DZE", 9, "trap divide by zero"),
    _bit("IOE", 8, "trap invalid operation"),
    _bit("NEP", 2, "scalar ops merge upper elements"),  # FEAT_AFP
    _bit("AH", 1, "alternate floating-point handling"),  # FEAT_AFP
    _bit("FIZ", 0, "flush input denormals to zero"),  # FEAT_AFP
)

# --- PMCR_EL0 --------------------------------------------------------------------------------
# ARM ARM D24.5 PMCR_EL0, Performance Monitors Control Register. N is bits [15:11]; bit 10 and
# bit 8 are RES0; FZO (FEAT_PMUv3p7) is bit 9, FZS (FEAT_SPEv1p2) bit 32.
_PMCR = (
    _bit("FZS", 32, "freeze counters on SPE buffer event"),
    _Spec("IMP", 31, 24),  # implementer code (deprecated)
    _Spec("IDCODE", 23, 16),  # identification code (deprecated)
    _Spec("N", 15, 11, lambda n: f"{n} event counter{'' if n == 1 else 's'}"),
    _bit("FZO", 9, "freeze counters on overflow"),
    _bit("LP", 7, "event counters are 64-bit"),
    _bit("LC", 6, "cycle counter overflows at 64 bits"),
    _bit("DP", 5, "cycle counter disabled when prohibited"),
    _bit("X", 4, "export events"),
    _bit("D", 3, "cycle counter counts every 64 cycles"),
    _bit("C", 2, "cycle counter reset (write-only)"),
    _bit("P", 1, "event counter reset (write-only)"),
    _bit("E", 0, "counters enabled", "counters disabled"),
)

# --- ID_AA64DFR0_EL1 -------------------------------------------------------------------------
# ARM ARM D24.2 ID_AA64DFR0_EL1, AArch64 Debug Feature Register 0.


def _plus_one(what: str) -> Callable[[int], str]:
    return lambda n: f"{n + 1} {what}"


_DFR0 = (
    _Spec("HPMN0", 63, 60, _ver({0: "MDCR_EL2.HPMN=0 unpredictable", 1: "MDCR_EL2.HPMN=0 ok"})),
    _Spec("ExtTrcBuff", 59, 56, _ver({0: "not implemented", 1: "FEAT_TRBE_EXT"})),
    _Spec("BRBE", 55, 52, _ver({0: "not implemented", 1: "FEAT_BRBE", 2: "FEAT_BRBEv1p1"})),
    _Spec(
        "MTPMU",
        51,
        48,
        _ver({0: "not implemented or IMPDEF", 1: "FEAT_MTPMU", 0xF: "not implemented"}),
    ),
    _Spec("TraceBuffer", 47, 44, _ver({0: "not implemented", 1: "FEAT_TRBE", 2: "TRBEv1p1"})),
    _Spec("TraceFilt", 43, 40, _ver({0: "not implemented", 1: "FEAT_TRF"})),
    _Spec("DoubleLock", 39, 36, _ver({0: "implemented", 0xF: "not implemented"})),
    _Spec(
        "PMSVer",
        35,
        32,
        _ver(
            {0: "not implemented", 1: "SPE", 2: "SPEv1p1", 3: "SPEv1p2", 4: "SPEv1p3",
             5: "SPEv1p4", 6: "SPEv1p5"}
        ),
    ),
    _Spec("CTX_CMPs", 31, 28, _plus_one("context-aware breakpoints")),
    _Spec("SEBEP", 27, 24, _ver({0: "not implemented", 1: "FEAT_SEBEP"})),
    _Spec("WRPs", 23, 20, _plus_one("watchpoints")),
    _Spec("PMSS", 19, 16, _ver({0: "not implemented", 1: "FEAT_PMUv3_SS"})),
    _Spec("BRPs", 15, 12, _plus_one("breakpoints")),
    _Spec(
        "PMUVer",
        11,
        8,
        _ver(
            {0: "not implemented", 1: "PMUv3", 4: "PMUv3p1", 5: "PMUv3p4", 6: "PMUv3p5",
             7: "PMUv3p7", 8: "PMUv3p8", 9: "PMUv3p9", 0xF: "IMPDEF"}
        ),
    ),
    _Spec("TraceVer", 7, 4, _ver({0: "no system-register trace", 1: "system-register trace"})),
    _Spec(
        "DebugVer",
        3,
        0,
        _ver({6: "Debugv8", 7: "Debugv8p1", 8: "Debugv8p2", 9: "Debugv8p4", 0xA: "Debugv8p8",
              0xB: "Debugv8p9"}),
    ),
)

# --- MPIDR_EL1 -------------------------------------------------------------------------------
# ARM ARM D24.2 MPIDR_EL1, Multiprocessor Affinity Register (VMPIDR_EL2 has the same layout).
# Bit 31 is RES1.
_MPIDR = (
    _Spec("Aff3", 39, 32),
    _bit("U", 30, "uniprocessor", "part of a multiprocessor system"),
    _bit("MT", 24, "multithreaded: Aff0 is a thread"),
    _Spec("Aff2", 23, 16),
    _Spec("Aff1", 15, 8),
    _Spec("Aff0", 7, 0),
)

# --- SCTLR_EL1 -------------------------------------------------------------------------------
# ARM ARM D24.2 SCTLR_EL1, System Control Register (EL1). Bit 17 and bits [53:50] (withdrawn
# FEAT_TME) are left out; so are the RES1 bits of older architectures (they are fields now).
_TCF = {0: "no tag check faults", 1: "sync tag check faults", 2: "async tag check faults",
        3: "asymmetric tag check faults"}

_SCTLR = (
    _bit("TIDCP", 63, "trap IMPDEF sysregs at EL0"),
    _bit("SPINTMASK", 62, "SP-based interrupt masking"),
    _bit("NMI", 61, "non-maskable interrupts"),
    _bit("EnTP2", 60, "EL0 access to TPIDR2_EL0"),
    _bit("TCSO", 59, "MTE store-only checking at EL1"),
    _bit("TCSO0", 58, "MTE store-only checking at EL0"),
    _bit("EPAN", 57, "enhanced PAN"),
    _bit("EnALS", 56, "EL0 LD64B/ST64B allowed"),
    _bit("EnAS0", 55, "EL0 ST64BV0 allowed"),
    _bit("EnASR", 54, "EL0 ST64BV allowed"),
    _Spec("TWEDEL", 49, 46),
    _bit("TWEDEn", 45, "fine-grained WFE trap delay"),
    _bit("DSSBS", 44, "PSTATE.SSBS set on exception entry"),
    _bit("ATA", 43, "EL1 allocation tag access"),
    _bit("ATA0", 42, "EL0 allocation tag access"),
    _Spec("TCF", 41, 40, _TCF),
    _Spec("TCF0", 39, 38, _TCF),
    _bit("ITFSB", 37, "auto-sync tag check faults"),
    _bit("BT1", 36, "EL1 PACIxSP are not BTI landing pads"),
    _bit("BT0", 35, "EL0 PACIxSP are not BTI landing pads"),
    _bit("EnFPM", 34, "FPMR accessible"),
    _bit("MSCEn", 33, "EL0 memory copy/set instructions"),
    _bit("CMOW", 32, "cache maintenance needs write permission"),
    _bit("EnIA", 31, "pointer auth: APIA key"),
    _bit("EnIB", 30, "pointer auth: APIB key"),
    _bit("LSMAOE", 29, "load/store multiple atomicity"),
    _bit("nTLSMD", 28, "", "trap EL0 LDM/STM to device memory"),
    _bit("EnDA", 27, "pointer auth: APDA key"),
    _bit("UCI", 26, "EL0 cache maintenance allowed"),
    _bit("EE", 25, "EL1 big-endian", "EL1 little-endian"),
    _bit("E0E", 24, "EL0 big-endian", "EL0 little-endian"),
    _bit("SPAN", 23, "PAN unchanged on exception", "PAN set on exception to EL1"),
    _bit("EIS", 22, "exception entry is context-synchronizing"),
    _bit("IESB", 21, "implicit error synchronization"),
    _bit("TSCXT", 20, "", "EL0 access to SCXTNUM_EL0"),
    _bit("WXN", 19, "writable implies execute-never"),
    _bit("nTWE", 18, "", "trap EL0 WFE"),
    _bit("nTWI", 16, "", "trap EL0 WFI"),
    _bit("UCT", 15, "EL0 access to CTR_EL0"),
    _bit("DZE", 14, "EL0 DC ZVA allowed"),
    _bit("EnDB", 13, "pointer auth: APDB key"),
    _bit("I", 12, "instruction cacheable", "instruction non-cacheable"),
    _bit("EOS", 11, "exception exit is context-synchronizing"),
    _bit("EnRCTX", 10, "EL0 speculation restriction instructions"),
    _bit("UMA", 9, "EL0 DAIF access"),
    _bit("SED", 8, "", "AArch32 EL0 SETEND enabled"),
    _bit("ITD", 7, "AArch32 EL0 IT disabled"),
    _bit("nAA", 6, "unaligned LSE2 accesses do not fault"),
    _bit("CP15BEN", 5, "AArch32 EL0 CP15 barriers enabled"),
    _bit("SA0", 4, "EL0 SP alignment check"),
    _bit("SA", 3, "EL1 SP alignment check"),
    _bit("C", 2, "data cacheable", "data non-cacheable"),
    _bit("A", 1, "alignment check"),
    _bit("M", 0, "stage 1 MMU on", "stage 1 MMU off"),
)

# --- ESR_ELx ---------------------------------------------------------------------------------
# ARM ARM D24.2 ESR_EL1, Exception Syndrome Register: ISS2 [55:32], EC [31:26], IL [25],
# ISS [24:0], and the per-EC "ISS encoding for an exception from ..." sections.

_EC_NAMES: dict[int, str] = {
    0x00: "unknown reason",
    0x01: "trapped WFI/WFE",
    0x03: "trapped MCR/MRC, coproc 0b1111, AArch32",
    0x04: "trapped MCRR/MRRC, coproc 0b1111, AArch32",
    0x05: "trapped MCR/MRC, coproc 0b1110, AArch32",
    0x06: "trapped LDC/STC, AArch32",
    0x07: "SVE/SIMD/FP access trapped",
    0x08: "trapped VMRS, AArch32",
    0x09: "trapped pointer authentication instruction",
    0x0A: "trapped LD64B/ST64B* instruction",
    0x0C: "trapped MRRC, coproc 0b1110, AArch32",
    0x0D: "branch target exception",
    0x0E: "illegal execution state",
    0x11: "SVC from AArch32",
    0x12: "HVC from AArch32",
    0x13: "SMC from AArch32",
    0x15: "SVC from AArch64",
    0x16: "HVC from AArch64",
    0x17: "SMC from AArch64",
    0x18: "trapped MSR/MRS/system instruction",
    0x19: "SVE access trapped",
    0x1A: "trapped ERET/ERETAA/ERETAB",
    0x1C: "pointer authentication failure",
    0x1D: "SME access trapped",
    0x1E: "granule protection check, to EL3",  # FEAT_RME
    0x1F: "IMPLEMENTATION DEFINED exception to EL3",
    0x20: "instruction abort from a lower EL",
    0x21: "instruction abort from the same EL",
    0x22: "PC alignment fault",
    0x24: "data abort from a lower EL",
    0x25: "data abort from the same EL",
    0x26: "SP alignment fault",
    0x27: "memory copy/set exception",
    0x28: "trapped FP exception, AArch32",
    0x2C: "trapped FP exception, AArch64",
    0x2D: "GCS exception",
    0x2F: "SError",
    0x30: "breakpoint from a lower EL",
    0x31: "breakpoint from the same EL",
    0x32: "software step from a lower EL",
    0x33: "software step from the same EL",
    0x34: "watchpoint from a lower EL",
    0x35: "watchpoint from the same EL",
    0x38: "BKPT from AArch32",
    0x3A: "vector catch, AArch32",
    0x3C: "BRK from AArch64",
}


def ec_name(ec: int) -> str:
    """What an Exception Class means; "unallocated" for the encodings the ARM ARM leaves free.

    No parentheses in these names: the status line wraps them in its own.
    """
    return _EC_NAMES.get(ec, f"unallocated EC 0x{ec:02x}")


def _fsc_name(fsc: int) -> str:
    """DFSC/IFSC: ARM ARM D24.2 ESR_EL1, "ISS encoding for an exception from a Data Abort"."""
    level = fsc & 3
    match fsc >> 2:
        case 0b0000:
            return f"address size fault, level {level}"
        case 0b0001:
            return f"translation fault, level {level}"
        case 0b0010:
            return f"access flag fault, level {level}"  # level 0 needs FEAT_LPA2
        case 0b0011:
            return f"permission fault, level {level}"  # level 0 needs FEAT_LPA2
        case 0b0101:
            return f"synchronous external abort on table walk, level {level}"
        case 0b0111:
            return f"synchronous parity/ECC error on table walk, level {level}"
        case 0b1001:
            return f"granule protection fault on table walk, level {level}"  # FEAT_RME
    return _FSC_OTHER.get(fsc, f"reserved fault status 0x{fsc:02x}")


_FSC_OTHER: dict[int, str] = {
    0x10: "synchronous external abort",
    0x11: "synchronous tag check fault",  # FEAT_MTE2 (data aborts)
    0x12: "synchronous external abort on table walk, level -2",  # FEAT_D128
    0x13: "synchronous external abort on table walk, level -1",  # FEAT_LPA2
    0x18: "synchronous parity/ECC error",
    0x1B: "synchronous parity/ECC error on table walk, level -1",
    0x21: "alignment fault",
    0x22: "granule protection fault on table walk, level -2",  # FEAT_RME + FEAT_D128
    0x23: "granule protection fault on table walk, level -1",  # FEAT_RME + FEAT_LPA2
    0x28: "granule protection fault",  # FEAT_RME, not on a walk
    0x29: "address size fault, level -1",
    0x2A: "translation fault, level -2",
    0x2B: "translation fault, level -1",
    0x2C: "address size fault, level -2",
    0x30: "TLB conflict abort",
    0x31: "unsupported atomic hardware update fault",
    0x34: "IMPLEMENTATION DEFINED fault: lockdown",
    0x35: "IMPLEMENTATION DEFINED fault: unsupported exclusive or atomic",
}

_NOT_VALID = "not valid (ISV=0)"
_SAS = {0: "byte", 1: "halfword", 2: "word", 3: "doubleword"}
_SET = {0: "recoverable (UER)", 2: "uncontainable (UC)", 3: "restartable (UEO)"}


def _xreg(n: int) -> str:
    return "xzr" if n == 31 else f"x{n}"


def _if_valid(isv: int, meaning: Meaning) -> Meaning:
    """ISV=0: the ARM ARM says SAS, SSE, SRT, SF and AR hold no information."""
    if isv:
        return meaning
    return lambda _v: _NOT_VALID


# ISS2 of a data abort (D24.2 ESR_EL1, ISS2 encoding for a Data Abort): named single bits.
_DABT_ISS2_BITS = ((10, "TnD"), (9, "TagAccess"), (8, "GCS"), (6, "Overlay"), (5, "DirtyBit"))


def _dabt_iss2(iss2: int) -> str:
    parts = [name for bit, name in _DABT_ISS2_BITS if iss2 >> bit & 1]
    if iss2 & 0x1F:
        parts.append(f"Xs={_xreg(iss2 & 0x1F)}")
    return ", ".join(parts)


def _abort_common(fsc: int, fsc_name: str) -> tuple[_Spec, ...]:
    """Fields shared by instruction and data aborts: SET, FnV, EA, S1PTW, xFSC."""
    specs: list[_Spec] = []
    if fsc == 0x10:  # SET is only defined for a synchronous external abort (FEAT_RAS)
        specs.append(_Spec("SET", 12, 11, _SET))
    specs += [
        _bit("FnV", 10, "FAR not valid", "FAR valid"),
        _bit("EA", 9, "external abort type (IMPDEF)"),
        _bit("S1PTW", 7, "stage 2 fault on a stage 1 table walk"),
        _Spec(fsc_name, 5, 0, _fsc_name),
    ]
    return tuple(specs)


def _dabt_iss(esr: int) -> tuple[_Spec, ...]:
    isv = esr >> 24 & 1
    return (
        _bit("ISV", 24, "syndrome valid", "syndrome not valid"),
        _Spec("SAS", 23, 22, _if_valid(isv, _SAS)),
        _Spec("SSE", 21, 21, _if_valid(isv, {0: "zero-extend", 1: "sign-extend"})),
        _Spec("SRT", 20, 16, _if_valid(isv, _xreg)),
        _Spec("SF", 15, 15, _if_valid(isv, {0: "32-bit register", 1: "64-bit register"})),
        _Spec("AR", 14, 14, _if_valid(isv, {0: "", 1: "acquire/release"})),
        _bit("VNCR", 13, "VNCR_EL2 access (FEAT_NV2)"),
        _bit("CM", 8, "cache maintenance or address translation"),
        _bit("WnR", 6, "write", "read"),
        *_abort_common(esr & 0x3F, "DFSC"),
    )


def _iabt_iss(esr: int) -> tuple[_Spec, ...]:
    return _abort_common(esr & 0x3F, "IFSC")


# A trapped MSR/MRS names its register by encoding: look it up the architectural way. The
# encodings table holds two KVM ABI ids swapped (see its docstring): put them back.
_ARCH_SWAPS = {(3, 3, 14, 0, 2): "CNTVCT_EL0", (3, 3, 14, 3, 2): "CNTV_CVAL_EL0"}


@lru_cache(maxsize=1)
def _sysreg_by_encoding() -> dict[tuple[int, int, int, int, int], str]:
    return {enc: name for name, enc in SYSREGS.items()} | _ARCH_SWAPS


def _sysreg_name(op0: int, op1: int, crn: int, crm: int, op2: int) -> str:
    name = _sysreg_by_encoding().get((op0, op1, crn, crm, op2))
    return name or f"S{op0}_{op1}_C{crn}_C{crm}_{op2}"


def _sys64_iss(esr: int) -> tuple[_Spec, ...]:
    # D24.2 ESR_EL1, "ISS encoding for an exception from MSR, MRS, or System instruction
    # execution in AArch64 state". Direction 1 is a read (MRS), 0 a write (MSR/SYS).
    op0, op2, op1 = esr >> 20 & 3, esr >> 17 & 7, esr >> 14 & 7
    crn, rt, crm = esr >> 10 & 15, esr >> 5 & 31, esr >> 1 & 15
    reg = _sysreg_name(op0, op1, crn, crm, op2)
    direction = {1: f"read (MRS {_xreg(rt)}, {reg})", 0: f"write (MSR {reg}, {_xreg(rt)})"}
    return (
        _Spec("Op0", 21, 20),
        _Spec("Op2", 19, 17),
        _Spec("Op1", 16, 14),
        _Spec("CRn", 13, 10),
        _Spec("Rt", 9, 5, _xreg),
        _Spec("CRm", 4, 1),
        _Spec("Direction", 0, 0, direction),
    )


_WFX_TI = {0: "WFI", 1: "WFE", 2: "WFIT", 3: "WFET"}

# D24.2 ESR_EL1, "ISS encoding for an exception from a WF* instruction".
_WFX_ISS = (
    _bit("CV", 24, "COND valid"),
    _Spec("COND", 23, 20),
    _Spec("Rn", 9, 5, _xreg),
    _bit("RV", 2, "Rn valid"),
    _Spec("TI", 1, 0, _WFX_TI),
)

# D24.2 ESR_EL1, "ISS encoding for an exception from HVC or SVC / SMC": imm16 is the immediate.
_IMM16_ISS = (_Spec("imm16", 15, 0, lambda v: f"#{_num(v)}"),)

# D24.2 ESR_EL1, "ISS encoding for a BRK instruction": the comment field of the instruction.
_BRK_ISS = (_Spec("Comment", 15, 0, lambda v: f"#{_num(v)}"),)

# D24.2 ESR_EL1, "ISS encoding for an SError exception" (with FEAT_RAS).
_AET = {0: "uncontainable (UC)", 1: "unrecoverable (UEU)", 2: "restartable (UEO)",
        3: "recoverable (UER)", 6: "corrected (CE)"}
_SERROR_DFSC = {0x00: "uncategorized", 0x11: "asynchronous SError interrupt"}
_SERROR_RAS_ISS = (
    _bit("IDS", 24, "IMPDEF syndrome", "architected syndrome"),
    _bit("IESB", 13, "synchronized by implicit error barrier"),
    _Spec("AET", 12, 10, _AET),
    _bit("EA", 9, "external abort type (IMPDEF)"),
    _Spec("DFSC", 5, 0, _SERROR_DFSC),
)
_SERROR_IMPDEF_ISS = (
    _bit("IDS", 24, "IMPDEF syndrome", "architected syndrome"),
    _Spec("ISS[23:0]", 23, 0),
)

_WHOLE_ISS = (_Spec("ISS", 24, 0),)


def _iss_specs(esr: int) -> tuple[_Spec, ...]:
    ec = esr >> 26 & 0x3F
    match ec:
        case 0x24 | 0x25:
            return _dabt_iss(esr)
        case 0x20 | 0x21:
            return _iabt_iss(esr)
        case 0x18:
            return _sys64_iss(esr)
        case 0x01:
            return _WFX_ISS
        case 0x11 | 0x12 | 0x15 | 0x16 | 0x17:
            return _IMM16_ISS
        case 0x3C:
            return _BRK_ISS
        case 0x2F:
            return _SERROR_IMPDEF_ISS if esr >> 24 & 1 else _SERROR_RAS_ISS
    return _WHOLE_ISS


_ESR_HEAD = (
    _Spec("EC", 31, 26, ec_name),
    _bit("IL", 25, "32-bit instruction", "16-bit instruction or not an instruction trap"),
)


def decode_esr(esr: int) -> list[Field]:
    """An ESR_ELx value, or a KVM exit syndrome in the same format."""
    esr &= _U64
    data_abort = (esr >> 26 & 0x3F) in (0x24, 0x25)
    # ISS2 [55:32] (FEAT_LS64, FEAT_MTE, FEAT_GCS, ...): only a data abort's is spelled out.
    iss2 = _Spec("ISS2", 55, 32, _dabt_iss2 if data_abort else None)
    return _apply((iss2, *_ESR_HEAD, *_iss_specs(esr)), esr)


# --- dispatch --------------------------------------------------------------------------------


def _table(specs: tuple[_Spec, ...]) -> Decoder:
    return lambda value: _apply(specs, value & _U64)


_DECODERS: dict[str, Decoder] = {
    "pstate": decode_pstate,
    "cpsr": decode_pstate,
    "fpsr": _table(_FPSR),
    "fpcr": _table(_FPCR),
    "pmcr_el0": _table(_PMCR),
    "id_aa64dfr0_el1": _table(_DFR0),
    "mpidr_el1": _table(_MPIDR),
    "vmpidr_el2": _table(_MPIDR),
    "sctlr_el1": _table(_SCTLR),
}

# Families matched by prefix: spsr_el1 and the AArch32 banked spsr_abt/und/irq/fiq share a
# format; any esr_* (and a bare "esr" exit syndrome) is an ESR.
_PREFIX_DECODERS: tuple[tuple[str, Decoder], ...] = (
    ("spsr", decode_pstate),
    ("esr", decode_esr),
)

DECODED_REGISTERS: tuple[str, ...] = (
    "pstate", "spsr_el1", "spsr_abt", "spsr_und", "spsr_irq", "spsr_fiq", "fpsr", "fpcr",
    "PMCR_EL0", "ID_AA64DFR0_EL1", "ESR_EL1", "MPIDR_EL1", "SCTLR_EL1",
)


def decoder_for(reg_name: str) -> Decoder | None:
    """The decoder for a register, by name in any case; None when there is none."""
    key = reg_name.strip().lower()
    if key in _DECODERS:
        return _DECODERS[key]
    for prefix, decoder in _PREFIX_DECODERS:
        if key.startswith(prefix):
            return decoder
    return None


def decode(reg_name: str, value: int) -> list[Field]:
    """The fields of a register value, most significant first; [] when it has no decoder."""
    decoder = decoder_for(reg_name)
    return decoder(value) if decoder else []


# --- one-line summary ------------------------------------------------------------------------

_COND_FLAGS = frozenset({"N", "Z", "C", "V"})
_HEADLINE = frozenset({"EC", "DFSC", "IFSC"})  # shown with their meaning in parentheses
_DIRECTION_BITS = frozenset({"WnR", "Direction"})  # both states matter: read vs write


def _num(value: int) -> str:
    return str(value) if value < 10 else f"0x{value:x}"


def _format_one(field: Field, with_nzcv: bool) -> str | None:
    if field.meaning == _NOT_VALID:
        return None  # the architecture says the bits mean nothing: don't show a number
    if field.width == 1:
        if with_nzcv and field.name in _COND_FLAGS:
            return f"{field.name}={field.value}"
        if field.name in _DIRECTION_BITS:
            return f"{field.name}={field.meaning.split()[0]}" if field.meaning else None
        return field.name if field.value else None
    if field.name == "M":  # a mode: its name says it all ("EL1h", "svc")
        if field.meaning and not field.meaning.startswith("reserved"):
            return field.meaning.split()[0]
        return f"M=0b{field.value:0{field.width}b}"  # an unallocated mode: show the bits
    if field.name in _HEADLINE:
        text = f"{field.name}=0x{field.value:02x}"
        return f"{text} ({field.meaning})" if field.meaning else text
    if field.meaning and " " not in field.meaning:  # a one-word meaning: "RMode=RZ", "SRT=x3"
        return f"{field.name}={field.meaning}"
    return f"{field.name}={_num(field.value)}" if field.value else None


def format_fields(fields: list[Field]) -> str:
    """A compact one-line summary for the status line.

    One-bit fields show by name when set; multi-bit fields as NAME=value when non-zero, or
    NAME=meaning when the meaning is one word; a mode shows by name. Where there is a mode
    (PSTATE/SPSR), the condition flags are spelled out -- "N=0 Z=1 C=1 V=0 D A I F EL1h" --
    rather than QEMU's "-ZC-", so a clear flag reads as clear, not as a missing character.
    A trapped MSR/MRS shows as the instruction ("MRS x1, PMCR_EL0"), not as its encoding.
    """
    with_nzcv = any(f.name == "M" and f.width > 1 for f in fields)
    instruction = _trapped_instruction(fields)
    parts: list[str] = []
    for field in fields:
        if instruction and field.name in _SYS64_FIELDS:
            if field.name == "Direction":
                parts.append(instruction)
            continue
        text = _format_one(field, with_nzcv)
        if text:
            parts.append(text)
    return " ".join(parts)


_SYS64_FIELDS = frozenset({"Op0", "Op2", "Op1", "CRn", "Rt", "CRm", "Direction"})


def _trapped_instruction(fields: list[Field]) -> str | None:
    """The instruction in a sysreg trap's Direction meaning: "read (MRS x1, PMCR_EL0)"."""
    for field in fields:
        if field.name == "Direction" and "(" in field.meaning:
            return field.meaning[field.meaning.index("(") + 1 : field.meaning.rindex(")")]
    return None
