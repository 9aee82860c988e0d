"""Your own guest: a raw image or an ELF64 AArch64 executable, loaded as the VMM loads the
demos (one RAM region at guests.*_RAM_BASE; the image populated before the first run).

Every check says what is wrong with the file in one line; nothing is half-loaded.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from backends import guests

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile

EM_AARCH64 = 183  # ELF e_machine (the AArch64 ELF ABI, "ELF Header")
PT_LOAD = "PT_LOAD"


class GuestFileError(ValueError):
    """The guest file cannot be loaded; the message says why."""


@dataclass(frozen=True)
class RamRange:
    base: int
    size: int

    @property
    def top(self) -> int:
        return self.base + self.size

    def holds(self, start: int, end: int) -> bool:
        return self.base <= start <= end <= self.top


def ram_of(realm: bool) -> RamRange:
    if realm:
        # Only the part the VMM sets to RIPAS RAM before populating can hold the image.
        return RamRange(guests.REALM_RAM_BASE, guests.REALM_INIT_RIPAS_SIZE)
    return RamRange(guests.NORMAL_RAM_BASE, guests.NORMAL_RAM_SIZE)


def load_guest(
    path: str | Path, *, realm: bool, load_addr: int | None = None, entry: int | None = None
) -> guests.Program:
    """A Program from `path`: ELF64 AArch64 when it starts with the ELF magic, else raw."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise GuestFileError(f"cannot read guest {p}: {e.strerror or e}") from None
    if not data:
        raise GuestFileError(f"guest {p} is empty")
    ram = ram_of(realm)
    if data[:4] == b"\x7fELF":
        if load_addr is not None:
            raise GuestFileError("--load-addr is for raw images; an ELF says where it loads")
        return _from_elf(p, data, ram, entry)
    return _from_raw(p, data, ram, load_addr, entry)


def _from_raw(
    p: Path, data: bytes, ram: RamRange, load_addr: int | None, entry: int | None
) -> guests.Program:
    base = ram.base if load_addr is None else load_addr
    start = base if entry is None else entry
    if not ram.holds(base, base + len(data)):
        raise GuestFileError(
            f"raw image {p} ({len(data):#x} bytes at {base:#x}) does not fit in guest RAM "
            f"[{ram.base:#x}, {ram.top:#x})"
        )
    _check_entry(start, [(base, base + len(data))])
    return guests.Program(p.name, base, start, data, (), ())


def _from_elf(p: Path, data: bytes, ram: RamRange, entry: int | None) -> guests.Program:
    # Imported here: the CLI imports this module, and a bare Python (the arm64 tier's guest)
    # runs raw images without pyelftools.
    try:
        from elftools.common.exceptions import ELFError
        from elftools.elf.elffile import ELFFile
    except ImportError:
        raise GuestFileError(f"{p} is an ELF file: reading it needs pyelftools") from None
    try:
        elf = ELFFile(io.BytesIO(data))
        if elf.elfclass != 64 or not elf.little_endian:
            raise GuestFileError(f"{p} is not a little-endian ELF64 file")
        if elf["e_machine"] not in ("EM_AARCH64", EM_AARCH64):
            raise GuestFileError(f"{p} is an ELF for {elf['e_machine']}, not AArch64")
        segments = []
        for seg in elf.iter_segments():
            if seg["p_type"] != PT_LOAD or seg["p_memsz"] == 0:
                continue
            body = seg.data()
            if len(body) != seg["p_filesz"]:
                raise GuestFileError(f"{p} is truncated: a segment runs past the end of the file")
            segments.append((seg["p_paddr"], seg["p_memsz"], body))
        start = elf["e_entry"] if entry is None else entry
        symbols = _symbols(elf)
    except (ELFError, ValueError, OSError) as e:
        if isinstance(e, GuestFileError):
            raise
        raise GuestFileError(f"{p} is not a valid ELF file ({e})") from None
    except Exception as e:  # pyelftools raises struct errors on a cut-short header
        raise GuestFileError(f"{p} is truncated or corrupt ({type(e).__name__}: {e})") from None
    if not segments:
        raise GuestFileError(f"{p} has no loadable segment")
    for addr, size, _ in segments:
        if not ram.holds(addr, addr + size):
            raise GuestFileError(
                f"{p}: segment [{addr:#x}, {addr + size:#x}) is outside guest RAM "
                f"[{ram.base:#x}, {ram.top:#x})"
            )
    _check_entry(start, [(a, a + s) for a, s, _ in segments])
    base = min(a for a, _, _ in segments)
    image = bytearray(max(a + len(b) for a, _, b in segments) - base)
    for addr, _, body in segments:
        image[addr - base : addr - base + len(body)] = body
    return guests.Program(p.name, base, start, bytes(image), (), (), symbols)


def _symbols(elf: ELFFile) -> tuple[tuple[int, int, str], ...]:
    """Functions and objects from .symtab, by address (for the disassembly's labels)."""
    table = elf.get_section_by_name(".symtab")
    if table is None:
        return ()
    out = []
    for sym in table.iter_symbols():  # type: ignore[attr-defined]
        kind = sym["st_info"]["type"]
        if sym.name and kind in ("STT_FUNC", "STT_OBJECT", "STT_NOTYPE") and sym["st_value"]:
            if sym.name.startswith("$"):  # mapping symbols ($x, $d) name no code
                continue
            out.append((int(sym["st_value"]), int(sym["st_size"]), sym.name))
    # Sized symbols first at an address, so a function wins over a bare label.
    return tuple(sorted(out, key=lambda s: (s[0], -s[1])))


def _check_entry(entry: int, ranges: list[tuple[int, int]]) -> None:
    if entry % 4:
        raise GuestFileError(f"entry {entry:#x} is not 4-byte aligned")
    if not any(lo <= entry < hi for lo, hi in ranges):
        spans = ", ".join(f"[{lo:#x}, {hi:#x})" for lo, hi in ranges)
        raise GuestFileError(f"entry {entry:#x} is outside the image ({spans})")
