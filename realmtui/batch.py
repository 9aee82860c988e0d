"""`realmtui batch`: one command per line in, one JSON object per line out.

For people who write exercises or check kernels. Every answer has "ok" and the number of the
line it answers; a failure has "error" and, when the kernel refused, "errno" and the rule
("rule", "source").

The grammar is strict, so a typo is an error rather than a guess: a line is a command and its
arguments, words of printable ASCII separated by spaces or tabs; no quotes, no escapes. A `#`
starts a comment that runs to the end of the line (anywhere on it); a line that is only a
comment, and a blank line, are skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO, TextIO

from backends.ioctl_log import IoctlRecord
from realmtui import disasm, exit_diff, export
from realmtui.batch_input import InputLine, read_lines
from realmtui.ioctl_view import record_json
from realmtui.regs import UnknownRegister
from realmtui.session import ExitInfo, RegView, RunOutcome, Session, SessionError, SetOutcome
from realmtui.values import format_value

COMMANDS: dict[str, str] = {
    "regs": "every listed register with its value and verdict",
    "get REG": "one register (a name such as x0 or SCTLR_EL1, or a 0x6... id)",
    "set REG VALUE": "write a register (decimal or 0x-hex) and read it back",
    "run": "KVM_RUN to the next exit",
    "mmio VALUE": "the data a pending MMIO read returns (kvm_run.mmio.data)",
    "create": "create the realm, INIT_RIPAS and populate its image",
    "finalize": "create the REC (KVM_ARM_VCPU_FINALIZE)",
    "activate": "activate the realm",
    "state": "the VM, its lifecycle stage and the last exit",
    "restart": "throw the VM away and build it again",
    "undo": "write back the value before the last successful edit (and say what that does now)",
    # One usage per key (help, and the hardening tests, read it as the command's grammar);
    # the other forms are in the description.
    "expect REG VALUE": "fail (under --strict) unless the register reads VALUE; also expect "
                        "errno NAME|none, exit REASON|none, access REG VERDICT, stage STAGE",
    "diff N M": "the registers that differ between exit N and exit M (0: the start; now)",
    "disasm": "the instructions around pc (a realm's only on the sim, labelled sim only)",
    "export FILE": "the register grid as it is now, to FILE (.csv: CSV, else JSON)",
    "ioctls [N]": "every ioctl of the session so far (or the last N), decoded",
    "help": "this list",
}


class LineError:
    def __init__(self, message: str) -> None:
        self.message = message


_WORD_SEP = re.compile(r"[ \t]+")
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e\t]")
_QUOTES = re.compile(r"[\"'\\`]")


def split_words(line: str) -> list[str] | LineError:
    """The words of a batch line, or why it is not one (linear in the line's length). A
    comment is cut off first, so it may hold any text."""
    line = line.split("#", 1)[0].strip(" \t")
    if not line:
        return []
    if bad := _NOT_PRINTABLE.search(line):
        char = bad.group()
        kind = "control" if ord(char) < 0x20 or ord(char) == 0x7F else "non-ASCII"
        return LineError(
            f"{kind} character U+{ord(char):04X} at column {bad.start() + 1}: a batch line is "
            "printable ASCII (commands, register names and values)"
        )
    if bad := _QUOTES.search(line):
        return LineError(
            f"{bad.group()} at column {bad.start() + 1}: batch has no quotes or escapes; write "
            "the words separated by spaces, e.g. set x1 0x12"
        )
    return _WORD_SEP.split(line)


def reg_json(row: RegView) -> dict[str, Any]:
    info = row.info
    out: dict[str, Any] = {
        "id": info.hex_id,
        "name": info.name,
        "size": info.size,
        "group": str(info.group),
    }
    if row.value is not None:
        out["value"] = format_value(row.value, info.bits)
    else:
        out["errno"] = row.read_errno
    out["access"] = str(row.verdict.access)
    out["reason"] = row.verdict.reason
    out["source"] = row.verdict.source
    if row.real is not None:
        out["real"] = format_value(row.real, info.bits)  # simulation only
    return out


def exit_json(info: ExitInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"number": info.number, "reason": info.exit.name}
    out |= info.exit.fields()
    if info.exit.errno is not None:
        import errno

        out["ret_errno"] = errno.errorcode.get(info.exit.errno, str(info.exit.errno))
    out["cause"] = str(info.cause)
    out["rmi"] = info.rmi_reason
    if info.step:
        out["step"] = info.step
    return out


def _side(row: RegView | None) -> dict[str, Any] | None:
    if row is None:
        return None
    out: dict[str, Any] = {"access": str(row.verdict.access)}
    if row.value is not None:
        out["value"] = format_value(row.value, row.info.bits)
    else:
        out["errno"] = row.read_errno
    return out


def stream_ioctl_log(session: Session, f: TextIO) -> None:
    """`--ioctl-log FILE`: one JSON object per ioctl of the session, those made so far and
    then each as it is made (so the file holds them all, however long the session)."""
    log = session.ioctl_log

    def write(rec: IoctlRecord) -> None:
        f.write(json.dumps(record_json(rec)) + "\n")

    for rec in log:
        write(rec)
    log.sink = write


class Batch:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.handlers: dict[str, Callable[[list[str]], dict[str, Any]]] = {
            "regs": self.regs,
            "get": self.get,
            "set": self.set,
            "run": self.run,
            "mmio": self.mmio,
            "create": lambda a: self._step(a, self.session.create),
            "finalize": lambda a: self._step(a, self.session.finalize),
            "activate": lambda a: self._step(a, self.session.activate),
            "state": self.state,
            "restart": self.restart,
            "expect": self.expect,
            "undo": self.undo,
            "help": self.help,
            "ioctls": self.ioctls,
            "diff": self.diff,
            "disasm": self.disasm,
            "export": self.export,
        }
        self.previous: dict[str, Any] | None = None  # the last answer but for expect's
        self.words = ""  # the last line's command, as a transcript shows it

    def handle(self, line: str) -> dict[str, Any] | None:
        words = split_words(line)
        if isinstance(words, LineError):
            self.words = ""
            return {"command": None, "ok": False, "error": words.message}
        if not words:
            return None
        self.words = " ".join(words)
        answer = self._answer(words)
        if answer.get("command") != "expect":
            self.previous = answer
        return answer

    def _answer(self, words: list[str]) -> dict[str, Any]:
        cmd, args = words[0].lower(), words[1:]
        handler = self.handlers.get(cmd)
        if handler is None:
            return {
                "command": cmd,
                "ok": False,
                "error": f"unknown command {cmd!r}: expected one of "
                + ", ".join(c.split()[0] for c in COMMANDS),
            }
        try:
            answer = handler(args)
        except SessionError as e:
            answer = {"ok": False, "error": str(e)}
        return {"command": cmd} | answer

    # --- commands --------------------------------------------------------------------------------
    def _arity(self, args: list[str], n: int, usage: str) -> dict[str, Any] | None:
        if len(args) != n:
            return {"ok": False, "error": f"expected: {usage}"}
        return None

    def ioctls(self, args: list[str]) -> dict[str, Any]:
        """The session's ioctls so far, decoded; `ioctls N`: the last N."""
        # A count is short: int() of 4301+ digits raises (issue 12 item 5).
        if len(args) > 1 or (args and not (args[0].isdigit() and len(args[0]) <= 9)):
            return {"ok": False, "error": "usage: ioctls [N] (N: how many of the newest)"}
        records = list(self.session.ioctl_log)
        if args:
            records = records[-int(args[0]):] if int(args[0]) else []
        return {"ok": True, "ioctls": [record_json(r) for r in records]}

    def diff(self, args: list[str]) -> dict[str, Any]:
        if len(args) != 2 or any(len(a) > 9 for a in args):  # no int() of 4301+ digits
            usage = "usage: diff N M (exit numbers, 0 for the start, or now)"
            return {"ok": False, "error": usage}
        history = self.session.history
        points = [exit_diff.find(history, a) for a in args]
        for arg, snap in zip(args, points, strict=True):
            if snap is None:
                have = ", ".join(str(s.index) for s in history)
                return {"ok": False, "error": f"no exit {arg!r}: this session has {have}, now"}
        a, b = points
        assert a is not None and b is not None
        return {
            "ok": True, "from": a.label, "to": b.label,
            "regs": [
                {"name": d.name, "from": _side(d.before), "to": _side(d.after)}
                for d in exit_diff.diff(a, b)
            ],
        }

    def export(self, args: list[str]) -> dict[str, Any]:
        if bad := self._arity(args, 1, "export FILE"):
            return bad
        try:
            path = export.write(self.session.current, args[0])
        except OSError as e:
            return {"ok": False, "error": f"cannot write {args[0]}: {e.strerror or e}"}
        return {"ok": True, "message": f"the grid went to {path}", "file": str(path)}

    def disasm(self, args: list[str]) -> dict[str, Any]:
        if bad := self._arity(args, 0, "disasm"):
            return bad
        d = disasm.at_pc(self.session)
        if d.note:
            return {"ok": False, "error": d.note}
        return {
            "ok": True, "source": d.source, "pc": f"0x{d.pc:x}" if d.pc is not None else None,
            "lines": [
                {"address": f"0x{ln.address:x}", "insn": ln.text, "current": ln.current,
                 **({"symbol": ln.symbol} if ln.symbol else {})}
                for ln in d.lines
            ],
        }

    def help(self, args: list[str]) -> dict[str, Any]:
        if bad := self._arity(args, 0, "help"):
            return bad
        return {"ok": True, "commands": COMMANDS}

    def regs(self, args: list[str]) -> dict[str, Any]:
        if bad := self._arity(args, 0, "regs"):
            return bad
        out: dict[str, Any] = {"ok": True, "regs": [reg_json(r) for r in self.session.current.regs]}
        if self.session.list_note:  # the kernel would not list them (profile seed, say)
            out["note"] = self.session.list_note
        return out

    def get(self, args: list[str]) -> dict[str, Any]:
        if bad := self._arity(args, 1, "get REG"):
            return bad
        try:
            info = self.session.resolve(args[0])
        except UnknownRegister as e:
            return {"ok": False, "error": str(e)}
        value, err = self.session.read(info.id)
        from realmtui.rules import verdict

        v = verdict(info, self.session.context)
        out: dict[str, Any] = {"reg": info.name, "id": info.hex_id, "size": info.size}
        if value is None:
            return {"ok": False, "errno": err, "error": f"KVM_GET_ONE_REG failed with {err}"} | out
        return {"ok": True, "value": format_value(value, info.bits), "access": str(v.access),
                "reason": v.reason, "source": v.source} | out

    def set(self, args: list[str]) -> dict[str, Any]:
        if bad := self._arity(args, 2, "set REG VALUE"):
            return bad
        return self._set_json(self.session.set(args[0], args[1]))

    def _set_json(self, o: SetOutcome) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": o.ok}
        if o.reg is not None:
            out |= {"reg": o.reg.name, "id": o.reg.hex_id}
        if o.value is not None and o.reg is not None:
            out["value"] = format_value(o.value, o.reg.bits)
        if o.errno:
            out["errno"] = o.errno
        if o.verdict is not None:
            out |= {"access": str(o.verdict.access), "rule": o.verdict.reason,
                    "source": o.verdict.source, "agrees": o.agrees}
        out["error" if not o.ok else "message"] = o.message
        return out

    def run(self, args: list[str]) -> dict[str, Any]:
        if bad := self._arity(args, 0, "run"):
            return bad
        out = self._run_json(self.session.run())
        step = self.session.profile.step_from(self.session.stage) if self.session.realm else None
        if not out["ok"] and step is not None:
            # The app's hint for `r` before the realm can run, in batch's verbs.
            out["error"] += f" — the realm is not active yet: {step.verb} first"
        return out

    def undo(self, args: list[str]) -> dict[str, Any]:
        if bad := self._arity(args, 0, "undo"):
            return bad
        from realmtui.undo import undo

        return self._set_json(undo(self.session))

    def expect(self, args: list[str]) -> dict[str, Any]:
        from realmtui.batch_expect import check

        return check(self.session, args, self.previous)

    def _run_json(self, o: RunOutcome) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": o.ok}
        if o.exit is not None:
            out["exit"] = exit_json(o.exit)
            names = {r.id: r.info.name for r in (o.snapshot.regs if o.snapshot else ())}
            out["changed"] = sorted(names.get(i, f"0x{i:x}") for i in o.changed)
            out["stage"] = str(self.session.stage)
        else:
            out["error"] = o.message
            if o.errno:
                out["errno"] = o.errno
        return out

    def mmio(self, args: list[str]) -> dict[str, Any]:
        if bad := self._arity(args, 1, "mmio VALUE"):
            return bad
        o = self.session.provide_mmio(args[0])
        out: dict[str, Any] = {"ok": o.ok, ("message" if o.ok else "error"): o.message}
        if o.ok and o.value is not None:
            out["data"] = f"0x{o.value:x}"
        return out

    def _step(self, args: list[str], action: Callable[[], RunOutcome]) -> dict[str, Any]:
        if args:
            return {"ok": False, "error": "this command takes no arguments"}
        o = action()
        out: dict[str, Any] = {"ok": o.ok, ("message" if o.ok else "error"): o.message}
        if o.errno:
            out["errno"] = o.errno
        return out | {"stage": str(self.session.stage)}

    def state(self, args: list[str]) -> dict[str, Any]:
        if bad := self._arity(args, 0, "state"):
            return bad
        s = self.session
        ctx = s.context
        out: dict[str, Any] = {
            "ok": True,
            "backend": s.backend_name,
            "vm": str(ctx.vm),
            "profile": str(ctx.profile),
            "stage": str(s.stage),
            "realm_state": str(ctx.realm_state),
            "rec_created": ctx.rec_created,
            "last_exit": str(ctx.last_exit),
            "exits": len(s.exits),
        }
        if s.exits:
            out["exit"] = exit_json(s.exits[-1])
        if s.pending_mmio is not None:
            out["mmio_read_pending"] = {
                "addr": f"0x{s.pending_mmio.addr:x}", "len": s.pending_mmio.length,
                "data_given": s.mmio_data is not None,
            }
        return out

    def restart(self, args: list[str]) -> dict[str, Any]:
        if bad := self._arity(args, 0, "restart"):
            return bad
        self.session.restart()
        return {"ok": True, "stage": str(self.session.stage)}


def run_batch(session: Session, source: BinaryIO, out: TextIO, strict: bool = False,
              fmt: str = "json", failures: list[str] | None = None) -> int:
    """Answer every line as soon as it is read. The exit status is 0 -- a refused write is an
    answer, not a failure -- unless `strict`, where any answer with "ok": false makes it 1.
    An error writing `out` (a closed pipe, a full disk) propagates to the caller.
    `failures` collects each failed `expect` as "line N: why" (for a summary on stderr)."""
    return answer_lines(session, read_lines(source), out, strict, fmt, failures)


def answer_lines(session: Session, lines: Iterable[InputLine], out: TextIO,
                 strict: bool = False, fmt: str = "json",
                 failures: list[str] | None = None) -> int:
    from realmtui.batch_text import text_line

    batch = Batch(session)
    status = 0
    for line in lines:
        if line.text is None:
            answer: dict[str, Any] | None = {"command": None, "ok": False, "error": line.error}
            batch.words = ""
        else:
            answer = batch.handle(line.text)
        if answer is None:
            continue
        if not answer.get("ok"):
            if strict:
                status = 1
            if answer.get("command") == "expect" and failures is not None:
                failures.append(f"line {line.number}: {batch.words}: {answer.get('error')}")
        if fmt == "text":
            out.write(text_line(line.number, batch.words, answer) + "\n")
        else:
            out.write(json.dumps({"line": line.number} | answer) + "\n")
        out.flush()
    return status
