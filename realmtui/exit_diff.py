"""Comparing two points of a session (two exits, or an exit and now): the registers whose
value or verdict differs, with both sides. Pure: it reads Snapshots, it never asks the kernel."""

from __future__ import annotations

from dataclasses import dataclass

from realmtui.model import RegView, Snapshot


@dataclass(frozen=True)
class RegDiff:
    name: str
    before: RegView | None  # None: the register was not listed at that point
    after: RegView | None

    @property
    def value_changed(self) -> bool:
        return _value(self.before) != _value(self.after)


def _value(row: RegView | None) -> int | None:
    return None if row is None else row.value


def diff(a: Snapshot, b: Snapshot) -> list[RegDiff]:
    """Registers in list order whose value, readability or verdict differs between a and b."""
    before, after = a.by_id(), b.by_id()
    order = [r.id for r in b.regs] + [i for i in (r.id for r in a.regs) if i not in after]
    out = []
    for reg_id in order:
        x, y = before.get(reg_id), after.get(reg_id)
        if x is not None and y is not None and (
            x.value == y.value and x.read_errno == y.read_errno
            and x.verdict.access == y.verdict.access
        ):
            continue
        name = (y or x).info.name  # type: ignore[union-attr]
        out.append(RegDiff(name, x, y))
    return out


def find(history: list[Snapshot], which: str) -> Snapshot | None:
    """`which`: an exit number (0 is the start), `E3` as the app labels it, or `now`."""
    if not history:
        return None
    text = which.strip().lower()
    if text == "now":
        return history[-1]
    text = text.removeprefix("e")
    if not text.isdigit():
        return None
    n = int(text)
    return next((s for s in history if s.index == n), None)
