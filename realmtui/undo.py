"""Undo: write back the value a register held before the last successful edit, through the
same KVM_SET_ONE_REG path (check, write, read back), and say truthfully what the revert does
now -- the kernel may refuse it, or take it while nothing reads it any more.

An edit is undone only by a new write: a write that already reached the guest (the guest ran
since) cannot be taken back, and the answer says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from realmtui.model import SetOutcome, Stage
from realmtui.values import format_value
from realmtui.verdict import Access

if TYPE_CHECKING:
    from realmtui.session import Session


@dataclass(frozen=True)
class EditDone:
    """A successful edit, as undo needs it."""

    reg_id: int
    old: int | None  # what the register read before (None: the read failed)
    new: int
    exits: int  # how many exits had happened when it was made
    stage: Stage


def undo(session: Session) -> SetOutcome:
    """Revert the last successful edit not yet undone; the outcome says what really
    happened (a refused revert keeps the edited value and the errno)."""
    if not session.done_edits:
        return SetOutcome(False, None, "nothing to undo: no edit since the VM was built",
                          input_error=True)
    edit = session.done_edits[-1]
    from realmtui.regs import describe

    info = describe(edit.reg_id)
    if edit.old is None:
        return SetOutcome(False, info, f"cannot undo {info.name}: its value before the edit "
                          "could not be read", input_error=True)
    moved = _moved_on(session, edit)
    count = len(session.done_edits)
    o = session.set(edit.reg_id, edit.old, action="undo")
    old_text = format_value(edit.old, info.bits)
    if not o.ok:
        # The edit stays: keep it on the stack, so a later undo (after a restart, say) is
        # not silently skipped.
        return replace(o, message=f"undo refused: {info.name} keeps "
                       f"{format_value(edit.new, info.bits)} — {o.message}{moved}")
    # The revert is itself an edit: drop it and the edit it reverted, so the next undo goes
    # one further back.
    del session.done_edits[count - 1:]
    if o.value != edit.old:
        text = f"undo: wrote {old_text} back, but {info.name} reads {o.value:#x} — {o.message}"
    elif o.verdict is not None and o.verdict.access is Access.IGNORED:
        text = (f"undo: {info.name} is {old_text} again in KVM's copy, but that is ignored now "
                f"— {o.verdict.reason}{moved}")
    else:
        text = f"undo: {info.name} is {old_text} again ({o.message}){moved}"
    return replace(o, message=text)


def _moved_on(session: Session, edit: EditDone) -> str:
    """What changed since the edit that a revert cannot undo."""
    ran = len(session.exits) - edit.exits
    if ran > 0:
        return (f"; the guest has run {ran} exit{'s' if ran > 1 else ''} since the edit, so "
                "what it saw then stays seen")
    if session.stage is not edit.stage:
        return f"; the realm went from {edit.stage.label} to {session.stage.label} since"
    return ""
