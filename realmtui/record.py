"""Recording a walk: `realmtui --record FILE` and `realmtui batch --record FILE`.

A recording is JSON lines. The first is a header (what ran: backend, profile, series, vCPU
features, realmtui's version, the format version); then one object per step the user took --
the step as a batch command, its answer, each ioctl it made with its result or errno, the
exit it produced, and the full register snapshot with verdicts -- written and flushed as the
step ends, so a recording cut short (a host that died) keeps every step before.

It hooks the Session at its one step boundary (`Session.on_step`), so every backend records
the same way; the ioctls come from the session's ioctl log (backends/ioctl_log.py, kept where
the VMM calls either kernel). Strings that repeat at every step (a verdict's rule and source,
a REC note) are written once and referred to by number afterwards, which keeps a step well
under a millisecond (benchmarks/bench_record.py). realmtui/replay.py reads it back.
"""

from __future__ import annotations

import dataclasses
import errno as errno_mod
import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from backends import abi
from backends.exits import Exit
from realmtui.model import ExitInfo, RunOutcome, SetOutcome
from realmtui.session import Session

MAGIC = "realmtui-recording"
FORMAT_VERSION = 1
_FEATURE_NAMES = {
    getattr(abi, n): n.removeprefix("KVM_ARM_VCPU_").lower()
    for n in ("KVM_ARM_VCPU_POWER_OFF", "KVM_ARM_VCPU_EL1_32BIT", "KVM_ARM_VCPU_PSCI_0_2",
              "KVM_ARM_VCPU_PMU_V3", "KVM_ARM_VCPU_SVE", "KVM_ARM_VCPU_PTRAUTH_ADDRESS",
              "KVM_ARM_VCPU_PTRAUTH_GENERIC", "KVM_ARM_VCPU_HAS_EL2", "KVM_ARM_VCPU_REC")
}


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("realmtui")
    except PackageNotFoundError:
        return "unknown"


def fold_ioctls(records: list[Any]) -> list[dict[str, Any]]:
    """The ioctl log's records of one step (backends/ioctl_log.py), each with its result or
    errno; a run of one call with one answer folded into an entry with a count (a snapshot's
    many KVM_GET_ONE_REGs). A write names its register and value."""
    out: list[dict[str, Any]] = []
    last: tuple[Any, ...] | None = None
    for r in records:
        written = r.name == "KVM_SET_ONE_REG"
        key = (r.name, r.result, r.errno, r.reg if written else None, r.value if written else None)
        if key == last:
            out[-1]["count"] += 1
            continue
        last = key
        entry: dict[str, Any] = {
            "ioctl": r.name, "result": r.result,
            "errno": errno_mod.errorcode.get(r.errno, str(r.errno)) if r.errno else None,
            "count": 1,
        }
        if written and r.reg is not None:
            entry["reg"] = f"0x{r.reg:x}"
            entry["value"] = _hex(r.value)
        out.append(entry)
    return out


def exit_json(kexit: Exit) -> dict[str, Any]:
    """Every field of the decoded exit, as it came back (replay rebuilds the same object)."""
    out: dict[str, Any] = {"class": type(kexit).__name__}
    for f in dataclasses.fields(kexit):
        value = getattr(kexit, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def exit_info_json(info: ExitInfo) -> dict[str, Any]:
    return {
        "number": info.number, "exit": exit_json(info.exit), "cause": str(info.cause),
        "rmi_reason": info.rmi_reason, "pc": info.pc, "step": info.step,
        "kernel_esr": info.kernel_esr, "rmm_esr": info.rmm_esr, "plane": info.plane,
    }


def _hex(value: int | None) -> str | None:
    return None if value is None else f"{value:x}"


@dataclass
class Recorder:
    """Writes a session's steps to `out` from the moment it is attached."""

    session: Session
    out: IO[str]
    via: str = "app"  # app or batch
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._strings: dict[str, int] = {}
        self._rows: dict[tuple[Any, ...], str] = {}  # a row's key -> its encoded JSON
        self._changed: frozenset[int] = frozenset()
        self._seq = 0
        self._seen = 0  # the last ioctl log entry written (its seq)
        self._t0 = self.clock()
        self._write(self.header())
        self.step("start", None)
        self.session.on_step = self.step

    def header(self) -> dict[str, Any]:
        s = self.session
        series = s.profile.uapi
        vcpu = s.machine.vcpu if s.machine is not None else None
        feats = getattr(vcpu, "features", None)  # the KVM_ARM_VCPU_INIT bits it asked for
        return {
            "format": MAGIC, "format_version": FORMAT_VERSION, "realmtui": version(),
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "host": platform.node(), "machine": platform.machine(), "via": self.via,
            "backend": s.backend_name, "simulated": s.simulated, "vm": str(s.config.vm),
            "profile": str(s.config.profile),
            "series": {"name": series.name, "posting": series.posting, "cap": series.cap_name,
                       "cap_number": series.cap, "rmm": series.rmm},
            "vcpu_features": None if feats is None else sorted(
                _FEATURE_NAMES.get(f, str(f)) for f in feats),
            "pmu": s.config.pmu, "sve": s.config.sve,
        }

    def close(self) -> None:
        if self.session.on_step == self.step:
            self.session.on_step = None
        self.out.close()

    def _ref(self, text: str, new: dict[str, str]) -> int:
        ref = self._strings.get(text)
        if ref is None:
            ref = self._strings[text] = len(self._strings)
            new[str(ref)] = text
        return ref

    def step(self, action: str, outcome: RunOutcome | SetOutcome | None) -> None:
        s = self.session
        new: dict[str, str] = {}
        ref = self._ref
        snap = s.current
        rows = self._rows
        regs = []
        for r in snap.regs:
            # Most rows are the same from one step to the next: each distinct row is encoded
            # once, and a step joins the encoded rows (the step's cost is then one lookup a
            # register, not one JSON encoding).
            v, rec = r.verdict, r.rec
            key = (r.id, r.value, r.read_errno, v, rec)
            text = rows.get(key)
            if text is None:
                row: list[Any] = [r.id, _hex(r.value), r.read_errno, v.access.value,
                                  ref(v.reason, new), ref(v.source, new), v.errno]
                if rec is not None:
                    row += [_hex(rec.value), rec.mark.value, ref(rec.note, new)]
                text = rows[key] = json.dumps(row, separators=(",", ":"))
            regs.append(text)
        record: dict[str, Any] = {"step": self._seq, "t": round(self.clock() - self._t0, 3),
                                  "action": action}
        if outcome is not None:
            record |= {"ok": outcome.ok, "message": outcome.message, "errno": outcome.errno}
        exit_info = outcome.exit if isinstance(outcome, RunOutcome) else None
        if exit_info is not None:
            self._changed = outcome.changed if isinstance(outcome, RunOutcome) else frozenset()
            record["exit"] = exit_info_json(exit_info)
        elif action == "restart":
            self._changed = frozenset()
        try:
            next_step = s.next_step()
        except Exception:  # noqa: BLE001 - a closed session: nothing to say about the guest
            next_step = ""
        pending = s.pending_mmio
        record |= {
            "ioctls": self._ioctls(),
            "stage": str(s.stage), "context": _context(s), "exits": len(s.exits),
            "snapshot": [snap.index, snap.label], "next_step": next_step,
            "changed": sorted(self._changed), "edits": {str(k): _hex(v) for k, v in
                                                         s.edits.items()},
            "pending_mmio": exit_json(pending) if pending is not None else None,
            "mmio_data": _hex(s.mmio_data), "list_note": s.list_note,
            "strings": new,
        }
        head = json.dumps(record, separators=(",", ":"))
        self.out.write(f'{head[:-1]},"regs":[{",".join(regs)}]}}\n')
        self.out.flush()
        self._seq += 1

    def _ioctls(self) -> list[dict[str, Any]] | None:
        log = getattr(self.session, "ioctl_log", None)
        if log is None:
            return None
        new = log.since(self._seen)
        if new:
            self._seen = new[-1].seq
        return fold_ioctls(new)

    def _write(self, obj: dict[str, Any]) -> None:
        self.out.write(json.dumps(obj, separators=(",", ":")) + "\n")
        self.out.flush()


def _context(s: Session) -> dict[str, Any]:
    c = s.context
    return {f.name: (getattr(c, f.name) if isinstance(getattr(c, f.name), bool)
                     else str(getattr(c, f.name))) for f in dataclasses.fields(c)}


def start(session: Session, path: str, via: str) -> Recorder:
    """Record `session` to `path` from now on (its build's ioctls go into the first step).
    OSError when the file cannot be written (the caller says so in one line)."""
    out = open(path, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the session
    return Recorder(session, out, via)
