"""The ioctl log as lines a person reads, `strace -e ioctl` style, decoded for KVM:

    #519 KVM_SET_ONE_REG(fd 1002, x0 = 0x5) = 0   41.0 us
    #521 KVM_RUN(fd 1002, arg=0x0) = 0   11553.2 us -> MMIO addr=0x9000000 len=8 ...
    #10 KVM_GET_REG_LIST(fd 1002, n=0xfc) = -1 E2BIG   1133.8 us

Plain values for the log screen (widgets/ioctl_log_screen.py), its filter and its copy; the
JSON form (one object a line) is the batch's `ioctls` and `--ioctl-log`.
"""

from __future__ import annotations

import errno as errno_mod
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from backends.ioctl_log import IoctlRecord
from realmtui import regs


@dataclass(frozen=True)
class IoctlLine:
    seq: int
    name: str  # KVM_SET_ONE_REG
    call: str  # the arguments as the line shows them: "fd 1002, x0 = 0x5"
    result: str  # "0", "-1 EINVAL"
    failed: bool
    duration_us: float
    exit: str  # KVM_RUN's exit, decoded ("" otherwise)
    json: str  # the same record as the batch writes it

    @property
    def text(self) -> str:
        out = f"#{self.seq} {self.name}({self.call}) = {self.result}   {self.duration_us:.1f} us"
        return out + (f" -> {self.exit}" if self.exit else "")

    def matches(self, words: str) -> bool:
        """Every word of `words` is in the line (case-insensitive); no words: every line."""
        hay = self.text.lower()
        return all(w in hay for w in words.lower().split())


def record_json(rec: IoctlRecord) -> dict[str, Any]:
    """One record as `ioctls` and `--ioctl-log` write it (the register by name)."""
    return rec.as_json(regs.name_of(rec.reg) if rec.reg is not None else None)


def line(rec: IoctlRecord) -> IoctlLine:
    reg_name = regs.name_of(rec.reg) if rec.reg is not None else None
    parts = [f"fd {rec.fd}"]
    if reg_name is not None:
        parts.append(reg_name + (f" = 0x{rec.value:x}" if rec.value is not None else ""))
    parts += [f"{k}={v}" for k, v in rec.args.items()]
    if rec.errno is not None:
        result = f"-1 {errno_mod.errorcode.get(rec.errno, str(rec.errno))}"
    else:
        result = str(rec.result)
    exit_text = ""
    if rec.exit is not None:
        fields = " ".join(f"{k}={v}" for k, v in rec.exit.items() if k != "reason")
        exit_text = f"{rec.exit.get('reason', '?')} {fields}".strip()
    return IoctlLine(
        rec.seq, rec.name, ", ".join(parts), result, rec.errno is not None,
        round(rec.duration_s * 1e6, 1), exit_text, json.dumps(record_json(rec)),
    )


# A long session makes hundreds of thousands of ioctls (every step reads every register):
# the screen takes the newest, and `batch --ioctl-log` has them all.
SCREEN_LIMIT = 5000


def lines(records: Iterable[IoctlRecord]) -> tuple[IoctlLine, ...]:
    return tuple(line(r) for r in records)
