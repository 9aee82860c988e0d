"""A small A64 encoder with labels, for the demo guests.

Each encoding function returns an `Insn`: the 32-bit word and its assembly text. The text is the
Arm ARM's *preferred disassembly* (the alias where one applies, e.g. MOVZ prints as `mov`), in the
spelling capstone uses, so a test can hold every word against an independent disassembler.
Encodings are from the Arm ARM (DDI 0487), chapter C4 "A64 Instruction Set Encoding"; aliases
and their conditions from chapter C6, under each instruction.

`Assembler` lays out instructions and data at addresses, resolves labels (forward references
too) and produces the image bytes plus a listing.

Only the forms the demos and the tests need are here. Anything out of range raises ValueError
rather than being silently truncated.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from backends.arch import MASK64 as _MASK64

# --- registers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reg:
    """A general-purpose register operand.

    Register number 31 is the zero register in some operand fields and the stack pointer in
    others, as each encoding says; `is_sp` records which one the caller meant, so the encoder can
    refuse an operand the field cannot express.
    """

    num: int
    is64: bool
    is_sp: bool = False

    @property
    def name(self) -> str:
        if self.num == 31:
            if self.is_sp:
                return "sp" if self.is64 else "wsp"
            return "xzr" if self.is64 else "wzr"
        return f"{'x' if self.is64 else 'w'}{self.num}"

    def __str__(self) -> str:
        return self.name


X: tuple[Reg, ...] = tuple(Reg(n, True) for n in range(31))
W: tuple[Reg, ...] = tuple(Reg(n, False) for n in range(31))
XZR = Reg(31, True)
WZR = Reg(31, False)
SP = Reg(31, True, is_sp=True)
WSP = Reg(31, False, is_sp=True)


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Insn:
    """One encoded instruction: its word and its assembly text."""

    word: int
    text: str

    def to_bytes(self) -> bytes:
        return struct.pack("<I", self.word)


@dataclass(frozen=True)
class ListingLine:
    """One line of a listing: an instruction or a data directive at `address`."""

    address: int
    size: int  # bytes this line occupies
    value: int  # the instruction word, or the data value (0 for .zero)
    text: str  # capstone-spelled assembly for instructions; a directive for data
    is_insn: bool
    note: str = ""  # what the line is for, when it is data


# --- operand checks and formatting --------------------------------------------------------------


def _imm(value: int) -> str:
    """An immediate as capstone prints it: decimal up to 9, hex beyond, sign in front."""
    if value < 0:
        return f"#-{-value}" if value >= -9 else f"#-0x{-value:x}"
    return f"#{value}" if value <= 9 else f"#0x{value:x}"


def _check_range(what: str, value: int, lo: int, hi: int) -> None:
    if not lo <= value <= hi:
        raise ValueError(f"{what} {value:#x} is out of range [{lo:#x}, {hi:#x}]")


def _gpr(reg: Reg, role: str, *, sp: bool = False, zr: bool = True) -> int:
    """Register number of `reg` for a field where 31 means SP (`sp`) or ZR (`zr`)."""
    if not isinstance(reg, Reg):
        raise ValueError(f"{role}: expected a register, got {reg!r}")
    if reg.num == 31:
        if reg.is_sp and not sp:
            raise ValueError(f"{role}: {reg} is not allowed here (here 31 is the zero register)")
        if not reg.is_sp and not zr:
            raise ValueError(f"{role}: {reg} is not allowed here (here 31 is the SP)")
    return reg.num


def _same_width(*regs: Reg) -> bool:
    if len({r.is64 for r in regs}) != 1:
        raise ValueError(f"registers {', '.join(map(str, regs))} mix 32- and 64-bit widths")
    return regs[0].is64


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


# --- Move wide (immediate): Arm ARM C4.1 "Data Processing -- Immediate"; C6.2 MOVZ/MOVN/MOVK ---


def _move_wide(opc: int, mnemonic: str, rd: Reg, imm16: int, shift: int) -> int:
    d = _gpr(rd, "rd")
    _check_range(f"{mnemonic} immediate", imm16, 0, 0xFFFF)
    allowed = (0, 16, 32, 48) if rd.is64 else (0, 16)
    if shift not in allowed:
        raise ValueError(f"{mnemonic} shift must be one of {allowed} for {rd}, got {shift}")
    word = (rd.is64 << 31) | (opc << 29) | (0b100101 << 23) | ((shift // 16) << 21)
    return word | (imm16 << 5) | d


def _wide_text(mnemonic: str, rd: Reg, imm16: int, shift: int) -> str:
    tail = f", lsl #{shift}" if shift else ""
    return f"{mnemonic} {rd}, {_imm(imm16)}{tail}"


def movz(rd: Reg, imm16: int, shift: int = 0) -> Insn:
    word = _move_wide(0b10, "movz", rd, imm16, shift)
    # Preferred disassembly is MOV (wide immediate) unless imm16 == 0 with a non-zero shift.
    if imm16 == 0 and shift != 0:
        return Insn(word, _wide_text("movz", rd, imm16, shift))
    bits = 64 if rd.is64 else 32
    return Insn(word, f"mov {rd}, {_imm(_signed(imm16 << shift, bits))}")


def movn(rd: Reg, imm16: int, shift: int = 0) -> Insn:
    word = _move_wide(0b00, "movn", rd, imm16, shift)
    # MOV (inverted wide immediate) is preferred unless imm16 == 0 with a shift, or (32-bit)
    # imm16 == 0xffff, whose value MOVZ could not tell apart.
    if (imm16 == 0 and shift != 0) or (not rd.is64 and imm16 == 0xFFFF):
        return Insn(word, _wide_text("movn", rd, imm16, shift))
    bits = 64 if rd.is64 else 32
    return Insn(word, f"mov {rd}, {_imm(_signed(~(imm16 << shift), bits))}")


def movk(rd: Reg, imm16: int, shift: int = 0) -> Insn:
    word = _move_wide(0b11, "movk", rd, imm16, shift)
    return Insn(word, _wide_text("movk", rd, imm16, shift))


def mov_imm(rd: Reg, value: int) -> tuple[Insn, ...]:
    """The shortest MOVZ/MOVK sequence that leaves `value` in `rd`.

    One MOVZ for the first non-zero halfword, one MOVK for each further non-zero halfword (a
    zero value is a single MOVZ #0). Negative values are taken as two's complement.
    """
    bits = 64 if rd.is64 else 32
    _check_range(f"constant for {rd}", value, -(1 << (bits - 1)), (1 << bits) - 1)
    value &= (1 << bits) - 1
    halves = [(shift, (value >> shift) & 0xFFFF) for shift in range(0, bits, 16)]
    nonzero = [(shift, half) for shift, half in halves if half]
    if not nonzero:
        return (movz(rd, 0),)
    (first_shift, first), *rest = nonzero
    return (movz(rd, first, first_shift), *(movk(rd, half, shift) for shift, half in rest))


# --- Logical and Add/subtract (shifted register): C4.1 "Data Processing -- Register";
# Add/subtract (immediate): C4.1 "Data Processing -- Immediate" ----------------------------------

_SHIFTS = {"lsl": 0, "lsr": 1, "asr": 2, "ror": 3}


def _shifted(rm: Reg, shift: str, amount: int, *, ror_ok: bool) -> tuple[int, str]:
    """The shift/imm6 fields and operand text for a shifted-register second operand."""
    if shift not in _SHIFTS or (shift == "ror" and not ror_ok):
        raise ValueError(f"shift {shift!r} is not available here")
    _check_range(f"{shift} amount for {rm}", amount, 0, 63 if rm.is64 else 31)
    text = f"{rm}, {shift} #{amount}" if amount or shift != "lsl" else f"{rm}"
    return (_SHIFTS[shift] << 22) | (amount << 10), text


_LOGICAL = {"and": 0b00, "orr": 0b01, "eor": 0b10, "ands": 0b11}


def _logical(op: str, rd: Reg, rn: Reg, rm: Reg, shift: str, amount: int) -> Insn:
    is64 = _same_width(rd, rn, rm)
    d, n, m = _gpr(rd, "rd"), _gpr(rn, "rn"), _gpr(rm, "rm")
    fields, operand = _shifted(rm, shift, amount, ror_ok=True)
    word = (is64 << 31) | (_LOGICAL[op] << 29) | (0b01010 << 24) | fields | (m << 16)
    word |= (n << 5) | d
    if op == "orr" and n == 31 and fields == 0:
        return Insn(word, f"mov {rd}, {rm}")  # MOV (register), C6.2
    if op == "ands" and d == 31:
        return Insn(word, f"tst {rn}, {operand}")  # TST (shifted register)
    return Insn(word, f"{op} {rd}, {rn}, {operand}")


def orr(rd: Reg, rn: Reg, rm: Reg, shift: str = "lsl", amount: int = 0) -> Insn:
    return _logical("orr", rd, rn, rm, shift, amount)


def and_(rd: Reg, rn: Reg, rm: Reg, shift: str = "lsl", amount: int = 0) -> Insn:
    return _logical("and", rd, rn, rm, shift, amount)


def eor(rd: Reg, rn: Reg, rm: Reg, shift: str = "lsl", amount: int = 0) -> Insn:
    return _logical("eor", rd, rn, rm, shift, amount)


def ands(rd: Reg, rn: Reg, rm: Reg, shift: str = "lsl", amount: int = 0) -> Insn:
    return _logical("ands", rd, rn, rm, shift, amount)


def tst(rn: Reg, rm: Reg, shift: str = "lsl", amount: int = 0) -> Insn:
    return _logical("ands", XZR if rn.is64 else WZR, rn, rm, shift, amount)


def mov(rd: Reg, rm: Reg) -> Insn:
    """MOV (register): ORR rd, zr, rm; or ADD rd, rm, #0 when either side is the SP."""
    if rd.is_sp or rm.is_sp:
        return add(rd, rm, 0)
    return orr(rd, XZR if rd.is64 else WZR, rm)


def _add_sub(
    op: int, s: int, mnemonic: str, rd: Reg, rn: Reg, operand: int | Reg, shift: str, amount: int
) -> Insn:
    if isinstance(operand, Reg):
        return _add_sub_reg(op, s, mnemonic, rd, rn, operand, shift, amount)
    is64 = _same_width(rd, rn)
    # ADD/SUB (immediate): Rn is SP-or-register; Rd is SP for ADD/SUB, ZR for ADDS/SUBS.
    d = _gpr(rd, "rd", sp=not s, zr=bool(s))
    n = _gpr(rn, "rn", sp=True, zr=False)
    _check_range(f"{mnemonic} immediate", operand, 0, 0xFFF)
    if shift != "lsl" or amount not in (0, 12):
        raise ValueError(f"{mnemonic} immediate takes lsl #0 or #12, not {shift} #{amount}")
    word = (is64 << 31) | (op << 30) | (s << 29) | (0b100010 << 23) | ((amount == 12) << 22)
    word |= (operand << 10) | (n << 5) | d
    tail = f", lsl #{amount}" if amount else ""
    if s and d == 31:
        return Insn(word, f"{'cmn' if op == 0 else 'cmp'} {rn}, {_imm(operand)}{tail}")
    if not s and op == 0 and operand == 0 and amount == 0 and (d == 31 or n == 31):
        return Insn(word, f"mov {rd}, {rn}")  # MOV (to/from SP), C6.2
    return Insn(word, f"{mnemonic} {rd}, {rn}, {_imm(operand)}{tail}")


def _add_sub_reg(
    op: int, s: int, mnemonic: str, rd: Reg, rn: Reg, rm: Reg, shift: str, amount: int
) -> Insn:
    is64 = _same_width(rd, rn, rm)
    # ADD/SUB (shifted register): register 31 is the zero register in every field.
    d, n, m = _gpr(rd, "rd"), _gpr(rn, "rn"), _gpr(rm, "rm")
    fields, operand = _shifted(rm, shift, amount, ror_ok=False)
    word = (is64 << 31) | (op << 30) | (s << 29) | (0b01011 << 24) | fields | (m << 16)
    word |= (n << 5) | d
    if s and d == 31:  # CMP/CMN (shifted register) take precedence over NEGS
        return Insn(word, f"{'cmn' if op == 0 else 'cmp'} {rn}, {operand}")
    if op == 1 and n == 31:
        return Insn(word, f"{'negs' if s else 'neg'} {rd}, {operand}")
    return Insn(word, f"{mnemonic} {rd}, {rn}, {operand}")


def add(rd: Reg, rn: Reg, operand: int | Reg, shift: str = "lsl", amount: int = 0) -> Insn:
    """ADD (immediate, `amount` 0 or 12) or ADD (shifted register) when `operand` is a Reg."""
    return _add_sub(0, 0, "add", rd, rn, operand, shift, amount)


def adds(rd: Reg, rn: Reg, operand: int | Reg, shift: str = "lsl", amount: int = 0) -> Insn:
    return _add_sub(0, 1, "adds", rd, rn, operand, shift, amount)


def sub(rd: Reg, rn: Reg, operand: int | Reg, shift: str = "lsl", amount: int = 0) -> Insn:
    return _add_sub(1, 0, "sub", rd, rn, operand, shift, amount)


def subs(rd: Reg, rn: Reg, operand: int | Reg, shift: str = "lsl", amount: int = 0) -> Insn:
    return _add_sub(1, 1, "subs", rd, rn, operand, shift, amount)


def cmp(rn: Reg, operand: int | Reg, shift: str = "lsl", amount: int = 0) -> Insn:
    return subs(XZR if rn.is64 else WZR, rn, operand, shift, amount)


def cmn(rn: Reg, operand: int | Reg, shift: str = "lsl", amount: int = 0) -> Insn:
    return adds(XZR if rn.is64 else WZR, rn, operand, shift, amount)


# --- Load/store register (unsigned immediate): C4.1 "Loads and Stores" --------------------------

# mnemonic -> (size field, opc field, access bytes, whether Rt must be an X register)
_LDST: dict[str, tuple[int, int, int, bool]] = {
    "strb": (0b00, 0b00, 1, False),
    "ldrb": (0b00, 0b01, 1, False),
    "strh": (0b01, 0b00, 2, False),
    "ldrh": (0b01, 0b01, 2, False),
    "ldrsw": (0b10, 0b10, 4, True),
}


def _ldst(mnemonic: str, rt: Reg, rn: Reg, offset: int) -> Insn:
    t = _gpr(rt, "rt")
    n = _gpr(rn, "rn", sp=True, zr=False)
    if not rn.is64:
        raise ValueError(f"{mnemonic} base must be a 64-bit register or sp, got {rn}")
    if mnemonic in ("ldr", "str"):
        size, opc, nbytes = (0b11 if rt.is64 else 0b10), int(mnemonic == "ldr"), 8 if rt.is64 else 4
    elif mnemonic in ("ldrsb", "ldrsh"):
        # opc 10 sign-extends into an X register, opc 11 into a W register.
        size, nbytes = (0b00, 1) if mnemonic == "ldrsb" else (0b01, 2)
        opc = 0b10 if rt.is64 else 0b11
    else:
        size, opc, nbytes, want64 = _LDST[mnemonic]
        if rt.is64 != want64:
            raise ValueError(f"{mnemonic} needs a {'64' if want64 else '32'}-bit Rt, got {rt}")
    if offset % nbytes:
        raise ValueError(f"{mnemonic} offset {offset:#x} is not a multiple of {nbytes}")
    _check_range(f"{mnemonic} offset", offset, 0, 0xFFF * nbytes)
    word = (size << 30) | (0b111001 << 24) | (opc << 22) | ((offset // nbytes) << 10)
    word |= (n << 5) | t
    address = f"[{rn}, {_imm(offset)}]" if offset else f"[{rn}]"
    return Insn(word, f"{mnemonic} {rt}, {address}")


def ldr(rt: Reg, rn: Reg, offset: int = 0) -> Insn:
    """LDR Xt/Wt, [Xn|SP{, #offset}] (offset a multiple of the access size)."""
    return _ldst("ldr", rt, rn, offset)


def str_(rt: Reg, rn: Reg, offset: int = 0) -> Insn:
    """STR Xt/Wt, [Xn|SP{, #offset}]. Named with an underscore so it does not shadow `str`."""
    return _ldst("str", rt, rn, offset)


def ldrb(rt: Reg, rn: Reg, offset: int = 0) -> Insn:
    return _ldst("ldrb", rt, rn, offset)


def ldrh(rt: Reg, rn: Reg, offset: int = 0) -> Insn:
    return _ldst("ldrh", rt, rn, offset)


def strb(rt: Reg, rn: Reg, offset: int = 0) -> Insn:
    return _ldst("strb", rt, rn, offset)


def strh(rt: Reg, rn: Reg, offset: int = 0) -> Insn:
    return _ldst("strh", rt, rn, offset)


def ldrsb(rt: Reg, rn: Reg, offset: int = 0) -> Insn:
    return _ldst("ldrsb", rt, rn, offset)


def ldrsh(rt: Reg, rn: Reg, offset: int = 0) -> Insn:
    return _ldst("ldrsh", rt, rn, offset)


def ldrsw(rt: Reg, rn: Reg, offset: int = 0) -> Insn:
    return _ldst("ldrsw", rt, rn, offset)


# --- PC-relative: ADR (C4.1 "Data Processing -- Immediate", PC-rel. addressing) and the
# immediate branches (C4.1 "Branches, Exception Generating and System instructions") ------------

CONDITIONS = ("eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc",
              "hi", "ls", "ge", "lt", "gt", "le", "al", "nv")  # fmt: skip
_COND_ALIASES = {"cs": "hs", "cc": "lo"}


def _branch_offset(what: str, pc: int, target: int, bits: int) -> int:
    offset = _signed(target - pc, 64)
    if offset % 4:
        raise ValueError(f"{what} target {target:#x} is not 4-byte aligned relative to {pc:#x}")
    limit = 1 << (bits + 1)  # imm is in words, signed
    if not -limit <= offset < limit:
        raise ValueError(f"{what} target {target:#x} is out of reach from {pc:#x} (±{limit:#x})")
    return (offset >> 2) & ((1 << bits) - 1)


def _target(target: int) -> str:
    return _imm(target & _MASK64)


def b(target: int, pc: int) -> Insn:
    return Insn((0b000101 << 26) | _branch_offset("b", pc, target, 26), f"b {_target(target)}")


def bl(target: int, pc: int) -> Insn:
    return Insn((0b100101 << 26) | _branch_offset("bl", pc, target, 26), f"bl {_target(target)}")


def b_cond(cond: str, target: int, pc: int) -> Insn:
    name = _COND_ALIASES.get(cond.lower(), cond.lower())
    if name not in CONDITIONS:
        raise ValueError(f"unknown condition {cond!r}")
    imm19 = _branch_offset(f"b.{name}", pc, target, 19)
    word = (0b01010100 << 24) | (imm19 << 5) | CONDITIONS.index(name)
    return Insn(word, f"b.{name} {_target(target)}")


def _cb(op: int, rt: Reg, target: int, pc: int) -> Insn:
    mnemonic = "cbnz" if op else "cbz"
    t = _gpr(rt, "rt")
    imm19 = _branch_offset(mnemonic, pc, target, 19)
    word = (rt.is64 << 31) | (0b011010 << 25) | (op << 24) | (imm19 << 5) | t
    return Insn(word, f"{mnemonic} {rt}, {_target(target)}")


def cbz(rt: Reg, target: int, pc: int) -> Insn:
    return _cb(0, rt, target, pc)


def cbnz(rt: Reg, target: int, pc: int) -> Insn:
    return _cb(1, rt, target, pc)


def adr(rd: Reg, target: int, pc: int) -> Insn:
    if not rd.is64:
        raise ValueError(f"adr needs a 64-bit register, got {rd}")
    d = _gpr(rd, "rd")
    offset = _signed(target - pc, 64)
    _check_range(f"adr offset to {target:#x} from {pc:#x}", offset, -(1 << 20), (1 << 20) - 1)
    imm = offset & ((1 << 21) - 1)
    word = ((imm & 3) << 29) | (0b10000 << 24) | ((imm >> 2) << 5) | d
    return Insn(word, f"adr {rd}, {_target(target)}")


# --- branch to register, system, exception generation -------------------------------------------


def _branch_reg(opc: int, mnemonic: str, rn: Reg) -> Insn:
    if not rn.is64:
        raise ValueError(f"{mnemonic} needs a 64-bit register, got {rn}")
    n = _gpr(rn, "rn")
    return Insn(0xD61F0000 | (opc << 21) | (n << 5), f"{mnemonic} {rn}")


def br(rn: Reg) -> Insn:
    return _branch_reg(0b0000, "br", rn)


def blr(rn: Reg) -> Insn:
    return _branch_reg(0b0001, "blr", rn)


def ret(rn: Reg = X[30]) -> Insn:
    insn = _branch_reg(0b0010, "ret", rn)
    return Insn(insn.word, "ret") if rn.num == 30 else insn


def nop() -> Insn:
    return Insn(0xD503201F, "nop")


def wfi() -> Insn:
    return Insn(0xD503207F, "wfi")


def _exception(base: int, mnemonic: str, imm16: int) -> Insn:
    _check_range(f"{mnemonic} immediate", imm16, 0, 0xFFFF)
    return Insn(base | (imm16 << 5), f"{mnemonic} {_imm(imm16)}")


def smc(imm16: int = 0) -> Insn:
    return _exception(0xD4000003, "smc", imm16)


def hvc(imm16: int = 0) -> Insn:
    return _exception(0xD4000002, "hvc", imm16)


def brk(imm16: int = 0) -> Insn:
    return _exception(0xD4200000, "brk", imm16)


# --- the assembler ------------------------------------------------------------------------------

Target = int | str  # an absolute address or a label name
_Resolver = Callable[[Mapping[str, int]], ListingLine]


@dataclass(frozen=True)
class Assembled:
    """An assembled image: bytes to load at `base`, its listing, and the label addresses."""

    base: int
    image: bytes
    lines: tuple[ListingLine, ...]
    labels: Mapping[str, int]


class Assembler:
    """Lays out instructions and data from `base`; labels may be used before they are bound."""

    def __init__(self, base: int) -> None:
        if base % 4:
            raise ValueError(f"base {base:#x} is not 4-byte aligned")
        self.base = base
        self.here = base
        self._items: list[_Resolver] = []
        self._labels: dict[str, int] = {}

    def label(self, name: str) -> int:
        """Bind `name` to the current address and return that address."""
        if name in self._labels:
            raise ValueError(f"label {name!r} is already bound to {self._labels[name]:#x}")
        self._labels[name] = self.here
        return self.here

    def _add(self, size: int, resolve: _Resolver) -> None:
        self._items.append(resolve)
        self.here += size

    def emit(self, *insns: Insn) -> None:
        for insn in insns:
            if self.here % 4:
                raise ValueError(f"instruction at unaligned address {self.here:#x}")
            line = ListingLine(self.here, 4, insn.word, insn.text, True)
            self._add(4, lambda _labels, line=line: line)

    def _emit_pc_relative(self, target: Target, encode: Callable[[int, int], Insn]) -> None:
        pc = self.here
        if pc % 4:
            raise ValueError(f"instruction at unaligned address {pc:#x}")

        def resolve(labels: Mapping[str, int]) -> ListingLine:
            if isinstance(target, str):
                if target not in labels:
                    raise ValueError(f"undefined label {target!r} (used at {pc:#x})")
                address = labels[target]
            else:
                address = target
            insn = encode(address, pc)
            return ListingLine(pc, 4, insn.word, insn.text, True)

        self._add(4, resolve)

    def b(self, target: Target) -> None:
        self._emit_pc_relative(target, b)

    def bl(self, target: Target) -> None:
        self._emit_pc_relative(target, bl)

    def b_cond(self, cond: str, target: Target) -> None:
        self._emit_pc_relative(target, lambda t, pc: b_cond(cond, t, pc))

    def cbz(self, rt: Reg, target: Target) -> None:
        self._emit_pc_relative(target, lambda t, pc: cbz(rt, t, pc))

    def cbnz(self, rt: Reg, target: Target) -> None:
        self._emit_pc_relative(target, lambda t, pc: cbnz(rt, t, pc))

    def adr(self, rd: Reg, target: Target) -> None:
        self._emit_pc_relative(target, lambda t, pc: adr(rd, t, pc))

    def _data(self, size: int, directive: str, value: int, note: str) -> None:
        _check_range(directive, value, 0, (1 << (8 * size)) - 1)
        line = ListingLine(self.here, size, value, f"{directive} {value:#x}", False, note)
        self._add(size, lambda _labels: line)

    def quad(self, value: int, note: str = "") -> None:
        """A 64-bit little-endian data word (`.quad`)."""
        self._data(8, ".quad", value, note)

    def word(self, value: int, note: str = "") -> None:
        """A 32-bit little-endian data word (`.word`)."""
        self._data(4, ".word", value, note)

    def zero(self, size: int, note: str = "") -> None:
        """`size` zero bytes (`.zero`)."""
        if size < 0:
            raise ValueError(f".zero size {size} is negative")
        if size:
            line = ListingLine(self.here, size, 0, f".zero {size:#x}", False, note)
            self._add(size, lambda _labels: line)

    def align(self, alignment: int, note: str = "") -> None:
        """Pad with zeros to a multiple of `alignment` (a power of two)."""
        if alignment <= 0 or alignment & (alignment - 1):
            raise ValueError(f"alignment {alignment} is not a power of two")
        self.zero(-self.here % alignment, note or f"padding to a {alignment:#x} boundary")

    def assemble(self) -> Assembled:
        lines = tuple(resolve(self._labels) for resolve in self._items)
        image = bytearray()
        for line in lines:
            image += line.value.to_bytes(line.size, "little")
        return Assembled(self.base, bytes(image), lines, dict(self._labels))
