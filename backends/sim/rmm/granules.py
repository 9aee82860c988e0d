"""A realm's memory, which belongs to the RMM.

Protected granules live here, not in the VMM's pages: RMI_DATA_CREATE copies the initial
image in, and from then on the host never sees what the guest writes (TF-RMM
runtime/rmi/rtt.c and data.c). Each protected granule has a RIPAS (EMPTY or RAM).

One simplification: a protected RAM granule the host has not populated is backed with zeros
as soon as its RIPAS is RAM, as if the host had answered the stage-2 fault with
RMI_DATA_CREATE_UNKNOWN at once. The unprotected half of the IPA space has no mappings, so
every access there is an emulatable abort that reaches the host (the demo's UART).
"""

from __future__ import annotations

from backends.arch import GRANULE_SIZE as GRANULE
from backends.sim.cpu import Region, buffer_address
from backends.smccc import RIPAS_EMPTY, RIPAS_RAM

# Protected memory is kept in blocks of this size, so that the CPU maps a run of RAM granules
# as one region instead of one region per granule.
_BLOCK = 0x20_0000


class RealmMemory:
    def __init__(self, ipa_width: int) -> None:
        self.ipa_width = ipa_width
        self.unprotected_bit = 1 << (ipa_width - 1)
        self._blocks: dict[int, tuple[bytearray, int, object]] = {}  # storage, address, export
        self._ripas: dict[int, int] = {}
        self._regions: tuple[Region, ...] | None = None

    def is_protected_range(self, base: int, top: int) -> bool:
        return (
            base % GRANULE == 0
            and top % GRANULE == 0
            and base < top
            and top <= self.unprotected_bit
        )

    def in_par(self, ipa: int) -> bool:
        """Inside the Protected Address Range: the lower half of the IPA space."""
        return ipa < self.unprotected_bit

    def set_ripas(self, base: int, top: int, ripas: int) -> None:
        for g in range(base, top, GRANULE):
            self._ripas[g] = ripas
            if ripas == RIPAS_EMPTY and (g & ~(_BLOCK - 1)) in self._blocks:
                self._granule_bytes(g)[:] = bytes(GRANULE)  # an EMPTY granule's data is gone
        self._regions = None

    def ripas_of(self, ipa: int) -> int:
        return self._ripas.get(ipa & ~(GRANULE - 1), RIPAS_EMPTY)

    def write_granule(self, ipa: int, data: bytes) -> None:
        self._granule_bytes(ipa)[:] = data.ljust(GRANULE, b"\0")[:GRANULE]

    def _block(self, ipa: int) -> tuple[bytearray, int, object]:
        base = ipa & ~(_BLOCK - 1)
        block = self._blocks.get(base)
        if block is None:
            buf = bytearray(_BLOCK)
            addr, export = buffer_address(buf)
            block = self._blocks[base] = (buf, addr, export)
        return block

    def _granule_bytes(self, ipa: int) -> memoryview:
        buf = self._block(ipa)[0]
        off = (ipa & ~(GRANULE - 1)) % _BLOCK
        return memoryview(buf)[off : off + GRANULE]

    def _granule(self, ipa: int) -> memoryview | None:
        if ipa & self.unprotected_bit or self.ripas_of(ipa) != RIPAS_RAM:
            return None
        return self._granule_bytes(ipa)

    def regions(self) -> tuple[Region, ...]:
        """The realm's protected RAM for the CPU: runs of granules whose RIPAS is RAM."""
        if self._regions is None:
            out: list[Region] = []
            for ipa in sorted(g for g, ripas in self._ripas.items() if ripas == RIPAS_RAM):
                if ipa & self.unprotected_bit:
                    continue
                buf, addr, export = self._block(ipa)
                host = addr + ipa % _BLOCK
                last = out[-1] if out else None
                if last and last.ipa + last.size == ipa and last.host + last.size == host:
                    out[-1] = Region(last.ipa, last.size + GRANULE, last.host, keep=last.keep)
                else:
                    out.append(Region(ipa, GRANULE, host, keep=(buf, export)))
            self._regions = tuple(out)
        return self._regions

    def read(self, ipa: int, size: int) -> bytes | None:
        out = bytearray()
        while size:
            g = self._granule(ipa)
            if g is None:
                return None
            off = ipa % GRANULE
            n = min(size, GRANULE - off)
            out += g[off : off + n]
            ipa += n
            size -= n
        return bytes(out)

    def write(self, ipa: int, data: bytes) -> bool:
        while data:
            g = self._granule(ipa)
            if g is None:
                return False
            off = ipa % GRANULE
            n = min(len(data), GRANULE - off)
            g[off : off + n] = data[:n]
            ipa += n
            data = data[n:]
        return True

    def for_realm(self) -> RealmView:
        return RealmView(self)


class RealmView:
    """The realm's own view of its memory, as the CPU maps it: protected RAM only; the
    unprotected half has no mappings, so every access there is a stage-2 fault."""

    def __init__(self, mem: RealmMemory) -> None:
        self.mem = mem

    def regions(self) -> tuple[Region, ...]:
        return self.mem.regions()
