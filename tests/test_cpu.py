"""The A64 interpreter: results, flags, trap syndromes and pc handling, as the hardware does them.

Programs are written with the encoder (whose words test_a64.py holds against capstone); expected
values come from plain Python arithmetic or from the Arm ARM's field layout restated here.
"""

from __future__ import annotations

import copy
import struct

import capstone
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends import a64
from backends.a64 import SP, WZR, XZR, Assembler, Insn, W, X
from backends.guests import (
    HOSTCALL_FID,
    HOSTCALL_IPA,
    NORMAL_DEMO,
    NORMAL_RAM_BASE,
    NORMAL_RAM_SIZE,
    NORMAL_UART_IPA,
    REALM_DEMO,
    REALM_RAM_BASE,
    REALM_RAM_SIZE,
    REALM_UART_IPA,
    RIPAS_CHANGE_BASE,
    RIPAS_CHANGE_TOP,
    Program,
)
from backends.sim.cpu import CpuState, Trap, TrapKind, run
from backends.smccc import PSCI_SYSTEM_OFF, RIPAS_RAM, RSI_HOST_CALL, RSI_IPA_STATE_SET, RSI_SUCCESS

M64 = (1 << 64) - 1
RAM = 0x4000_0000  # code at RAM, data from DATA
DATA = RAM + 0x1000
MMIO = 0x80_0912_3F00  # nothing mapped: every access is a stage-2 fault
END = 0xFFFF  # `smc #END` closes every test program


class Ram:
    """Guest memory with one mapped region; everything else is a stage-2 fault."""

    def __init__(self, base: int, size: int) -> None:
        self.base, self.data = base, bytearray(size)
        self.accesses: list[tuple[str, int, int]] = []

    def _offset(self, ipa: int, size: int) -> int | None:
        offset = ipa - self.base
        return offset if 0 <= offset and offset + size <= len(self.data) else None

    def load(self, ipa: int, size: int) -> int | None:
        self.accesses.append(("load", ipa, size))
        offset = self._offset(ipa, size)
        if offset is None:
            return None
        return int.from_bytes(self.data[offset : offset + size], "little")

    def store(self, ipa: int, size: int, value: int) -> bool:
        self.accesses.append(("store", ipa, size))
        offset = self._offset(ipa, size)
        if offset is None:
            return False
        self.data[offset : offset + size] = value.to_bytes(size, "little")
        return True

    def put(self, ipa: int, data: bytes) -> None:
        offset = self._offset(ipa, len(data))
        assert offset is not None
        self.data[offset : offset + len(data)] = data

    def get(self, ipa: int, size: int) -> bytes:
        offset = self._offset(ipa, size)
        assert offset is not None
        return bytes(self.data[offset : offset + size])


def load(*code: Insn | tuple[Insn, ...], end: bool = True) -> tuple[CpuState, Ram]:
    """A machine with `code` at RAM (plus `smc #END` unless end=False), pc at its start."""
    asm = Assembler(RAM)
    for item in code:
        asm.emit(*(item if isinstance(item, tuple) else (item,)))
    if end:
        asm.emit(a64.smc(END))
    mem = Ram(RAM, 0x2000)
    mem.put(RAM, asm.assemble().image)
    return CpuState(pc=RAM), mem


def execute(*code: Insn | tuple[Insn, ...], **regs: int) -> CpuState:
    """Run `code` to the closing SMC; keyword arguments preset x0..x30 (as x5=...), sp, pstate."""
    state, mem = load(*code)
    for name, value in regs.items():
        if name.startswith("x"):
            state.x[int(name[1:])] = value
        else:
            setattr(state, name, value)
    trap = run(state, mem)
    assert (trap.kind, trap.esr & 0xFFFF) == (TrapKind.SMC, END), trap.describe()
    return state


# ESR_EL2 fields, restated from the Arm ARM (ESR_EL2; ISS encoding for a Data Abort).
def ec(t: Trap) -> int:
    return t.esr >> 26


def il(t: Trap) -> int:
    return (t.esr >> 25) & 1


def field(t: Trap, lsb: int, width: int) -> int:
    return (t.esr >> lsb) & ((1 << width) - 1)


def nzcv(state: CpuState) -> str:
    """PSTATE.{N,Z,C,V} (bits 31..28) as e.g. "-ZC-"."""
    return "".join(flag if state.pstate >> (31 - i) & 1 else "-" for i, flag in enumerate("NZCV"))


# --- moves --------------------------------------------------------------------------------------


@given(st.integers(0, 30), st.integers(0, M64))
def test_mov_imm_leaves_the_constant_and_touches_nothing_else(reg: int, value: int) -> None:
    before = [0x5A5A_0000 + n for n in range(31)]
    state = execute(a64.mov_imm(X[reg], value), **{f"x{n}": v for n, v in enumerate(before)})
    assert state.x == [value if n == reg else v for n, v in enumerate(before)]


def test_movk_replaces_one_halfword_and_w_forms_clear_the_top_half() -> None:
    ones = M64
    state = execute(
        a64.movk(X[0], 0x1234, 16),
        a64.movk(W[1], 0x1234, 16),
        a64.movz(W[2], 5),
        a64.movn(X[3], 0x1234, 16),
        a64.movn(W[4], 0),
        a64.movn(X[5], 0),
        x0=ones, x1=ones, x2=ones,
    )  # fmt: skip
    assert state.x[0] == 0xFFFF_FFFF_1234_FFFF
    assert state.x[1] == 0x1234_FFFF
    assert state.x[2] == 5
    assert state.x[3] == ~0x1234_0000 & M64
    assert state.x[4] == 0xFFFF_FFFF
    assert state.x[5] == M64


def test_writes_to_the_zero_register_are_discarded_and_it_reads_as_zero() -> None:
    before = [n + 1 for n in range(31)]
    state = execute(
        a64.movz(XZR, 0x77),
        a64.add(XZR, X[1], X[2]),
        a64.orr(X[3], XZR, XZR),
        a64.mov(X[4], XZR),
        **{f"x{n}": v for n, v in enumerate(before)},
        sp=0x8000,
    )
    expected = before.copy()
    expected[3] = expected[4] = 0
    assert state.x == expected and state.sp == 0x8000


def test_mov_to_and_from_sp() -> None:
    state = execute(a64.mov(SP, X[1]), a64.add(X[2], SP, 0x10), a64.mov(X[3], SP), x1=0x7000)
    assert (state.sp, state.x[2], state.x[3]) == (0x7000, 0x7010, 0x7000)


# --- arithmetic and flags -----------------------------------------------------------------------


def test_add_sub_immediate_with_shift_and_sp() -> None:
    state = execute(
        a64.add(X[0], X[1], 1, amount=12),
        a64.sub(SP, SP, 0x10),
        a64.add(W[2], W[3], 1),  # wraps in 32 bits
        a64.sub(X[4], X[4], 1),  # wraps in 64 bits
        x1=0x10, x3=0xFFFF_FFFF, sp=0x1000,
    )  # fmt: skip
    assert state.x[0] == 0x1010
    assert state.sp == 0xFF0
    assert state.x[2] == 0
    assert state.x[4] == M64


def _flags_after(insn: Insn, **regs: int) -> str:
    return nzcv(execute(insn, **regs))


S63 = 1 << 63


@pytest.mark.parametrize(
    ("insn", "regs", "flags"),
    [
        (a64.cmp(X[1], 1), {"x1": 1}, "-ZC-"),  # equal: no borrow, so C set
        (a64.cmp(X[1], 2), {"x1": 1}, "N---"),  # 1 - 2 borrows: C clear
        (a64.cmp(X[1], 1), {"x1": S63}, "--CV"),  # INT64_MIN - 1 overflows
        (a64.adds(X[0], X[1], 1), {"x1": M64}, "-ZC-"),  # carry out, zero result
        (a64.adds(X[0], X[1], 1), {"x1": S63 - 1}, "N--V"),  # INT64_MAX + 1 overflows
        (a64.cmn(X[1], 1), {"x1": M64}, "-ZC-"),
        (a64.cmp(W[1], 1), {"x1": 1 << 32}, "N---"),  # W form ignores the top half: 0 - 1
        (a64.cmp(W[1], 1), {"x1": 1 << 31}, "--CV"),  # INT32_MIN - 1
        (a64.subs(X[0], X[1], X[2], "lsl", 1), {"x1": 4, "x2": 2}, "-ZC-"),
        (a64.cmp(X[1], X[2], "asr", 63), {"x1": 0, "x2": S63}, "----"),  # 0 - (-1): a borrow
        (a64.ands(X[0], X[1], X[2]), {"x1": S63, "x2": M64, "pstate": 0x3000_03C5}, "N---"),
        (a64.tst(W[1], W[2]), {"x1": 0xF0, "x2": 0x0F, "pstate": 0x3000_03C5}, "-Z--"),
    ],
)
def test_flag_setting_instructions_set_nzcv(insn: Insn, regs: dict[str, int], flags: str) -> None:
    assert _flags_after(insn, **regs) == flags


def test_flag_setting_keeps_the_rest_of_pstate_and_plain_add_keeps_the_flags() -> None:
    state = execute(a64.cmp(X[1], 1), a64.add(X[2], X[2], 1), x1=1, pstate=0x9000_03C5)
    assert state.pstate == 0x6000_03C5


def test_sub_results_and_aliases() -> None:
    state = execute(
        a64.sub(X[0], XZR, X[1]),  # neg
        a64.subs(X[2], X[3], X[4], "lsr", 4),
        a64.add(W[5], W[6], W[7], "lsl", 31),
        x1=5, x3=0x100, x4=0x1000, x6=1, x7=1,
    )  # fmt: skip
    assert state.x[0] == (-5) & M64
    assert state.x[2] == 0
    assert state.x[5] == 0x8000_0001


def test_logical_operations_and_shifts() -> None:
    state = execute(
        a64.and_(X[0], X[10], X[11], "lsr", 4),
        a64.orr(X[1], X[10], X[11], "ror", 8),
        a64.eor(X[2], X[10], X[11], "asr", 60),
        a64.orr(W[3], W[10], W[11], "lsl", 4),
        a64.mov(X[4], X[11]),
        x10=0x0000_FFFF_0000_FFFF, x11=0xF000_0000_0000_00F0,
    )  # fmt: skip
    x10, x11 = 0x0000_FFFF_0000_FFFF, 0xF000_0000_0000_00F0
    assert state.x[0] == x10 & (x11 >> 4)
    assert state.x[1] == x10 | ((x11 >> 8) | (x11 << 56)) & M64
    assert state.x[2] == x10 ^ M64  # asr #60 of a negative value is all ones
    assert state.x[3] == 0xFFFF_FFFF & (x10 | (x11 << 4))
    assert state.x[4] == x11


def test_inverted_logical_forms_decode_bic_orn_eon() -> None:
    """The N bit (bit 21) inverts the second operand; capstone names the results."""
    cs = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
    forms = [a64.and_(X[0], X[1], X[2]), a64.orr(X[3], X[1], X[2]), a64.eor(X[4], X[1], X[2])]
    inverted = [Insn(f.word | 1 << 21, "") for f in forms]
    names = [next(cs.disasm(struct.pack("<I", i.word), 0)).mnemonic for i in inverted]
    assert names == ["bic", "orn", "eon"]
    state = execute(*inverted, x1=0xFF00, x2=0x0FF0)
    assert state.x[0] == 0xFF00 & ~0x0FF0
    assert state.x[3] == (0xFF00 | ~0x0FF0) & M64
    assert state.x[4] == (0xFF00 ^ ~0x0FF0) & M64


_CONDITION_CASES = [(1, 2), (2, 1), (1, 1), (S63, 1), (1, S63), (M64, 1), (0, 0), (S63 - 1, M64)]


def _signed(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


def _expected(cond: str, a: int, b: int) -> bool:
    """What `cmp a, b; b.cond` should do, from the comparison it stands for."""
    sa, sb = _signed(a), _signed(b)
    diff = (a - b) & M64
    overflow = not -(1 << 63) <= sa - sb < 1 << 63
    return {
        "eq": a == b, "ne": a != b, "hs": a >= b, "lo": a < b, "mi": diff >> 63 == 1,
        "pl": diff >> 63 == 0, "vs": overflow, "vc": not overflow, "hi": a > b, "ls": a <= b,
        "ge": sa >= sb, "lt": sa < sb, "gt": sa > sb, "le": sa <= sb, "al": True, "nv": True,
    }[cond]  # fmt: skip


@pytest.mark.parametrize("cond", a64.CONDITIONS)
@pytest.mark.parametrize(("a", "b"), _CONDITION_CASES, ids=lambda v: f"{v:#x}")
def test_conditional_branch_follows_the_comparison(cond: str, a: int, b: int) -> None:
    asm = Assembler(RAM)
    asm.emit(a64.cmp(X[1], X[2]))
    asm.b_cond(cond, "taken")
    asm.emit(a64.movz(X[0], 1), a64.smc(END))
    asm.label("taken")
    asm.emit(a64.movz(X[0], 2), a64.smc(END))
    mem = Ram(RAM, 0x1000)
    mem.put(RAM, asm.assemble().image)
    state = CpuState(pc=RAM)
    state.x[1], state.x[2] = a, b
    assert run(state, mem).kind is TrapKind.SMC
    assert state.x[0] == (2 if _expected(cond, a, b) else 1)


# --- branches -----------------------------------------------------------------------------------


def test_bl_links_and_ret_returns() -> None:
    asm = Assembler(RAM)
    asm.bl("func")  # RAM + 0
    asm.emit(a64.movz(X[1], 1), a64.smc(END))
    asm.label("func")
    asm.emit(a64.mov(X[2], X[30]), a64.ret())
    mem = Ram(RAM, 0x1000)
    mem.put(RAM, asm.assemble().image)
    state = CpuState(pc=RAM)
    trap = run(state, mem)
    assert (trap.kind, trap.pc) == (TrapKind.SMC, RAM + 8)
    assert (state.x[1], state.x[2], state.x[30]) == (1, RAM + 4, RAM + 4)


def test_br_and_blr_go_to_the_register() -> None:
    target = RAM + 0x100
    state, mem = load(a64.blr(X[5]), a64.smc(1))
    asm = Assembler(target)
    asm.emit(a64.mov(X[6], X[30]), a64.br(X[30]))
    mem.put(target, asm.assemble().image)
    state.x[5] = target
    trap = run(state, mem)
    assert (trap.kind, trap.pc, trap.esr & 0xFFFF) == (TrapKind.SMC, RAM + 4, 1)
    assert state.x[6] == RAM + 4


def test_blr_x30_reads_the_target_before_linking() -> None:
    state, mem = load(a64.blr(X[30]))
    mem.put(RAM + 0x40, a64.smc(2).to_bytes())
    state.x[30] = RAM + 0x40
    trap = run(state, mem)
    assert (trap.pc, state.x[30]) == (RAM + 0x40, RAM + 4)


@pytest.mark.parametrize(
    ("insn", "value", "taken"),
    [
        (a64.cbz(X[0], RAM + 8, RAM), 0, True),
        (a64.cbz(X[0], RAM + 8, RAM), 1 << 32, False),
        (a64.cbz(W[0], RAM + 8, RAM), 1 << 32, True),  # only the low 32 bits count
        (a64.cbnz(W[0], RAM + 8, RAM), 1 << 32, False),
        (a64.cbnz(X[0], RAM + 8, RAM), 1 << 63, True),
    ],
)
def test_compare_and_branch(insn: Insn, value: int, taken: bool) -> None:
    state = execute(insn, a64.movz(X[1], 1), x0=value)  # the movz is what a taken branch skips
    assert state.x[1] == (0 if taken else 1)


def test_backward_branch_and_adr() -> None:
    asm = Assembler(RAM)
    asm.label("top")
    asm.emit(a64.add(X[0], X[0], 1))
    asm.emit(a64.cmp(X[0], 3))
    asm.b_cond("ne", "top")
    asm.adr(X[1], "here")
    asm.label("here")
    asm.emit(a64.smc(END))
    mem = Ram(RAM, 0x1000)
    mem.put(RAM, asm.assemble().image)
    state = CpuState(pc=RAM)
    run(state, mem)
    assert (state.x[0], state.x[1]) == (3, RAM + 16)


def test_adr_is_byte_granular_both_ways() -> None:
    state = execute(a64.adr(X[2], RAM + 7, RAM), a64.adr(X[3], RAM - 0x3FD, RAM + 4))
    assert (state.x[2], state.x[3]) == (RAM + 7, RAM - 0x3FD)


def test_nop_and_wfi_just_continue() -> None:
    state = execute(a64.nop(), a64.wfi(), a64.movz(X[0], 7))
    assert state.x[0] == 7 and state.pc == RAM + 12


# --- loads and stores ---------------------------------------------------------------------------


def test_stores_write_only_their_size_little_endian() -> None:
    state, mem = load(
        a64.str_(X[1], X[0]),
        a64.str_(W[1], X[0], 8),
        a64.strh(W[1], X[0], 16),
        a64.strb(W[1], X[0], 19),
        a64.str_(XZR, X[0], 24),
    )
    mem.put(DATA, b"\xee" * 32)
    state.x[0], state.x[1] = DATA, 0x1122_3344_5566_7788
    assert run(state, mem).kind is TrapKind.SMC
    assert mem.get(DATA, 8) == struct.pack("<Q", 0x1122_3344_5566_7788)
    assert mem.get(DATA + 8, 8) == struct.pack("<I", 0x5566_7788) + b"\xee" * 4
    assert mem.get(DATA + 16, 8) == b"\x88\x77\xee\x88" + b"\xee" * 4
    assert mem.get(DATA + 24, 8) == bytes(8)


def test_loads_extend_as_their_form_says() -> None:
    state, mem = load(
        a64.ldr(X[1], X[0]),
        a64.ldr(W[2], X[0]),
        a64.ldrb(W[3], X[0]),
        a64.ldrh(W[4], X[0]),
        a64.ldrsb(X[5], X[0]),
        a64.ldrsb(W[6], X[0]),
        a64.ldrsh(X[7], X[0], 2),
        a64.ldrsh(W[8], X[0], 2),
        a64.ldrsw(X[9], X[0], 4),
        a64.ldrsw(X[10], X[0]),
        a64.ldr(X[11], SP, 8),
    )
    mem.put(DATA, struct.pack("<QQ", 0x8000_8001_7FFF_8081, 0xABCD))
    state.x[0], state.sp = DATA, DATA
    state.x[2:11] = [M64] * 9  # every W load must clear the top half
    assert run(state, mem).kind is TrapKind.SMC
    assert state.x[1] == 0x8000_8001_7FFF_8081
    assert state.x[2] == 0x7FFF_8081
    assert state.x[3] == 0x81
    assert state.x[4] == 0x8081
    assert state.x[5] == 0xFFFF_FFFF_FFFF_FF81
    assert state.x[6] == 0xFFFF_FF81
    assert state.x[7] == 0x7FFF  # 0x7fff is positive
    assert state.x[8] == 0x7FFF
    assert state.x[9] == 0xFFFF_FFFF_8000_8001
    assert state.x[10] == 0x7FFF_8081
    assert state.x[11] == 0xABCD


def test_load_into_xzr_is_discarded() -> None:
    before = list(range(1, 32))
    state, mem = load(a64.ldr(XZR, X[0]))
    mem.put(DATA, struct.pack("<Q", 0x99))
    state.x = [DATA, *before[1:]]
    run(state, mem)
    assert state.x == [DATA, *before[1:]]
    assert ("load", DATA, 8) in mem.accesses


# --- traps to EL2 -------------------------------------------------------------------------------

# (instruction, its offset, access size, sign-extending, 64-bit register, write, transfer reg)
_ABORTS = [
    (a64.str_(X[5], X[20]), 0, 8, 0, 1, 1, 5),
    (a64.str_(W[5], X[20], 8), 8, 4, 0, 0, 1, 5),
    (a64.strh(W[1], X[20], 2), 2, 2, 0, 0, 1, 1),
    (a64.strb(WZR, X[20]), 0, 1, 0, 0, 1, 31),
    (a64.ldr(X[30], X[20], 0x18), 0x18, 8, 0, 1, 0, 30),
    (a64.ldr(W[7], X[20], 4), 4, 4, 0, 0, 0, 7),
    (a64.ldrb(W[3], X[20]), 0, 1, 0, 0, 0, 3),
    (a64.ldrh(W[3], X[20]), 0, 2, 0, 0, 0, 3),
    (a64.ldrsb(X[3], X[20]), 0, 1, 1, 1, 0, 3),
    (a64.ldrsh(W[4], X[20]), 0, 2, 1, 0, 0, 4),
    (a64.ldrsw(X[9], X[20], 4), 4, 4, 1, 1, 0, 9),
]


@pytest.mark.parametrize(("insn", "offset", "size", "sse", "sf", "wnr", "srt"), _ABORTS,
                         ids=[i.text for i, *_ in _ABORTS])  # fmt: skip
def test_stage2_data_abort_syndrome(
    insn: Insn, offset: int, size: int, sse: int, sf: int, wnr: int, srt: int
) -> None:
    state, mem = load(a64.nop(), insn)
    state.x[:] = [0x1000 + n for n in range(31)]
    state.x[20] = MMIO
    before_ram = bytes(mem.data)
    trap = run(state, mem)
    address = MMIO + offset
    assert trap.kind is TrapKind.DATA_ABORT
    assert (ec(trap), il(trap), field(trap, 24, 1)) == (0x24, 1, 1)  # data abort, 32-bit, ISV
    assert 1 << field(trap, 22, 2) == size  # SAS
    assert (field(trap, 21, 1), field(trap, 16, 5), field(trap, 15, 1)) == (sse, srt, sf)
    assert (field(trap, 6, 1), field(trap, 0, 6)) == (wnr, 0x07)  # WnR, translation fault L3
    assert (trap.far, trap.hpfar) == (address, (address >> 12) << 4)
    assert (trap.pc, trap.insn) == (RAM + 4, insn.word)
    # The hypervisor completes the access: pc stays on it, no register or memory changed.
    assert state.pc == RAM + 4
    assert state.x == [MMIO if n == 20 else 0x1000 + n for n in range(31)]
    assert bytes(mem.data) == before_ram
    assert trap.describe().startswith("stage-2 data abort")
    assert f"{address:#x}" in trap.describe()


def test_guest_resumes_after_the_hypervisor_completes_an_mmio_read() -> None:
    state, mem = load(a64.ldr(X[5], X[20]), a64.add(X[6], X[5], 1))
    state.x[20] = MMIO
    trap = run(state, mem)
    state.x[field(trap, 16, 5)] = 0x41  # what KVM/the RMM do with the MMIO data...
    state.pc += 4  # ...and the pc
    trap = run(state, mem)
    assert trap.kind is TrapKind.SMC and (state.x[5], state.x[6]) == (0x41, 0x42)


def test_instruction_fetch_from_unmapped_memory_is_an_instruction_abort() -> None:
    state, mem = load(a64.br(X[1]))
    state.x[1] = MMIO
    trap = run(state, mem)
    assert trap.kind is TrapKind.INSN_ABORT
    assert (ec(trap), il(trap), field(trap, 0, 6)) == (0x20, 1, 0x07)
    assert (trap.far, trap.hpfar, trap.pc) == (MMIO, (MMIO >> 12) << 4, MMIO)
    assert state.pc == MMIO


def test_smc_traps_with_its_immediate_and_pc_on_the_smc() -> None:
    state, mem = load(a64.nop(), a64.smc(0x1234), end=False)
    trap = run(state, mem)
    assert trap.kind is TrapKind.SMC
    assert (ec(trap), il(trap), field(trap, 0, 25)) == (0x17, 1, 0x1234)
    assert trap.pc == state.pc == RAM + 4  # preferred return address: the SMC itself
    assert trap.insn == a64.smc(0x1234).word
    assert trap.describe() == f"smc #0x1234 at pc {RAM + 4:#x}"


def test_hvc_traps_with_its_immediate_and_pc_after_the_hvc() -> None:
    state, mem = load(a64.nop(), a64.hvc(0xBEEF), end=False)
    trap = run(state, mem)
    assert trap.kind is TrapKind.HVC
    assert (ec(trap), il(trap), field(trap, 0, 25)) == (0x16, 1, 0xBEEF)
    assert trap.pc == RAM + 4  # the HVC...
    assert state.pc == RAM + 8  # ...returns to the next instruction


# --- what the sim stops at ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "word",
    [
        0x0000_0000,  # UDF #0
        0xD400_0001,  # SVC #0: an exception to EL1
        0xA940_0BE1,  # LDP: not implemented
        a64.movz(X[0], 1, 32).word & ~(1 << 31),  # 32-bit MOVZ with hw = 2: unallocated
        a64.add(X[0], X[1], X[2]).word | 3 << 22,  # shift type 11 (ROR) is reserved for ADD
    ],
)
def test_unknown_encoding_stops_with_state_unchanged(word: int) -> None:
    state, mem = load(a64.movz(X[3], 3), Insn(word, "?"))
    trap = run(state, mem)
    before = copy.deepcopy(state)
    assert trap.kind is TrapKind.UNDEFINED
    assert (trap.pc, trap.insn, ec(trap), il(trap)) == (RAM + 4, word, 0x00, 1)
    assert trap.describe() == f"unsupported instruction {word:#010x} at pc {RAM + 4:#x}"
    assert run(state, mem) == trap and state == before  # stopping again changes nothing
    assert state.x[3] == 3 and state.pc == RAM + 4


def test_brk_stops_and_says_it_was_a_breakpoint() -> None:
    state, mem = load(a64.brk(0x3E8))
    before = copy.deepcopy(state)
    trap = run(state, mem)
    assert trap.kind is TrapKind.UNDEFINED and state == before
    assert (ec(trap), field(trap, 0, 16)) == (0x3C, 0x3E8)
    assert trap.describe().startswith(f"brk #0x3e8 at pc {RAM:#x}: a breakpoint exception")


def test_unaligned_data_access_is_an_alignment_fault_with_the_mmu_off() -> None:
    state, mem = load(a64.str_(X[1], X[0]))
    state.x[0] = DATA + 4
    before = copy.deepcopy(state)
    trap = run(state, mem)
    assert trap.kind is TrapKind.UNDEFINED and state == before
    assert (ec(trap), field(trap, 6, 1), field(trap, 0, 6)) == (0x25, 1, 0x21)
    assert trap.far == DATA + 4
    assert [a for a in mem.accesses if a[0] == "store"] == []
    assert "alignment fault" in trap.describe()


def test_misaligned_pc_is_a_pc_alignment_fault() -> None:
    state, mem = load(a64.nop())
    state.pc = RAM + 2
    trap = run(state, mem)
    assert trap.kind is TrapKind.UNDEFINED and ec(trap) == 0x22
    assert state.pc == trap.pc == RAM + 2
    assert "not 4-byte aligned" in trap.describe()


def test_budget_counts_retired_instructions() -> None:
    state, mem = load(a64.nop(), a64.nop(), a64.nop())
    trap = run(state, mem, budget=3)
    assert (trap.kind, trap.pc, state.pc) == (TrapKind.BUDGET, RAM + 12, RAM + 12)
    assert run(state, mem, budget=1).kind is TrapKind.SMC  # the SMC itself is not retired


def test_spinning_guest_runs_out_of_budget() -> None:
    asm = Assembler(RAM)
    asm.label("spin")
    asm.b("spin")
    mem = Ram(RAM, 0x1000)
    mem.put(RAM, asm.assemble().image)
    state = CpuState(pc=RAM)
    trap = run(state, mem, budget=50)
    assert (trap.kind, trap.pc) == (TrapKind.BUDGET, RAM)
    assert "budget" in trap.describe()


# --- the demo guests, exit by exit --------------------------------------------------------------


def _boot(program: Program, base: int, size: int) -> tuple[CpuState, Ram]:
    mem = Ram(base, size)
    mem.put(program.load_address, program.image)
    return CpuState(pc=program.entry), mem


def _mmio(trap: Trap, state: CpuState, address: int, write: bool) -> int:
    """Check an MMIO exit to `address`; return the register the access uses."""
    assert trap.kind is TrapKind.DATA_ABORT, trap.describe()
    assert (trap.far, field(trap, 6, 1), 1 << field(trap, 22, 2)) == (address, write, 8)
    return field(trap, 16, 5)


def test_realm_demo_exits_as_the_design_table_says() -> None:
    """Plays KVM + RMM just enough to complete each exit, and checks what the guest did."""
    state, mem = _boot(REALM_DEMO, REALM_RAM_BASE, REALM_RAM_SIZE)
    state.x[:8] = [0xE1E1_0000 + n for n in range(8)]  # x0-x7 as REC_CREATE hands them over
    steps = iter(REALM_DEMO.steps)

    def next_exit() -> Trap:
        trap = run(state, mem, budget=200)
        assert trap.pc == next(steps).exit_pc
        return trap

    # E1, E2: the x0 set before REC creation reaches the UART; x8 (never handed over) is 0.
    for expected in (0xE1E1_0000, 0):
        srt = _mmio(next_exit(), state, REALM_UART_IPA, write=True)
        assert state.x[srt] == expected
        state.pc += 4  # EMULATED_MMIO completion
    # E3: RSI_HOST_CALL on the struct, which holds the forwarded function id.
    trap = next_exit()
    assert trap.kind is TrapKind.SMC and field(trap, 0, 16) == 0
    assert (state.x[0], state.x[1]) == (RSI_HOST_CALL, HOSTCALL_IPA)
    assert struct.unpack("<Q", mem.get(HOSTCALL_IPA + 8, 8)) == (HOSTCALL_FID,)
    host_x = [0x4000 + n for n in range(31)]  # the VMM's x0-x30 after the hypercall
    mem.put(HOSTCALL_IPA + 8, struct.pack("<31Q", *host_x))  # RMM: into the struct's gprs
    state.x[0] = RSI_SUCCESS
    state.pc += 4
    # E4: the struct's gprs[1], as the host returned it.
    srt = _mmio(next_exit(), state, REALM_UART_IPA, write=True)
    assert state.x[srt] == host_x[1]
    state.pc += 4
    # E5, E6: an MMIO read; the data comes back in the following write.
    srt = _mmio(next_exit(), state, REALM_UART_IPA, write=False)
    assert srt == 5
    state.x[5] = 0x55AA
    state.pc += 4
    srt = _mmio(next_exit(), state, REALM_UART_IPA, write=True)
    assert state.x[srt] == 0x55AA
    state.pc += 4
    # E7: RSI_IPA_STATE_SET to RAM on the change range, no flags.
    trap = next_exit()
    assert trap.kind is TrapKind.SMC
    assert state.x[:5] == [RSI_IPA_STATE_SET, RIPAS_CHANGE_BASE, RIPAS_CHANGE_TOP, RIPAS_RAM, 0]
    state.x[:3] = [RSI_SUCCESS, RIPAS_CHANGE_TOP, 0]
    state.pc += 4
    # E8: PSCI SYSTEM_OFF, by SMC.
    trap = next_exit()
    assert trap.kind is TrapKind.SMC and state.x[0] == PSCI_SYSTEM_OFF
    state.pc += 4
    # Nothing after that but `b .`.
    trap = run(state, mem, budget=200)
    assert (trap.kind, trap.pc) == (TrapKind.BUDGET, next(steps).exit_pc)


def test_normal_demo_exits_as_the_design_says() -> None:
    state, mem = _boot(NORMAL_DEMO, NORMAL_RAM_BASE, NORMAL_RAM_SIZE)
    state.x[0] = 0xC0DE
    steps = iter(NORMAL_DEMO.steps)

    def next_exit() -> Trap:
        trap = run(state, mem, budget=200)
        assert trap.pc == next(steps).exit_pc
        return trap

    assert state.x[_mmio(next_exit(), state, NORMAL_UART_IPA, write=True)] == 0xC0DE
    state.pc += 4  # KVM: kvm_incr_pc on MMIO completion
    srt = _mmio(next_exit(), state, NORMAL_UART_IPA, write=False)
    state.x[srt] = 0x1234
    state.pc += 4
    assert state.x[_mmio(next_exit(), state, NORMAL_UART_IPA, write=True)] == 0x1234
    state.pc += 4
    trap = next_exit()
    assert trap.kind is TrapKind.HVC and field(trap, 0, 16) == 0
    assert state.x[0] == PSCI_SYSTEM_OFF
    assert run(state, mem, budget=200).pc == next(steps).exit_pc  # `b .`, already past the HVC
