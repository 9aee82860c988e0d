"""Command palette (ctrl+p): jump to a register by name."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from realmtui.model import RegView


class RegisterHost(Protocol):
    """What the provider needs from the app (kept abstract: widgets don't import the app)."""

    def palette_registers(self) -> Sequence[RegView]: ...

    def jump_to(self, reg_id: int) -> None: ...


class RegisterCommands(Provider):
    """`Go to x1`, `Go to SCTLR_EL1`, …: every listed register, searched by name."""

    @property
    def host(self) -> RegisterHost:
        return cast(RegisterHost, self.app)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for reg in self.host.palette_registers():
            command = f"Go to {reg.info.name}"
            score = matcher.match(command)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(command), partial(self.host.jump_to, reg.id),
                    help=f"{reg.info.group} · write now: {reg.verdict.access}",
                )

    async def discover(self) -> Hits:
        # A few, so the empty palette shows what this provider is for.
        for reg in list(self.host.palette_registers())[:3]:
            yield DiscoveryHit(
                f"Go to {reg.info.name}", partial(self.host.jump_to, reg.id),
                help="type a register name to jump to it",
            )
