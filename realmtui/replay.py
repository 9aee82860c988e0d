"""Replaying a recording (realmtui/record.py) without any kernel: each recorded step becomes
the same SessionView the live app draws, so the grid, the panels and the verdicts are the
ones that were on the screen when it was recorded.

`load` checks the file and refuses, with one sentence, what it cannot read (not a recording,
a format from a newer realmtui, a profile this realmtui does not know, a damaged line); a
recording whose last line was cut off (the host died mid-write) keeps the steps before it.
`ReplayDriver` stands where the app's Driver stands: it moves between steps, and refuses
every call that would need a kernel.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from backends import exits as exits_mod
from backends.exits import Exit, MmioExit
from realmtui import profiles
from realmtui.context import ExitCause, Profile, RealmState, VcpuContext, VmKind
from realmtui.model import (
    ExitInfo,
    RecCell,
    RecMark,
    RegView,
    RunOutcome,
    SessionConfig,
    SessionView,
    SetOutcome,
    Snapshot,
    Stage,
    ValueHistory,
)
from realmtui.record import FORMAT_VERSION, MAGIC
from realmtui.regs import describe
from realmtui.verdict import Access, Verdict

REFUSED = "replay: {what} refused — this is a recording ({name}), there is no kernel to {verb}"
_EXIT_CLASSES = {c.__name__: c for c in (
    exits_mod.Exit, exits_mod.MmioExit, exits_mod.HypercallExit, exits_mod.SystemEventExit,
    exits_mod.MemoryFaultExit, exits_mod.InternalErrorExit)}


class ReplayError(Exception):
    """The file cannot be replayed; the message says why in one sentence."""


@dataclass(frozen=True)
class ReplayStep:
    number: int  # 0: the start
    action: str
    ok: bool
    message: str
    errno: str | None
    ioctls: tuple[Mapping[str, Any], ...]
    view: SessionView


@dataclass
class Recording:
    path: Path
    header: dict[str, Any]
    steps: list[ReplayStep] = field(default_factory=list)
    note: str = ""  # what was dropped while reading (a cut-off last line)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def recorded_on(self) -> str:
        h = self.header
        when = str(h.get("recorded_at", "?")).replace("T", " ").removesuffix("Z")
        return f"{when} UTC on {h.get('host', '?')} ({h.get('backend')} · {h.get('profile')})"

    def exit_step(self, number: int) -> int | None:
        """The step that produced exit `number` (the first, if a restart repeated it)."""
        for i, step in enumerate(self.steps):
            last = step.view.last_exit
            if last is not None and last.number == number and step.view.exit_count == number:
                return i
        return None


def load(path: str | Path) -> Recording:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise ReplayError(f"cannot read {path}: {e.strerror or e}") from None
    lines = raw.splitlines()
    if not raw.strip():
        raise ReplayError(f"{path} is empty: not a realmtui recording")
    header = _json(lines[0], 1, path)
    if not isinstance(header, dict) or header.get("format") != MAGIC:
        raise ReplayError(f"{path} is not a realmtui recording (its first line has no "
                          f"\"format\": \"{MAGIC}\")")
    version = header.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ReplayError(f"{path}: format version {version!r} is not one realmtui wrote")
    if version > FORMAT_VERSION:
        raise ReplayError(
            f"{path} was written by a newer realmtui ({header.get('realmtui', '?')}, format "
            f"{version}); this one ({FORMAT_VERSION}) cannot read it: upgrade realmtui")
    rec = Recording(p, header)
    builder = _Builder(header, str(path))
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            if n == len(lines):  # cut off as it was written: keep what came before
                rec.note = f"line {n} was cut off (the recording ended mid-step): dropped"
                break
            raise ReplayError(f"{path}: line {n} is not JSON: the recording is damaged") from None
        try:
            rec.steps.append(builder.step(obj))
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise ReplayError(f"{path}: line {n} is not a step realmtui can read "
                              f"({type(e).__name__}: {e})") from None
    if not rec.steps:
        raise ReplayError(f"{path} has a header but no steps")
    return rec


def _json(line: bytes, n: int, path: str | Path) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        raise ReplayError(f"{path} is not a realmtui recording (line {n} is not JSON)") from None


def _int(text: str | None) -> int | None:
    return None if text is None else int(text, 16)


def exit_from(obj: Mapping[str, Any]) -> Exit:
    cls = _EXIT_CLASSES.get(obj["class"], Exit)
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in obj.items()
              if k != "class"}
    if cls is Exit:
        kwargs = {k: kwargs[k] for k in ("reason", "errno") if k in kwargs}
    return cls(**kwargs)


class _Builder:
    """Turns steps into views, carrying what spans steps: the strings written once, the
    exits by number, and each register's value history."""

    def __init__(self, header: Mapping[str, Any], path: str) -> None:
        try:
            profile = Profile(header.get("profile") or "v9")
        except ValueError:
            raise ReplayError(
                f"{path} was recorded with profile {header.get('profile')!r}, which this "
                f"realmtui does not know ({', '.join(p.value for p in Profile)})") from None
        try:
            vm = VmKind(header.get("vm", "realm"))
        except ValueError:
            raise ReplayError(f"{path}: unknown VM kind {header.get('vm')!r}") from None
        self.config = SessionConfig(backend=str(header.get("backend", "sim")), vm=vm,
                                    profile=profile, pmu=bool(header.get("pmu")),
                                    sve=bool(header.get("sve")))
        self.backend = str(header.get("backend", "?"))
        self.simulated = bool(header.get("simulated"))
        self.strings: dict[int, str] = {}
        self.exits: dict[int, ExitInfo] = {}
        self.index = -1
        self.hist: dict[int, ValueHistory] = {}  # the last step's, per register
        self.base: dict[int, ValueHistory] = {}  # as of the snapshot before this one

    def step(self, obj: Mapping[str, Any]) -> ReplayStep:
        self.strings.update({int(k): v for k, v in obj.get("strings", {}).items()})
        ctx_obj = obj["context"]
        context = VcpuContext(
            vm=VmKind(ctx_obj["vm"]), profile=Profile(ctx_obj["profile"]),
            realm_state=RealmState(ctx_obj["realm_state"]),
            rec_created=bool(ctx_obj["rec_created"]),
            last_exit=ExitCause(ctx_obj["last_exit"]), has_run=bool(ctx_obj["has_run"]),
            sve=bool(ctx_obj.get("sve")), pmu=bool(ctx_obj.get("pmu")),
            pauth=bool(ctx_obj.get("pauth")),
        )
        if obj.get("exit"):
            info = self._exit_info(obj["exit"])
            self.exits[info.number] = info
        if obj["action"] == "restart":
            self.exits = {}
        index, label = obj["snapshot"]
        if index != self.index:
            self.base = self.hist if index > self.index else {}
            self.index = index
        stage = Stage(obj["stage"])
        regs = tuple(self._reg(row, label) for row in obj["regs"])
        self.hist = {r.id: r.history for r in regs if r.history is not None}
        count = int(obj["exits"])
        last = self.exits.get(count) if count else None
        pending = obj.get("pending_mmio")
        pending_exit = exit_from(pending) if pending else None
        view = SessionView(
            config=self.config, backend=self.backend, simulated=self.simulated, stage=stage,
            context=context,
            snapshot=Snapshot(index, label, stage, context, regs, self.exits.get(index)),
            last_exit=last, exit_count=count, next_step=obj.get("next_step", ""),
            changed=frozenset(obj.get("changed", ())),
            edits=MappingProxyType({int(k): int(v, 16) for k, v in obj.get("edits", {}).items()}),
            pending_mmio=pending_exit if isinstance(pending_exit, MmioExit) else None,
            mmio_data=_int(obj.get("mmio_data")),
        )
        return ReplayStep(int(obj["step"]), str(obj["action"]), bool(obj.get("ok", True)),
                          str(obj.get("message", "")), obj.get("errno"),
                          tuple(obj.get("ioctls") or ()), view)

    def _exit_info(self, obj: Mapping[str, Any]) -> ExitInfo:
        return ExitInfo(
            number=int(obj["number"]), exit=exit_from(obj["exit"]), cause=ExitCause(obj["cause"]),
            rmi_reason=str(obj["rmi_reason"]), pc=obj.get("pc"), step=str(obj.get("step", "")),
            kernel_esr=obj.get("kernel_esr"), rmm_esr=obj.get("rmm_esr"),
            plane=obj.get("plane"),
        )

    def _reg(self, row: list[Any], label: str) -> RegView:
        reg_id, value, read_errno, access, reason, source, errno = row[:7]
        s = self.strings
        rec = None
        if len(row) >= 10:
            rec = RecCell(_int(row[7]), RecMark(row[8]), s[row[9]])
        number = _int(value)
        return RegView(
            describe(reg_id), number, read_errno,
            Verdict(Access(access), s[reason], s[source], errno),
            real=rec.value if rec is not None else None, rec=rec,
            history=ValueHistory(label, number, self.base.get(reg_id)),
        )


class ReplaySession:
    """What the app reads of its session, answered from the recording."""

    def __init__(self, recording: Recording, driver: ReplayDriver) -> None:
        self.recording = recording
        self._driver = driver
        self.config = recording.steps[0].view.config
        self.profile = profiles.info(self.config.profile or Profile.V9)

    def close(self) -> None:
        pass


class ReplayDriver:
    """Steps through a recording. Every call that needs a kernel is refused with a reason."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.position = 0
        self.session = ReplaySession(recording, self)

    @property
    def current(self) -> ReplayStep:
        return self.recording.steps[self.position]

    @property
    def last(self) -> int:
        return len(self.recording.steps) - 1

    def view(self) -> SessionView:
        return self.current.view

    def go(self, position: int) -> bool:
        """Move to a step; False (staying put) when there is none there."""
        if not 0 <= position <= self.last:
            return False
        self.position = position
        return True

    def refused(self, what: str, verb: str) -> str:
        return REFUSED.format(what=what, name=self.recording.name, verb=verb)

    def write(self, reg_id: int, value: int) -> tuple[SetOutcome, SessionView]:
        return SetOutcome(False, describe(reg_id), self.refused("edit", "write to"),
                          input_error=True), self.view()

    def run(self, mmio_data: int | None = None) -> tuple[RunOutcome, SessionView]:
        return RunOutcome(False, self.refused("run", "run")), self.view()

    def advance(self, target: Stage) -> tuple[RunOutcome, SessionView]:
        return RunOutcome(False, self.refused("lifecycle step", "ask")), self.view()

    def restart(self) -> SessionView:
        return self.view()

    def replace(self, config: SessionConfig) -> SessionView:
        return self.view()
