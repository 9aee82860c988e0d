"""`expect` in `realmtui batch`: a line stating what the walk must have reached, so an exercise
or a kernel check fails loudly (under --strict, with its line number) when it does not.

    expect x0 0x1111          the register reads this value now (KVM_GET_ONE_REG)
    expect errno EINVAL       the previous command failed with this errno (`none`: it did not)
    expect exit MMIO          the last exit's KVM_EXIT_ reason (`none`: no exit yet)
    expect access x0 ignored  the verdict a write to the register would get now
    expect stage active       the lifecycle stage
"""

from __future__ import annotations

from typing import Any

from realmtui.regs import UnknownRegister
from realmtui.rules import verdict
from realmtui.session import Session
from realmtui.values import BadValue, format_value, parse_value
from realmtui.verdict import Access

USAGE = ("expect REG VALUE | expect errno NAME|none | expect exit REASON|none | "
         "expect access REG VERDICT | expect stage STAGE")


def check(session: Session, args: list[str], previous: dict[str, Any] | None) -> dict[str, Any]:
    """The answer to one `expect` line: ok when the state matches, else what it is."""
    if len(args) == 2 and args[0].lower() == "errno":
        return _errno(args[1], previous)
    if len(args) == 2 and args[0].lower() == "exit":
        return _exit(session, args[1])
    if len(args) == 2 and args[0].lower() == "stage":
        actual = str(session.stage)
        return _answer(args[1].lower() == actual, f"stage {args[1]}", f"stage {actual}")
    if len(args) == 3 and args[0].lower() == "access":
        return _access(session, args[1], args[2])
    if len(args) == 2:
        return _value(session, args[0], args[1])
    return {"ok": False, "error": f"expected: {USAGE}"}


def _answer(ok: bool, expected: str, actual: str) -> dict[str, Any]:
    out: dict[str, Any] = {"ok": ok, "expected": expected, "actual": actual}
    if not ok:
        out["error"] = f"expected {expected}, but {actual}"
    return out


def _errno(name: str, previous: dict[str, Any] | None) -> dict[str, Any]:
    if previous is None:
        return {"ok": False, "error": "expect errno: no command before it to check"}
    actual = previous.get("errno") or "none"
    want = name.upper() if name.lower() != "none" else "none"
    return _answer(actual == want, f"errno {want}",
                   f"`{previous.get('command')}` answered errno {actual}")


def _exit(session: Session, reason: str) -> dict[str, Any]:
    last = session.exits[-1] if session.exits else None
    actual = last.exit.name if last else "none"
    want = reason.upper().removeprefix("KVM_EXIT_")
    shown = f"the last exit is E{last.number} {actual}" if last else "no exit yet"
    return _answer(want == actual.upper() if last else want == "NONE", f"exit {want}", shown)


def _value(session: Session, reg: str, text: str) -> dict[str, Any]:
    try:
        info = session.resolve(reg)
        want = parse_value(text, info.bits)
    except (UnknownRegister, BadValue) as e:
        return {"ok": False, "error": str(e)}
    value, err = session.read(info.id)
    expected = f"{info.name} = {format_value(want, info.bits)}"
    if value is None:
        return _answer(False, expected, f"reading {info.name} failed with {err}")
    return _answer(value == want, expected,
                   f"{info.name} is {format_value(value, info.bits)}")


def _access(session: Session, reg: str, word: str) -> dict[str, Any]:
    try:
        info = session.resolve(reg)
    except UnknownRegister as e:
        return {"ok": False, "error": str(e)}
    try:
        want = Access(word.lower())
    except ValueError:
        return {"ok": False, "error": f"{word!r} is not a verdict: "
                + ", ".join(a.value for a in Access)}
    v = verdict(info, session.context)
    return _answer(v.access is want, f"{info.name} {want}",
                   f"{info.name} is {v.access} now ({v.reason})")
