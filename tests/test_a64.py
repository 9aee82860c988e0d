"""The encoder and the demo programs, held against capstone's AArch64 disassembler.

capstone is the independent oracle: every word the encoder produces must disassemble to the
text the encoder claims, at the address it claims. Expected strings are never written here.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

import capstone
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends import a64
from backends.a64 import SP, WSP, WZR, XZR, Assembler, Insn, W, X
from backends.guests import (
    GRANULE_SIZE,
    HOSTCALL_ARG1_INITIAL,
    HOSTCALL_FID,
    HOSTCALL_IPA,
    HOSTCALL_SIZE,
    NORMAL_DEMO,
    NORMAL_RAM_BASE,
    NORMAL_RAM_SIZE,
    NORMAL_UART_IPA,
    REALM_DEMO,
    REALM_INIT_RIPAS_SIZE,
    REALM_IPA_BITS,
    REALM_RAM_BASE,
    REALM_RAM_SIZE,
    REALM_UART_IPA,
    RIPAS_CHANGE_BASE,
    RIPAS_CHANGE_TOP,
    Program,
    Step,
)

_CS = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
_CS_DETAIL = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
_CS_DETAIL.detail = True

PC = 0x8000_1000  # where PC-relative cases are placed


def disasm(word: int, pc: int = PC) -> str:
    """capstone's text for one word; fails if capstone does not decode exactly one instruction."""
    decoded = list(_CS.disasm(struct.pack("<I", word), pc))
    assert len(decoded) == 1, f"capstone does not decode {word:#010x}"
    return f"{decoded[0].mnemonic} {decoded[0].op_str}".strip()


# --- every encoding function, against capstone ---------------------------------------------------

Case = Callable[[], Insn]
_CASES: list[tuple[str, Case]] = []


def case(label: str, make: Case) -> None:
    _CASES.append((label, make))


for reg in (X[0], X[20], X[30], XZR, W[0], W[7], WZR):
    shifts = (0, 16, 32, 48) if reg.is64 else (0, 16)
    for imm in (0, 1, 9, 10, 0x8000, 0xFFFF):
        for sh in shifts:
            case(f"movz {reg} {imm:#x} {sh}", lambda r=reg, i=imm, s=sh: a64.movz(r, i, s))
            case(f"movn {reg} {imm:#x} {sh}", lambda r=reg, i=imm, s=sh: a64.movn(r, i, s))
            case(f"movk {reg} {imm:#x} {sh}", lambda r=reg, i=imm, s=sh: a64.movk(r, i, s))

for name in ("orr", "and_", "eor", "ands"):
    fn = getattr(a64, name)
    for rd, rn, rm in ((X[0], X[1], X[2]), (W[3], W[4], W[5]), (X[0], XZR, X[2]), (XZR, X[1], X[2]),
                       (W[0], WZR, W[2]), (X[30], X[29], XZR)):  # fmt: skip
        for shift, amount in (("lsl", 0), ("lsl", 1), ("lsr", 31), ("asr", 7), ("ror", 13)):
            case(f"{name} {rd} {rn} {rm} {shift} {amount}",
                 lambda f=fn, d=rd, n=rn, m=rm, s=shift, a=amount: f(d, n, m, s, a))  # fmt: skip
    case(f"{name} x lsl 63", lambda f=fn: f(X[0], X[1], X[2], "lsl", 63))
case("tst", lambda: a64.tst(X[1], X[2], "asr", 3))
case("tst w", lambda: a64.tst(W[1], W[2]))
for rd, rm in ((X[0], X[1]), (W[2], W[3]), (X[0], XZR), (SP, X[1]), (X[1], SP), (WSP, W[1]),
               (W[1], WSP), (SP, SP)):  # fmt: skip
    case(f"mov {rd} {rm}", lambda d=rd, m=rm: a64.mov(d, m))

for name in ("add", "sub", "adds", "subs"):
    fn = getattr(a64, name)
    flags = name.endswith("s")
    dests = (X[0], XZR, W[0]) if flags else (X[0], SP, W[0], WSP)
    for rd in dests:
        for rn in (X[1], SP) if rd.is64 else (W[1], WSP):
            for imm, amount in ((0, 0), (1, 0), (9, 0), (0xFFF, 0), (0, 12), (5, 12)):
                case(f"{name} {rd} {rn} #{imm} lsl {amount}",
                     lambda f=fn, d=rd, n=rn, i=imm, a=amount: f(d, n, i, amount=a))  # fmt: skip
    regs = [(X[0], X[1], X[2]), (W[0], W[1], W[2]), (X[0], XZR, X[2]), (XZR, X[1], X[2]),
            (XZR, XZR, X[2]), (W[0], WZR, W[2])]  # fmt: skip
    for rd, rn, rm in regs:
        for shift, amount in (("lsl", 0), ("lsl", 12), ("lsr", 1), ("asr", 31)):
            case(f"{name} {rd} {rn} {rm} {shift} {amount}",
                 lambda f=fn, d=rd, n=rn, m=rm, s=shift, a=amount: f(d, n, m, s, a))  # fmt: skip
for rn in (X[3], SP, W[3], WSP):
    case(f"cmp {rn} imm", lambda n=rn: a64.cmp(n, 0x42))
    case(f"cmn {rn} imm", lambda n=rn: a64.cmn(n, 3, amount=12))
case("cmp reg", lambda: a64.cmp(X[1], X[2], "lsr", 4))
case("cmn reg", lambda: a64.cmn(W[1], W[2]))

_LDST = {"ldr": 0, "str_": 0, "ldrb": 1, "strb": 1, "ldrh": 2, "strh": 2, "ldrsb": 1,
         "ldrsh": 2, "ldrsw": 8}  # fmt: skip
for name, size in _LDST.items():
    fn = getattr(a64, name)
    if size == 0:
        targets = [(X[0], 8), (W[0], 4), (XZR, 8), (WZR, 4)]
    elif name in ("ldrsb", "ldrsh"):
        targets = [(X[0], size), (W[0], size), (XZR, size)]
    elif name == "ldrsw":
        targets = [(X[0], 4), (X[30], 4)]
    else:
        targets = [(W[0], size), (WZR, size)]
    for rt, nbytes in targets:
        for rn in (X[1], X[20], SP):
            for offset in (0, nbytes, 3 * nbytes, 0xFFF * nbytes):
                case(f"{name} {rt} [{rn}, {offset:#x}]",
                     lambda f=fn, t=rt, n=rn, o=offset: f(t, n, o))  # fmt: skip

for target in (PC, PC + 4, PC - 4, PC + 0x7FF_FFFC, PC - 0x800_0000):
    case(f"b {target:#x}", lambda t=target: a64.b(t, PC))
    case(f"bl {target:#x}", lambda t=target: a64.bl(t, PC))
for target in (PC, PC + 8, PC - 8, PC + 0xF_FFFC, PC - 0x10_0000):
    for cond in (*a64.CONDITIONS, "cs", "cc", "EQ"):
        case(f"b.{cond} {target:#x}", lambda c=cond, t=target: a64.b_cond(c, t, PC))
    for rt in (X[0], W[5], XZR, WZR):
        case(f"cbz {rt} {target:#x}", lambda r=rt, t=target: a64.cbz(r, t, PC))
        case(f"cbnz {rt} {target:#x}", lambda r=rt, t=target: a64.cbnz(r, t, PC))
for target in (PC, PC + 1, PC + 9, PC - 3, PC + 0xF_FFFF, PC - 0x10_0000):
    case(f"adr {target:#x}", lambda t=target: a64.adr(X[3], t, PC))
case("adr xzr", lambda: a64.adr(XZR, PC + 0x40, PC))

for rn in (X[0], X[30], XZR):
    case(f"ret {rn}", lambda n=rn: a64.ret(n))
    case(f"br {rn}", lambda n=rn: a64.br(n))
    case(f"blr {rn}", lambda n=rn: a64.blr(n))
case("ret", a64.ret)
case("nop", a64.nop)
case("wfi", a64.wfi)
for imm in (0, 1, 9, 10, 0x1234, 0xFFFF):
    case(f"smc {imm:#x}", lambda i=imm: a64.smc(i))
    case(f"hvc {imm:#x}", lambda i=imm: a64.hvc(i))
    case(f"brk {imm:#x}", lambda i=imm: a64.brk(i))


@pytest.mark.parametrize("make", [m for _, m in _CASES], ids=[label for label, _ in _CASES])
def test_encoding_matches_capstone(make: Case) -> None:
    insn = make()
    assert 0 <= insn.word < 1 << 32
    assert disasm(insn.word) == insn.text


# --- mov_imm ------------------------------------------------------------------------------------


def _value_of(insns: tuple[Insn, ...], bits: int) -> int:
    """What capstone says the MOVZ/MOVK sequence leaves in the register."""
    value = 0
    for insn in insns:
        text = disasm(insn.word)
        if m := re.fullmatch(r"(?:mov|movz) [xw]\d+, #(-?(?:0x)?[0-9a-f]+)(?:, lsl #(\d+))?", text):
            value = int(m[1], 0) << int(m[2] or 0)
        elif m := re.fullmatch(r"movk [xw]\d+, #((?:0x)?[0-9a-f]+)(?:, lsl #(\d+))?", text):
            shift = int(m[2] or 0)
            value = (value & ~(0xFFFF << shift)) | (int(m[1], 0) << shift)
        else:
            raise AssertionError(f"mov_imm emitted {text!r}")
    return value & ((1 << bits) - 1)


@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_mov_imm_builds_any_64_bit_constant_in_fewest_moves(value: int) -> None:
    insns = a64.mov_imm(X[7], value)
    assert _value_of(insns, 64) == value
    nonzero_halfwords = sum(1 for shift in range(0, 64, 16) if (value >> shift) & 0xFFFF)
    assert len(insns) == max(1, nonzero_halfwords)
    assert disasm(insns[0].word).startswith(("mov ", "movz "))
    assert all(disasm(i.word).startswith("movk ") for i in insns[1:])


@pytest.mark.parametrize("value", [0, 1, 0xFFFF, 0x1_0000, 0xFFFF_FFFF, 0x8000_0000])
def test_mov_imm_w_register(value: int) -> None:
    insns = a64.mov_imm(W[3], value)
    assert _value_of(insns, 32) == value
    assert all(" w3, " in disasm(i.word) for i in insns)


def test_mov_imm_takes_negative_values_as_twos_complement() -> None:
    assert _value_of(a64.mov_imm(X[0], -2), 64) == (1 << 64) - 2
    assert len(a64.mov_imm(X[0], -2)) == 4


# --- errors -------------------------------------------------------------------------------------

_ERRORS: list[tuple[str, Callable[[], object]]] = [
    ("movz immediate", lambda: a64.movz(X[0], 0x1_0000)),
    ("shift", lambda: a64.movz(X[0], 1, 8)),
    ("shift", lambda: a64.movk(W[0], 1, 32)),
    ("range", lambda: a64.mov_imm(X[0], 1 << 64)),
    ("range", lambda: a64.mov_imm(W[0], 1 << 32)),
    ("range", lambda: a64.add(X[0], X[1], 0x1000)),
    ("range", lambda: a64.sub(X[0], X[1], -1)),
    ("lsl", lambda: a64.add(X[0], X[1], 1, amount=4)),
    ("xzr is not allowed", lambda: a64.add(XZR, X[1], 1)),  # 31 is SP for ADD (immediate)
    ("sp is not allowed", lambda: a64.adds(SP, X[1], 1)),  # 31 is ZR for ADDS
    ("sp is not allowed", lambda: a64.add(X[0], SP, X[1])),  # no SP in the shifted-register form
    ("mix", lambda: a64.add(X[0], W[1], 1)),
    ("mix", lambda: a64.orr(X[0], X[1], W[2])),
    ("ror", lambda: a64.add(X[0], X[1], X[2], "ror", 1)),
    ("range", lambda: a64.orr(W[0], W[1], W[2], "lsl", 32)),
    ("multiple", lambda: a64.ldr(X[0], X[1], 4)),
    ("range", lambda: a64.ldr(X[0], X[1], 0x8000)),
    ("range", lambda: a64.str_(W[0], X[1], -4)),
    ("base", lambda: a64.ldr(X[0], W[1])),
    ("xzr is not allowed", lambda: a64.ldr(X[0], XZR)),
    ("32-bit", lambda: a64.strb(X[0], X[1])),
    ("64-bit", lambda: a64.ldrsw(W[0], X[1])),
    ("reach", lambda: a64.b(PC + 0x800_0000, PC)),
    ("reach", lambda: a64.b(PC - 0x800_0004, PC)),
    ("aligned", lambda: a64.bl(PC + 2, PC)),
    ("reach", lambda: a64.b_cond("eq", PC + 0x10_0000, PC)),
    ("condition", lambda: a64.b_cond("zz", PC, PC)),
    ("reach", lambda: a64.cbz(X[0], PC - 0x10_0004, PC)),
    ("range", lambda: a64.adr(X[0], PC + 0x10_0000, PC)),
    ("64-bit", lambda: a64.adr(W[0], PC, PC)),
    ("64-bit", lambda: a64.br(W[0])),
    ("range", lambda: a64.smc(0x1_0000)),
    ("range", lambda: a64.hvc(-1)),
    ("expected a register", lambda: a64.ldr(X[0], 5)),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("message", "call"), _ERRORS, ids=[f"{i}-{m}" for i, (m, _) in
                                                             enumerate(_ERRORS)])  # fmt: skip
def test_out_of_range_operands_raise_value_error(message: str, call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# --- the assembler ------------------------------------------------------------------------------


def _check_listing(base: int, image: bytes, lines: tuple[a64.ListingLine, ...]) -> None:
    """Lines tile the image from `base`; each instruction line is what capstone reads there."""
    address = base
    for line in lines:
        assert line.address == address
        chunk = image[address - base : address - base + line.size]
        assert int.from_bytes(chunk, "little") == line.value
        if line.is_insn:
            assert line.size == 4
            assert disasm(line.value, line.address) == line.text, f"at {line.address:#x}"
        address += line.size
    assert address == base + len(image)


def test_labels_resolve_forwards_and_backwards() -> None:
    asm = Assembler(0x4000)
    asm.label("top")
    asm.b("end")  # forward
    asm.cbz(X[1], "top")  # backward
    asm.b_cond("ne", "end")
    asm.adr(X[2], "data")
    asm.bl(0x4000)  # an absolute address works too
    asm.label("end")
    asm.emit(a64.ret())
    asm.label("data")
    asm.quad(0x1122_3344_5566_7788)
    out = asm.assemble()
    _check_listing(0x4000, out.image, out.lines)
    texts = [disasm(line.value, line.address) for line in out.lines if line.is_insn]
    end, data = out.labels["end"], out.labels["data"]
    assert texts[0] == f"b #{end:#x}"
    assert texts[1] == "cbz x1, #0x4000"
    assert texts[2] == f"b.ne #{end:#x}"
    assert texts[3] == f"adr x2, #{data:#x}"
    assert texts[4] == "bl #0x4000"


def test_data_directives_are_little_endian_and_alignment_pads() -> None:
    asm = Assembler(0x1000)
    asm.emit(a64.nop())
    asm.word(0xDEAD_BEEF)
    asm.align(16)
    assert asm.here == 0x1010
    asm.quad(0x0102_0304_0506_0708, note="a quad")
    asm.zero(3)
    asm.align(4)
    out = asm.assemble()
    _check_listing(0x1000, out.image, out.lines)
    assert struct.unpack_from("<I", out.image, 4) == (0xDEAD_BEEF,)
    assert out.image[8:16] == bytes(8)
    assert struct.unpack_from("<Q", out.image, 0x10) == (0x0102_0304_0506_0708,)
    assert len(out.image) == 0x1C
    assert [line.note for line in out.lines if line.text.startswith(".quad")] == ["a quad"]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda a: a.b("nowhere"), "undefined label 'nowhere'"),
        (lambda a: (a.label("x"), a.label("x")), "already bound"),
        (lambda a: a.align(3), "power of two"),
        (lambda a: a.quad(1 << 64), "range"),
        (lambda a: (a.word(1), a.zero(1), a.emit(a64.nop())), "unaligned"),
    ],
)
def test_assembler_errors(build: Callable[[Assembler], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        asm = Assembler(0x1000)
        build(asm)
        asm.assemble()


def test_branch_out_of_reach_of_its_label_is_reported_at_assembly() -> None:
    asm = Assembler(0)
    asm.cbz(X[0], "far")
    asm.zero(0x10_0000)
    asm.label("far")
    with pytest.raises(ValueError, match="out of reach"):
        asm.assemble()


# --- the demo programs --------------------------------------------------------------------------


@pytest.mark.parametrize("program", [REALM_DEMO, NORMAL_DEMO], ids=lambda p: p.name)
def test_demo_listing_is_what_capstone_reads_in_the_image(program: Program) -> None:
    _check_listing(program.load_address, program.image, program.listing)
    assert program.entry == program.listing[0].address
    assert program.listing[0].is_insn


def _code(program: Program) -> list[capstone.CsInsn]:
    size = sum(line.size for line in program.listing if line.is_insn)
    return list(_CS_DETAIL.disasm(program.image[:size], program.load_address))


def _writes(insn: capstone.CsInsn) -> set[str]:
    return {insn.reg_name(r) for r in insn.regs_access()[1]}


def _step(program: Program, name: str) -> Step:
    return next(s for s in program.steps if s.name == name)


def test_realm_demo_keeps_x0_to_x8_until_they_reach_the_uart() -> None:
    """x0-x8 carry the values under test into E1 and E2: nothing before E2 may overwrite them."""
    e2 = _step(REALM_DEMO, "E2")
    before = [i for i in _code(REALM_DEMO) if i.address <= e2.exit_pc]
    written = set().union(*(_writes(i) for i in before))
    assert not written & {f"{width}{n}" for width in "xw" for n in range(9)}


@pytest.mark.parametrize("program", [REALM_DEMO, NORMAL_DEMO], ids=lambda p: p.name)
def test_demo_uart_register_is_set_once_and_every_exit_is_where_the_steps_say(
    program: Program,
) -> None:
    code = _code(program)
    uart = {"x20", "w20"}
    setters = [i for i in code if _writes(i) & uart]
    assert setters and all(i.address < program.steps[0].exit_pc for i in setters)
    by_pc = {i.address: i for i in code}
    for step in program.steps[:-1]:
        insn = by_pc[step.exit_pc]
        if insn.mnemonic in ("ldr", "str"):
            assert insn.op_str.endswith("[x20]"), step
        else:
            assert insn.mnemonic == ("smc" if program is REALM_DEMO else "hvc"), step
    last = by_pc[program.steps[-1].exit_pc]
    assert (last.mnemonic, last.op_str) == ("b", f"#{last.address:#x}")  # b .


@pytest.mark.parametrize("program", [REALM_DEMO, NORMAL_DEMO], ids=lambda p: p.name)
def test_demo_steps_tile_the_code_and_lookups_find_them(program: Program) -> None:
    code_end = sum(line.size for line in program.listing if line.is_insn) + program.load_address
    start = program.load_address
    for step in program.steps:
        assert step.start == start and step.start <= step.exit_pc and step.summary
        assert program.step_at(step.exit_pc) is step
        assert program.line_at(step.exit_pc).address == step.exit_pc  # type: ignore[union-attr]
        start = step.exit_pc + 4
    assert start == code_end
    assert program.step_at(code_end) is None
    assert program.line_at(program.load_address + len(program.image)) is None
    assert program.line_at(program.load_address - 4) is None


def test_realm_demo_uses_smc_and_normal_demo_hvc() -> None:
    """A realm's HVC is undefined (the RMM injects an undef); a 6.1 KVM guest uses HVC for PSCI."""
    assert {i.mnemonic for i in _code(REALM_DEMO)} & {"smc", "hvc"} == {"smc"}
    assert {i.mnemonic for i in _code(NORMAL_DEMO)} & {"smc", "hvc"} == {"hvc"}
    assert [s.name for s in REALM_DEMO.steps] == [f"E{n}" for n in range(1, 9)] + ["end"]


def test_realm_image_carries_the_host_call_struct() -> None:
    offset = HOSTCALL_IPA - REALM_DEMO.load_address
    imm, fid, arg1, *rest = struct.unpack_from("<I4xQQ29Q", REALM_DEMO.image, offset)
    assert (imm, fid, arg1) == (0, HOSTCALL_FID, HOSTCALL_ARG1_INITIAL)
    assert rest == [0] * 29
    line = REALM_DEMO.line_at(HOSTCALL_IPA + 8 + 4)  # inside gprs[0]
    assert line is not None and line.value == HOSTCALL_FID and "gprs[0]" in line.note


def test_realm_layout_satisfies_the_rmm_and_kvm() -> None:
    image_end = REALM_DEMO.load_address + len(REALM_DEMO.image)
    ripas_ram_end = REALM_RAM_BASE + REALM_INIT_RIPAS_SIZE
    # RSI_HOST_CALL: 0x100-aligned, within one 4 KiB granule, in RIPAS-RAM protected memory.
    assert HOSTCALL_IPA % 0x100 == 0
    assert HOSTCALL_IPA // GRANULE_SIZE == (HOSTCALL_IPA + HOSTCALL_SIZE - 1) // GRANULE_SIZE
    assert REALM_RAM_BASE <= HOSTCALL_IPA and HOSTCALL_IPA + HOSTCALL_SIZE <= image_end
    # The image is populated whole granules at a time, into RIPAS-RAM memory.
    assert REALM_DEMO.load_address % GRANULE_SIZE == 0 and len(REALM_DEMO.image) % GRANULE_SIZE == 0
    assert image_end <= ripas_ram_end
    # The RIPAS change asks for memory that is in the memslot but still RIPAS EMPTY.
    assert ripas_ram_end <= RIPAS_CHANGE_BASE < RIPAS_CHANGE_TOP <= REALM_RAM_BASE + REALM_RAM_SIZE
    assert RIPAS_CHANGE_BASE % GRANULE_SIZE == 0 and RIPAS_CHANGE_TOP % GRANULE_SIZE == 0
    # The UART is in the unprotected half of the IPA space, where nothing is mapped.
    assert REALM_UART_IPA >> (REALM_IPA_BITS - 1) == 1 and REALM_UART_IPA < 1 << REALM_IPA_BITS
    assert not REALM_RAM_BASE <= REALM_UART_IPA < REALM_RAM_BASE + REALM_RAM_SIZE


def test_normal_layout() -> None:
    assert len(NORMAL_DEMO.image) <= NORMAL_RAM_SIZE
    assert NORMAL_DEMO.load_address == NORMAL_RAM_BASE
    assert not NORMAL_RAM_BASE <= NORMAL_UART_IPA < NORMAL_RAM_BASE + NORMAL_RAM_SIZE
