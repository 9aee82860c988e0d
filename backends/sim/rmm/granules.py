"""A realm's memory, which belongs to the RMM.

Protected granules live here, not in the VMM's pages: RMI_DATA_CREATE copies the initial
image in, and from then on the host never sees what the guest writes (TF-RMM
runtime/rmi/rtt.c and data.c). Each protected granule has a RIPAS (EMPTY or RAM).

One simplification: a protected RAM granule the host has not populated is backed with zeros
on first touch, as if the host had answered the stage-2 fault with RMI_DATA_CREATE_UNKNOWN
at once. The unprotected half of the IPA space has no mappings, so every access there is
an emulatable abort that reaches the host (the demo's UART).
"""

from __future__ import annotations

from backends.arch import GRANULE_SIZE as GRANULE
from backends.smccc import RIPAS_EMPTY, RIPAS_RAM


class RealmMemory:
    def __init__(self, ipa_width: int) -> None:
        self.ipa_width = ipa_width
        self.unprotected_bit = 1 << (ipa_width - 1)
        self._granules: dict[int, bytearray] = {}
        self._ripas: dict[int, int] = {}

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
            if ripas == RIPAS_EMPTY:
                self._granules.pop(g, None)

    def ripas_of(self, ipa: int) -> int:
        return self._ripas.get(ipa & ~(GRANULE - 1), RIPAS_EMPTY)

    def write_granule(self, ipa: int, data: bytes) -> None:
        self._granules[ipa] = bytearray(data.ljust(GRANULE, b"\0")[:GRANULE])

    def _granule(self, ipa: int) -> bytearray | None:
        if ipa & self.unprotected_bit or self.ripas_of(ipa) != RIPAS_RAM:
            return None
        base = ipa & ~(GRANULE - 1)
        return self._granules.setdefault(base, bytearray(GRANULE))

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
    """The realm's own view of its memory, as the CPU interpreter accesses it."""

    def __init__(self, mem: RealmMemory) -> None:
        self.mem = mem

    def load(self, ipa: int, size: int) -> int | None:
        data = self.mem.read(ipa, size)
        return None if data is None else int.from_bytes(data, "little")

    def store(self, ipa: int, size: int, value: int) -> bool:
        data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        return self.mem.write(ipa, data)
