"""An interpreter for the A64 instructions the demo guests use, and a few more.

The guest runs at EL1 with its MMU off, so a virtual address is the IPA and every data access is
to Device-nGnRnE memory (Arm ARM D8, "The effects of disabling an address translation stage").
`run` executes until something would be taken to EL2 (a stage-2 abort, a trapped SMC, an HVC)
and reports it as a `Trap` carrying the ESR_EL2/FAR_EL2/HPFAR_EL2 values hardware would give the
hypervisor. The RMM and KVM layers above build their exits from those, exactly as on hardware.

This is a second account of the ISA, written from the Arm ARM (DDI 0487) encoding tables (C4.1)
and pseudocode (C6.2) independently of `backends.a64`, so that running the encoder's output
here tests both. Exceptions the guest would take to its own EL1 (undefined instructions, BRK,
alignment faults) are not modelled: there is no EL1 vector table in the demos to go to, so `run`
stops with an UNDEFINED trap whose ESR says which exception it was and `describe()` says why.

WFI, like every other hint, completes at once. The Arm ARM lets a WFI wake up for no reason, so
this is one of its legal behaviours; the sim has no interrupts to wait for, and neither host
exits to userspace for a WFI (KVM blocks in the kernel; TF-RMM traps WFI only when the host sets
REC_ENTER_FLAG_TRAP_WFI, which the v9 kernel never does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum, auto
from typing import Protocol

from backends.arch import MASK64 as _MASK64
from backends.sim.syndrome import (
    EC_DABT_LOW,
    EC_HVC64,
    EC_IABT_LOW,
    EC_SHIFT,
    EC_SMC64,
    EC_UNKNOWN,
    ESR_IL,
    ESR_ISV,
    ESR_SAS_SHIFT,
    ESR_SF,
    ESR_SRT_SHIFT,
    ESR_SSE,
    ESR_WNR,
)

# The ESR layout comes from backends/sim/syndrome.py, which the hypervisor side reads it with.
# Here: the classes of the exceptions that go to the guest's own EL1, which the sim stops at
# instead (they never reach EL2), and the fault status codes the sim reports.
EC_PC_ALIGN = 0x22
EC_DABT_CUR = 0x25  # data abort without a change of EL (an alignment fault stays at EL1)
EC_BRK64 = 0x3C
FSC_TRANSLATION_L3 = 0x07  # DFSC/IFSC: translation fault, level 3
FSC_ALIGNMENT = 0x21


class GuestMemory(Protocol):
    """Guest memory through stage 2. Values are little-endian unsigned integers."""

    def load(self, ipa: int, size: int) -> int | None:
        """Read `size` bytes at `ipa`; None is a stage-2 fault (nothing mapped there)."""
        ...

    def store(self, ipa: int, size: int, value: int) -> bool:
        """Write `size` bytes at `ipa`; False is a stage-2 fault, and nothing was written."""
        ...


@dataclass
class CpuState:
    x: list[int] = field(default_factory=lambda: [0] * 31)  # x0-x30, unsigned 64-bit
    sp: int = 0  # SP_EL1
    pc: int = 0
    pstate: int = 0x3C5  # EL1h with D, A, I, F masked; NZCV in [31:28]


class TrapKind(StrEnum):
    DATA_ABORT = auto()  # stage-2 fault on a load or store
    INSN_ABORT = auto()  # stage-2 fault on an instruction fetch
    SMC = auto()  # trapped to EL2 by HCR_EL2.TSC
    HVC = auto()
    # The sim cannot go on: an instruction it does not implement, or an exception the guest
    # would take to its own EL1 (ESR says which). The guest's state is as before the instruction.
    UNDEFINED = auto()
    BUDGET = auto()  # the instruction budget ran out


@dataclass(frozen=True)
class Trap:
    """Why `run` stopped, with the syndrome registers EL2 would see."""

    kind: TrapKind
    esr: int  # ESR_EL2 as hardware would report it to EL2 (the EL1 syndrome, for UNDEFINED)
    far: int  # FAR_EL2: the faulting VA, which is the IPA with the MMU off
    hpfar: int  # HPFAR_EL2: FIPA = IPA[51:12] in bits [43:4]
    pc: int  # address of the instruction that trapped
    insn: int  # its encoding (0 when it could not be fetched)

    @property
    def ec(self) -> int:
        return self.esr >> EC_SHIFT

    @property
    def iss(self) -> int:
        return self.esr & ((1 << 25) - 1)

    def describe(self) -> str:
        """One line for a person: what stopped the guest, and where."""
        at = f"at pc {self.pc:#x}"
        imm16 = self.iss & 0xFFFF
        match self.kind:
            case TrapKind.DATA_ABORT:
                size = 1 << ((self.iss >> ESR_SAS_SHIFT) & 3)
                reg = f"{'x' if self.iss & ESR_SF else 'w'}{(self.iss >> ESR_SRT_SHIFT) & 31}"
                what = f"{size}-byte {'write of' if self.iss & ESR_WNR else 'read into'} {reg}"
                return f"stage-2 data abort: {what} at IPA {self.far:#x}, {at}"
            case TrapKind.INSN_ABORT:
                return f"stage-2 instruction abort: nothing mapped at IPA {self.far:#x}"
            case TrapKind.SMC:
                return f"smc #{imm16:#x} {at}"
            case TrapKind.HVC:
                return f"hvc #{imm16:#x} {at}"
            case TrapKind.BUDGET:
                return f"no exit within the instruction budget; stopped {at}"
        el1 = "to the guest's EL1, which the simulator does not model"
        if self.ec == EC_BRK64:
            return f"brk #{imm16:#x} {at}: a breakpoint exception {el1}"
        if self.ec == EC_PC_ALIGN:
            return f"pc {self.pc:#x} is not 4-byte aligned: a PC alignment fault {el1}"
        if self.ec == EC_DABT_CUR:
            return (
                f"unaligned access to {self.far:#x} by {self.insn:#010x} {at}: with the MMU off"
                f" memory is Device, so this is an alignment fault {el1}"
            )
        return f"unsupported instruction {self.insn:#010x} {at}"


def run(state: CpuState, mem: GuestMemory, budget: int = 100_000) -> Trap:
    """Execute from state.pc until an exception to EL2, or until `budget` instructions retire."""
    for _ in range(budget):
        trap = _step(state, mem)
        if trap is not None:
            return trap
    return Trap(TrapKind.BUDGET, 0, 0, 0, state.pc, 0)


# --- one instruction ----------------------------------------------------------------------------

_Handler = Callable[[CpuState, GuestMemory, int], Trap | None]


def _step(s: CpuState, mem: GuestMemory) -> Trap | None:
    pc = s.pc
    if pc & 3:
        esr = (EC_PC_ALIGN << EC_SHIFT) | ESR_IL
        return Trap(TrapKind.UNDEFINED, esr, pc, 0, pc, 0)
    insn = mem.load(pc, 4)
    if insn is None:
        esr = (EC_IABT_LOW << EC_SHIFT) | ESR_IL | FSC_TRANSLATION_L3
        return Trap(TrapKind.INSN_ABORT, esr, pc, _hpfar(pc), pc, 0)
    for mask, match, handler in _DECODE:
        if insn & mask == match:
            return handler(s, mem, insn)
    return _undefined(s, insn)


def _undefined(s: CpuState, insn: int) -> Trap:
    return Trap(TrapKind.UNDEFINED, (EC_UNKNOWN << EC_SHIFT) | ESR_IL, 0, 0, s.pc, insn)


def _advance(s: CpuState) -> None:
    s.pc = (s.pc + 4) & _MASK64


def _hpfar(ipa: int) -> int:
    return ((ipa >> 12) & ((1 << 40) - 1)) << 4


# --- register file and arithmetic helpers (Arm ARM J1 shared pseudocode) --------------------------


def _read(s: CpuState, n: int, *, sp: bool = False) -> int:
    """X[n], or SP when the encoding says register 31 is the stack pointer; else 31 reads 0."""
    if n == 31:
        return s.sp if sp else 0
    return s.x[n]


def _write(s: CpuState, n: int, value: int, bits: int, *, sp: bool = False) -> None:
    """Write a `bits`-wide result, zero-extended; register 31 is SP or discards the write."""
    value &= (1 << bits) - 1
    if n != 31:
        s.x[n] = value
    elif sp:
        s.sp = value


def _sext(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _set_nzcv(s: CpuState, nzcv: int) -> None:
    s.pstate = (s.pstate & ~(0xF << 28)) | (nzcv << 28)


def _add_with_carry(x: int, y: int, carry: int, bits: int) -> tuple[int, int]:
    """AddWithCarry(): the result and its NZCV."""
    unsigned = x + y + carry
    result = unsigned & ((1 << bits) - 1)
    signed = _sext(x, bits) + _sext(y, bits) + carry
    n = result >> (bits - 1)
    z = int(result == 0)
    c = int(unsigned != result)
    v = int(_sext(result, bits) != signed)
    return result, (n << 3) | (z << 2) | (c << 1) | v


def _shift(value: int, kind: int, amount: int, bits: int) -> int:
    """ShiftReg(): LSL, LSR, ASR, ROR of a `bits`-wide value."""
    mask = (1 << bits) - 1
    value &= mask
    if kind == 0:
        return (value << amount) & mask
    if kind == 1:
        return value >> amount
    if kind == 2:
        return (_sext(value, bits) >> amount) & mask
    return ((value >> amount) | (value << (bits - amount))) & mask


def _condition_holds(cond: int, pstate: int) -> bool:
    """ConditionHolds(): cond[3:1] picks the test, cond[0] inverts it (except for 0b1111)."""
    n, z, c, v = ((pstate >> bit) & 1 for bit in (31, 30, 29, 28))
    tests = (z, c, n, v, c and not z, n == v, n == v and not z, True)
    result = bool(tests[cond >> 1])
    return not result if cond & 1 and cond != 0b1111 else result


# --- Data Processing -- Immediate ---------------------------------------------------------------


def _move_wide(s: CpuState, _mem: GuestMemory, insn: int) -> Trap | None:
    sf, opc, hw = insn >> 31, (insn >> 29) & 3, (insn >> 21) & 3
    if opc == 0b01 or (not sf and hw >= 2):
        return _undefined(s, insn)
    bits, pos, d = (64 if sf else 32), hw * 16, insn & 31
    imm = ((insn >> 5) & 0xFFFF) << pos
    if opc == 0b11:  # MOVK keeps the rest of the register
        result = (_read(s, d) & ~(0xFFFF << pos)) | imm
    else:
        result = ~imm if opc == 0b00 else imm  # MOVN / MOVZ
    _write(s, d, result, bits)
    _advance(s)
    return None


def _add_sub_imm(s: CpuState, _mem: GuestMemory, insn: int) -> Trap | None:
    sf, op, setflags = insn >> 31, (insn >> 30) & 1, (insn >> 29) & 1
    bits = 64 if sf else 32
    imm = ((insn >> 10) & 0xFFF) << (12 if insn >> 22 & 1 else 0)
    n, d = (insn >> 5) & 31, insn & 31
    # Rn is SP-or-register; Rd is SP-or-register for ADD/SUB and ZR-or-register for ADDS/SUBS.
    _arith(s, op, setflags, _read(s, n, sp=True), imm, bits, d, sp_dest=not setflags)
    return None


def _arith(
    s: CpuState, op: int, setflags: int, x: int, y: int, bits: int, d: int, *, sp_dest: bool
) -> None:
    mask = (1 << bits) - 1
    if op:  # SUB is x + NOT(y) + 1
        result, nzcv = _add_with_carry(x & mask, ~y & mask, 1, bits)
    else:
        result, nzcv = _add_with_carry(x & mask, y & mask, 0, bits)
    if setflags:
        _set_nzcv(s, nzcv)
    _write(s, d, result, bits, sp=sp_dest)
    _advance(s)


def _adr(s: CpuState, _mem: GuestMemory, insn: int) -> Trap | None:
    imm = _sext((((insn >> 5) & 0x7FFFF) << 2) | ((insn >> 29) & 3), 21)
    _write(s, insn & 31, s.pc + imm, 64)
    _advance(s)
    return None


# --- Data Processing -- Register ----------------------------------------------------------------


def _logical_reg(s: CpuState, _mem: GuestMemory, insn: int) -> Trap | None:
    sf, opc, shift, invert = insn >> 31, (insn >> 29) & 3, (insn >> 22) & 3, (insn >> 21) & 1
    amount = (insn >> 10) & 63
    if not sf and amount >= 32:
        return _undefined(s, insn)
    bits = 64 if sf else 32
    mask = (1 << bits) - 1
    m, n, d = (insn >> 16) & 31, (insn >> 5) & 31, insn & 31
    y = _shift(_read(s, m), shift, amount, bits)
    if invert:  # BIC, ORN, EON, BICS
        y = ~y & mask
    x = _read(s, n) & mask
    result = (x & y, x | y, x ^ y, x & y)[opc]
    if opc == 0b11:  # ANDS/BICS: N and Z from the result, C and V cleared
        _set_nzcv(s, ((result >> (bits - 1)) << 3) | (int(result == 0) << 2))
    _write(s, d, result, bits)
    _advance(s)
    return None


def _add_sub_reg(s: CpuState, _mem: GuestMemory, insn: int) -> Trap | None:
    sf, op, setflags, shift = insn >> 31, (insn >> 30) & 1, (insn >> 29) & 1, (insn >> 22) & 3
    amount = (insn >> 10) & 63
    if shift == 0b11 or (not sf and amount >= 32):
        return _undefined(s, insn)
    bits = 64 if sf else 32
    m, n, d = (insn >> 16) & 31, (insn >> 5) & 31, insn & 31
    y = _shift(_read(s, m), shift, amount, bits)
    _arith(s, op, setflags, _read(s, n), y, bits, d, sp_dest=False)  # 31 is ZR throughout
    return None


# --- Branches, Exception Generating and System instructions -------------------------------------


def _branch_imm(s: CpuState, _mem: GuestMemory, insn: int) -> Trap | None:
    if insn >> 31:  # BL
        s.x[30] = (s.pc + 4) & _MASK64
    s.pc = (s.pc + (_sext(insn & 0x3FFFFFF, 26) << 2)) & _MASK64
    return None


def _branch_cond(s: CpuState, _mem: GuestMemory, insn: int) -> Trap | None:
    taken = _condition_holds(insn & 0xF, s.pstate)
    offset = _sext((insn >> 5) & 0x7FFFF, 19) << 2 if taken else 4
    s.pc = (s.pc + offset) & _MASK64
    return None


def _compare_branch(s: CpuState, _mem: GuestMemory, insn: int) -> Trap | None:
    bits = 64 if insn >> 31 else 32
    is_zero = _read(s, insn & 31) & ((1 << bits) - 1) == 0
    taken = is_zero != bool((insn >> 24) & 1)  # CBZ on zero, CBNZ on non-zero
    offset = _sext((insn >> 5) & 0x7FFFF, 19) << 2 if taken else 4
    s.pc = (s.pc + offset) & _MASK64
    return None


def _branch_reg(s: CpuState, _mem: GuestMemory, insn: int) -> Trap | None:
    target = _read(s, (insn >> 5) & 31)  # read before BLR writes x30 (BLR x30 is allowed)
    if (insn >> 21) & 0xF == 0b0001:  # BLR
        s.x[30] = (s.pc + 4) & _MASK64
    s.pc = target
    return None


def _smc(s: CpuState, _mem: GuestMemory, insn: int) -> Trap | None:
    # HCR_EL2.TSC traps SMC at EL1 to EL2. Unlike an HVC, a trapped SMC is a trap, not an SMC
    # exception: its preferred return address is the SMC itself, so pc stays and the handler
    # skips it (KVM's handle_smc in arch/arm64/kvm/handle_exit.c calls kvm_incr_pc for that
    # reason; TF-RMM advances the REC's pc when it handles an RSI or PSCI call).
    esr = (EC_SMC64 << EC_SHIFT) | ESR_IL | ((insn >> 5) & 0xFFFF)
    return Trap(TrapKind.SMC, esr, 0, 0, s.pc, insn)


def _hvc(s: CpuState, _mem: GuestMemory, insn: int) -> Trap | None:
    # An HVC is an exception *generated* by the instruction: it returns to the next one.
    esr = (EC_HVC64 << EC_SHIFT) | ESR_IL | ((insn >> 5) & 0xFFFF)
    pc = s.pc
    _advance(s)
    return Trap(TrapKind.HVC, esr, 0, 0, pc, insn)


def _brk(s: CpuState, _mem: GuestMemory, insn: int) -> Trap | None:
    # A breakpoint instruction exception goes to EL1 unless the host debugs the guest
    # (MDCR_EL2.TDE), which neither demo host does.
    esr = (EC_BRK64 << EC_SHIFT) | ESR_IL | ((insn >> 5) & 0xFFFF)
    return Trap(TrapKind.UNDEFINED, esr, 0, 0, s.pc, insn)


def _hint(s: CpuState, _mem: GuestMemory, _insn: int) -> Trap | None:
    # NOP, WFI, WFE, YIELD, SEV...: the hint space executes as NOP where a hint is not
    # implemented (Arm ARM C6.2 "HINT"); this CPU implements none, WFI included (see above).
    _advance(s)
    return None


# --- Loads and Stores: load/store register (unsigned immediate) ----------------------------------


def _load_store(s: CpuState, mem: GuestMemory, insn: int) -> Trap | None:
    size, opc = insn >> 30, (insn >> 22) & 3
    nbytes = 1 << size
    # opc: 00 store, 01 load zero-extending, 10 load sign-extending to 64 bits, 11 to 32 bits.
    if (opc == 0b10 and size == 0b11) or (opc == 0b11 and size >= 0b10):
        return _undefined(s, insn)  # PRFM and unallocated encodings
    is_store, signed = opc == 0b00, opc >= 0b10
    regbits = 64 if (opc == 0b10 or (opc < 0b10 and size == 0b11)) else 32
    n, t = (insn >> 5) & 31, insn & 31
    address = (_read(s, n, sp=True) + (((insn >> 10) & 0xFFF) << size)) & _MASK64
    syndrome = (size << ESR_SAS_SHIFT) | (t << ESR_SRT_SHIFT) | (ESR_SF if regbits == 64 else 0)
    syndrome |= (ESR_SSE if signed else 0) | (ESR_WNR if is_store else 0)
    if address % nbytes:
        # With the MMU off every data access is to Device memory, and an unaligned access to
        # Device memory is an alignment fault (a stage-1 fault, taken to EL1, before stage 2).
        esr = (EC_DABT_CUR << EC_SHIFT) | ESR_IL | (syndrome & ESR_WNR) | FSC_ALIGNMENT
        return Trap(TrapKind.UNDEFINED, esr, address, 0, s.pc, insn)
    if is_store:
        if mem.store(address, nbytes, _read(s, t) & ((1 << (8 * nbytes)) - 1)):
            _advance(s)
            return None
    else:
        value = mem.load(address, nbytes)
        if value is not None:
            _write(s, t, _sext(value, 8 * nbytes) if signed else value, regbits)
            _advance(s)
            return None
    # A stage-2 fault: ISV = 1 as this is a single-register access without writeback. pc stays
    # on the instruction and nothing was written; the hypervisor emulates it and moves on.
    esr = (EC_DABT_LOW << EC_SHIFT) | ESR_IL | ESR_ISV | syndrome | FSC_TRANSLATION_L3
    return Trap(TrapKind.DATA_ABORT, esr, address, _hpfar(address), s.pc, insn)


# (mask, value, handler): the encoding groups of Arm ARM C4.1, first match wins.
_DECODE: tuple[tuple[int, int, _Handler], ...] = (
    (0x1F800000, 0x12800000, _move_wide),  # MOVN, MOVZ, MOVK
    (0x1F800000, 0x11000000, _add_sub_imm),  # ADD, ADDS, SUB, SUBS (immediate)
    (0x9F000000, 0x10000000, _adr),  # ADR
    (0x1F000000, 0x0A000000, _logical_reg),  # AND, BIC, ORR, ORN, EOR, EON, ANDS, BICS
    (0x1F200000, 0x0B000000, _add_sub_reg),  # ADD, ADDS, SUB, SUBS (shifted register)
    (0x7C000000, 0x14000000, _branch_imm),  # B, BL
    (0xFF000010, 0x54000000, _branch_cond),  # B.cond
    (0x7E000000, 0x34000000, _compare_branch),  # CBZ, CBNZ
    (0xFFFFFC1F, 0xD61F0000, _branch_reg),  # BR
    (0xFFFFFC1F, 0xD63F0000, _branch_reg),  # BLR
    (0xFFFFFC1F, 0xD65F0000, _branch_reg),  # RET
    (0xFFE0001F, 0xD4000003, _smc),
    (0xFFE0001F, 0xD4000002, _hvc),
    (0xFFE0001F, 0xD4200000, _brk),
    (0xFFFFF01F, 0xD503201F, _hint),  # NOP, WFI, ...
    (0x3F000000, 0x39000000, _load_store),  # LDR/STR{B,H}, LDRS{B,H,W} (unsigned offset)
)
