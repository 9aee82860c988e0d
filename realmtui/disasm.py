"""Disassembly around pc (capstone), from memory the host may read.

A normal VM's RAM is the VMM's own mapping, so both backends can show it. A realm's protected
memory is not the host's: the kvm backend says so, and the sim shows it from the RMM's own
copy (the confidential peek), labelled "sim only" -- with the REC's real pc, not KVM's stale
copy. Addresses are IPAs: a guest that turns its MMU on is shown correctly where it maps
code at the same address (identity-mapped).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from backends import reg_ids

if TYPE_CHECKING:  # the values above are drawn by widgets/, which must not reach the Session
    from realmtui.session import Session

SIM_ONLY = "sim only: the realm's protected memory, read from the RMM"
HOST_MEMORY = "guest RAM, read from the VMM's mapping"
NO_PROTECTED = (
    "the host cannot read a realm's protected memory: only the RMM holds the guest's code "
    "(the sim backend can show it, labelled sim only)"
)


@dataclass(frozen=True)
class DisasmLine:
    address: int
    encoding: int
    text: str  # "mov x0, #1", or ".inst 0x..." for what capstone cannot decode
    symbol: str | None  # from the ELF guest's symbols
    current: bool


@dataclass(frozen=True)
class Disassembly:
    pc: int | None
    lines: tuple[DisasmLine, ...]
    source: str  # where the bytes came from (SIM_ONLY for a realm on the sim)
    note: str | None = None  # why there is nothing to show

    def text(self) -> str:
        if self.note:
            return self.note
        out = [f"[{self.source}]"]
        for line in self.lines:
            mark = "=>" if line.current else "  "
            label = f" <{line.symbol}>" if line.symbol else ""
            out.append(f"{mark} {line.address:#012x}{label}: {line.encoding:08x}  {line.text}")
        return "\n".join(out)


@cache
def _capstone() -> Any:
    """capstone's A64 decoder, or None. Imported on first use: batch imports this module, and
    a bare Python (the arm64 tier's guest) has no capstone."""
    try:
        import capstone
    except ImportError:
        return None
    return capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)


NO_CAPSTONE = "disassembly needs capstone (pip install capstone)"


def at_pc(session: Session, before: int = 4, after: int = 8) -> Disassembly:
    """`before` instructions ahead of pc and `after` from it, pc's marked."""
    cs = _capstone()
    if cs is None:
        return Disassembly(None, (), "", NO_CAPSTONE)
    pc, read, source = _reader(session)
    if read is None:
        return Disassembly(pc, (), "", NO_PROTECTED if source == "" else source)
    if pc is None:
        return Disassembly(pc, (), source, "pc is unknown")
    start = max(0, pc - 4 * before)
    data = read(start, 4 * (before + after))
    if data is None:
        # Clamp to what is readable: the window may run off either end of RAM.
        data = read(pc, 4 * after)
        start = pc
    if data is None:
        return Disassembly(pc, (), source, f"nothing readable at pc {pc:#x}")
    program = session.machine.program if session.machine is not None else None
    lines = []
    for off in range(0, len(data) - 3, 4):
        addr = start + off
        word = int.from_bytes(data[off : off + 4], "little")
        insn = next(cs.disasm(data[off : off + 4], addr), None)
        text = f"{insn.mnemonic} {insn.op_str}".strip() if insn else f".inst {word:#010x}"
        symbol = program.symbol_at(addr) if program is not None else None
        lines.append(DisasmLine(addr, word, text, symbol, addr == pc))
    return Disassembly(pc, tuple(lines), source)


def _reader(session: Session):  # type: ignore[no-untyped-def]
    """(pc, read(ipa, size) -> bytes | None, source label)."""
    machine = session.machine
    if machine is None:
        return None, None, "no VM"
    if not session.realm:
        try:
            pc = session.vcpu.get_reg(reg_ids.PC)
        except Exception:  # noqa: BLE001 -- a vCPU that cannot be read has no pc to show
            pc = None
        return pc, machine.read_shared, HOST_MEMORY  # an agent's VM: read over there
    inspector = session.inspector
    if inspector is None:
        return None, None, ""
    view = inspector.rec_now(session.vcpu.fd)
    if view is None:
        return None, None, "no REC yet"
    fd = session.vcpu.fd

    def read(ipa: int, size: int) -> bytes | None:
        return inspector.read_protected(fd, ipa, size)

    return view.regs.get(reg_ids.PC), read, SIM_ONLY
