"""`realmtui batch --format text`: the answers as a readable transcript, one line per answer
(`command -> value / errno — rule`), for a lecturer checking an exercise by eye.

It formats the same answers the JSON mode writes: nothing here asks the session anything.
"""

from __future__ import annotations

from typing import Any


def text_line(number: int, words: str, answer: dict[str, Any]) -> str:
    """One answer as `LINE  COMMAND -> RESULT` (`regs` and `help` add indented lines)."""
    head = f"{number:>4}  {words or '?'} -> "
    if not answer.get("ok"):
        return head + _failure(answer)
    command = answer.get("command")
    if command in ("set", "get"):
        text = f"{answer.get('value')} {answer.get('access', '')}".rstrip()
        why = answer.get("message") if command == "set" else answer.get("reason")
        return head + (f"{text} — {why}" if why else text)
    if command == "run":
        return head + _exit_text(answer["exit"]) + _changed(answer)
    if command == "expect":
        return head + f"ok ({answer.get('actual')})"
    if command == "regs":
        rows = [f"        {r['name']:<18} {r.get('value', r.get('errno')):<20} {r['access']}"
                for r in answer.get("regs", [])]
        return "\n".join([head + f"{len(rows)} registers", *rows])
    if command == "help":
        rows = [f"        {k:<16} {v}" for k, v in answer.get("commands", {}).items()]
        return "\n".join([head + "commands", *rows])
    if command == "state":
        last = answer.get("exit")
        exit_text = _exit_text(last) if last else "no exit yet"
        return head + (f"{answer.get('vm')} · {answer.get('profile')} · {answer.get('backend')}"
                       f" · {answer.get('stage')} · {exit_text}")
    message = answer.get("message", "ok")
    stage = answer.get("stage")
    return head + (f"{message} (stage {stage})" if stage and command != "restart" else message)


def _failure(answer: dict[str, Any]) -> str:
    errno = answer.get("errno")
    if errno and answer.get("rule") and answer.get("command") != "undo":
        return f"{errno} — {answer['rule']} ({answer.get('source', '')})"
    error = answer.get("error", "failed")
    if answer.get("command") == "expect":
        return f"FAILED: {error}"
    return f"error: {error}"


def _exit_text(exit_json: dict[str, Any]) -> str:
    skip = {"number", "reason", "cause", "rmi", "step"}
    fields = " ".join(f"{k} {str(v).lower() if isinstance(v, bool) else v}"
                      for k, v in exit_json.items() if k not in skip)
    text = f"E{exit_json.get('number')} KVM_EXIT_{exit_json.get('reason')}"
    return f"{text} ({fields})" if fields else text


def _changed(answer: dict[str, Any]) -> str:
    changed = answer.get("changed") or []
    return f" · changed {', '.join(changed)}" if changed else ""
