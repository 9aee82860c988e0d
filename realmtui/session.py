"""The Session: what the UI and `realmtui batch` drive.

It builds the demo VM through the VMM, walks the lifecycle, keeps a snapshot of every listed
register per exit, and performs edits as check -> write -> read back. It never invents a
value: every value it reports came back from KVM_GET_ONE_REG, and every failure carries the
kernel's errno next to the rule that predicted (or failed to predict) it.
"""

from __future__ import annotations

import errno as errno_mod
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from backends import abi, ioctl_log
from backends.errors import KvmError
from backends.exits import Exit, HypercallExit, MmioExit
from backends.kernel import Kernel
from backends.machine import MachineSpec
from backends.series import rmi_exit_name
from backends.smccc import is_psci
from realmtui import profiles
from realmtui import regs as regs_mod
from realmtui.backend import Backend, Machine, bundle, open_backend, permission_message
from realmtui.context import ExitCause, Profile, RealmState, VcpuContext, VmKind
from realmtui.model import (
    ExitInfo,
    RecCell,
    RecMark,
    RegView,
    RunOutcome,
    SessionConfig,
    SetOutcome,
    Snapshot,
    Stage,
    ValueHistory,
)
from realmtui.regs import RegInfo, UnknownRegister, describe, parse_register
from realmtui.rules import verdict
from realmtui.undo import EditDone
from realmtui.values import BadValue, parse_value
from realmtui.verdict import Access, Verdict


class SessionError(Exception):
    """Something the user asked for that can't be done; the message says why."""


# The RMI exit reasons of rec_exit.exit_reason ([PATCH v9 03/43] rmi_smc.h).
RMI_EXIT_SYNC, RMI_EXIT_IRQ, RMI_EXIT_FIQ, RMI_EXIT_PSCI = 0, 1, 2, 3
RMI_EXIT_RIPAS_CHANGE, RMI_EXIT_HOST_CALL = 4, 5


def _cause(
    kexit: Exit, realm: bool, rmi_exit: int | None = None, rmi_major: int = 1
) -> tuple[ExitCause, str]:
    """Why the vCPU came back. For a realm the cause is the RMM's exit reason, which KVM read
    from rec_exit ([PATCH v9 16/43] handle_rec_exit): `rmi_exit` when the kernel can say
    (the sim), else what the kvm_run exit implies."""
    if isinstance(kexit, MmioExit):
        cause = ExitCause.MMIO_WRITE if kexit.is_write else ExitCause.MMIO_READ
        return cause, "RMI_EXIT_SYNC (emulatable data abort)" if realm else "data abort (MMIO)"
    if isinstance(kexit, HypercallExit):
        if realm and rmi_exit == RMI_EXIT_HOST_CALL:
            # A host call whose gprs[0] is a PSCI id is still a host call: the RMM copies
            # x0-x30 back into the guest's struct (cca-semantics.md Corrections 11).
            return ExitCause.HOST_CALL, "RMI_EXIT_HOST_CALL"
        if is_psci(kexit.nr):
            # A PSCI call the VMM asked KVM to forward: behind it is RMI_EXIT_PSCI (on a real
            # kernel the uAPI does not say which; a forwarded PSCI id is most likely PSCI).
            return ExitCause.PSCI, "RMI_EXIT_PSCI" if realm else "PSCI call"
        return ExitCause.HOST_CALL, "RMI_EXIT_HOST_CALL" if realm else "SMCCC call"
    if kexit.reason == abi.KVM_EXIT_SYSTEM_EVENT:
        return ExitCause.PSCI, "RMI_EXIT_PSCI" if realm else "PSCI call"
    if kexit.reason == abi.KVM_EXIT_MEMORY_FAULT:
        return ExitCause.RIPAS_CHANGE, "RMI_EXIT_RIPAS_CHANGE" if realm else "memory fault"
    if kexit.reason == abi.KVM_EXIT_SHUTDOWN:
        return ExitCause.SHUTDOWN, "REC_ENTER: RMI_ERROR_REALM index 1 (realm is SYSTEM_OFF)"
    if realm and rmi_exit is not None:
        # An exit KVM does not turn into a uAPI exit (an internal error): say which it was.
        return ExitCause.OTHER, rmi_exit_name(rmi_exit, rmi_major)
    return ExitCause.OTHER, "unsupported exit"


def _rec_cell(info: RegInfo, value: int | None, view: Any) -> RecCell:
    """The REC column for one register, from the sim's look at the RMM (`view`: a RecView,
    or None before the REC exists)."""
    if view is None:
        return RecCell(None, RecMark.NONE,
                       "no REC holds this yet (created by KVM_ARM_VCPU_FINALIZE(REC))")
    n = regs_mod.gpr_index(info.id)
    if n is not None and view.host_call_gprs is not None:
        # TF-RMM run.c complete_host_call: at the next REC_ENTER, rec_enter.gprs (KVM's
        # x0-x30, [PATCH v9 16/43]) go into the struct, not into the REC's registers.
        return RecCell(
            view.host_call_gprs[n], RecMark.HOST_CALL,
            f"→ host-call struct gprs[{n}]: what the guest's RsiHostCall holds now; KVM's x{n} "
            "goes there at the next REC_ENTER (TF-RMM runtime/rmi/run.c)",
        )
    real = view.regs.get(info.id)
    if real is None:
        if info.id in regs_mod.SPSR[1:]:
            why = "a realm runs in AArch64 only: the REC has no AArch32 banked SPSR"
        else:
            why = "the REC holds no such register"
        return RecCell(None, RecMark.NONE, why)
    if real == value:
        return RecCell(real, RecMark.SAME, "= KVM's copy")
    if info.id == regs_mod.ID_AA64DFR0_EL1:
        # TF-RMM runtime/core/sysregs.c: the realm reads the CPU's value with CTX_CMPs, trace,
        # SPE and BRBE cleared; KVM's copy carries the realm parameters (num_bps/num_wps).
        return RecCell(
            real, RecMark.STALE,
            "≠ KVM's copy: what the realm reads (the CPU's value with CTX_CMPs, trace, SPE and "
            "BRBE cleared, TF-RMM sysregs.c); KVM's copy gave the realm parameters",
        )
    return RecCell(
        real, RecMark.STALE,
        "≠ KVM's copy: the host's view is stale (sim only; no real host can read the REC)",
    )


# The stage each of v9's steps leads to, to name the step a later series dropped.
_V9_AFTER = {"finalize": Stage.REC_CREATED, "activate": Stage.ACTIVE}


class Session:
    def __init__(
        self, config: SessionConfig | None = None, kernel: Kernel | None = None,
        backend: Backend | None = None,
    ) -> None:
        self.config = config or SessionConfig()
        self._backend_arg = backend
        if kernel is not None:
            self._backend_arg = bundle(kernel, self.config.profile or Profile.V9)
        self.history: list[Snapshot] = []
        self.edits: dict[int, int] = {}  # ids the user wrote since the last exit
        self.list_note: str | None = None  # why the register list is not the kernel's own
        self.machine: Machine | None = None
        # Called after every step a user takes (edit, run, lifecycle step, MMIO data,
        # restart) with the step as a batch command and its outcome: the one place a
        # recording (realmtui/record.py) hooks in.
        self.on_step: Callable[[str, RunOutcome | SetOutcome], None] | None = None
        self.done_edits: list[EditDone] = []  # successful edits, for undo (realmtui/undo.py)
        self._start()

    def _stepped(self, action: str, outcome: Any) -> Any:
        if self.on_step is not None:
            self.on_step(action, outcome)
        return outcome

    # --- building ------------------------------------------------------------------------------
    def _start(self) -> None:
        self.backend = backend = self._backend_arg or open_backend(
            self.config.backend, self.config.profile
        )
        self.config = cfg = replace(self.config, profile=backend.profile)
        self.kernel = backend.kernel
        self.inspector = backend.inspector
        self.ioctl_log = ioctl_log.attach(self.kernel)  # every ioctl, across restarts too
        self.realm = cfg.vm is VmKind.REALM
        self.stage = Stage.REALM_NEW if self.realm else Stage.INITIALISED
        self.exits: list[ExitInfo] = []
        self.pending_mmio: MmioExit | None = None
        self.mmio_data: int | None = None
        self.history = []
        self.edits = {}
        self.done_edits = []
        self.context = VcpuContext(
            vm=cfg.vm, profile=backend.profile, sve=cfg.sve, pmu=cfg.pmu,
        )
        self.profile = profiles.info(backend.profile)
        spec = MachineSpec(
            realm=self.realm, pmu=cfg.pmu, sve=cfg.sve, series=self.profile.uapi,
            program=cfg.program, forward_fids=cfg.forward_fids,
        )
        self.machine = machine = backend.build_machine(spec)
        try:
            machine.build()
        except KvmError as e:
            raise SessionError(self._build_error(e)) from None
        self._update_context()
        if self.realm and cfg.start is not Stage.REALM_NEW:
            order = [step.after for step in self.profile.steps]
            if cfg.start not in order:
                raise SessionError(
                    f"{cfg.profile} has no '{cfg.start}' stage to start at: its realm goes "
                    + " -> ".join([Stage.REALM_NEW.value, *order])
                    + (" and the first run activates it" if self.profile.implicit else "")
                )
            for stage in order[: order.index(cfg.start) + 1]:
                result = self._advance(stage)
                if not result.ok:
                    raise SessionError(result.message)
        self.history.append(self._snapshot(0, "start", None))

    def _build_error(self, e: KvmError) -> str:
        if e.call.startswith("open ") and e.errno in (errno_mod.EACCES, errno_mod.EPERM):
            # os.access said yes but open(2) said no (an LSM, a read-only bind mount): the
            # same advice as check_kvm_host's, with the errno the kernel gave.
            return f"{permission_message(e.call.removeprefix('open '))} ({e.errno_name})"
        if e.call == "KVM_CREATE_VM" and self.realm:
            if e.errno == errno_mod.EINVAL:
                return (
                    "this kernel has no realm support: KVM_CREATE_VM with KVM_VM_TYPE_ARM_REALM "
                    f"failed with EINVAL (the {self.config.profile} type, "
                    f"0x{self.profile.uapi.realm_vm_type:x}: the CCA host series is not "
                    "applied) — use --vm normal, or --backend sim"
                )
            if e.errno == errno_mod.EPERM:
                return (
                    "this kernel has the realm series but no RMM to talk to: KVM_CREATE_VM with "
                    "KVM_VM_TYPE_ARM_REALM failed with EPERM — use --vm normal, or --backend sim"
                )
        return f"could not build the {self.config.vm} VM: {e}"

    def restart(self) -> None:
        self.close()
        self._backend_arg = self.backend  # a fresh VM on the same kernel
        self._start()
        self._stepped("restart", RunOutcome(True, "restarted: a fresh VM"))

    def close(self) -> None:
        if self.machine is not None:
            self.machine.close()
            self.machine = None

    @property
    def vcpu(self) -> Any:
        if self.machine is None or self.machine.vcpu is None:
            raise SessionError("the session is closed")
        return self.machine.vcpu

    # --- lifecycle -------------------------------------------------------------------------------
    def advance(self, target: Stage | None = None) -> RunOutcome:
        """The profile's next lifecycle step (profiles.py): for v9/v10 create the realm,
        finalize the REC, or activate; from v12 only populate -- the first run does the rest."""
        step = self.profile.step_from(self.stage) if self.realm else None
        return self._stepped(step.verb if step else "advance", self._advance(target))

    def _advance(self, target: Stage | None = None) -> RunOutcome:
        if not self.realm:
            return RunOutcome(False, "a normal VM has no lifecycle steps: it can run now")
        lacks = [v for v, why in self.profile.missing.items() if _V9_AFTER.get(v) is target]
        if target is not None and lacks:
            return RunOutcome(False, self.profile.missing[lacks[0]])  # a step v12+ dropped
        step = self.profile.step_from(self.stage)
        if step is None:
            more = " — the next run activates it" if (
                self.profile.implicit and self.stage is Stage.REALM_CREATED
            ) else ""
            return RunOutcome(False, f"nothing to do: the realm is {self.stage.label}{more}")
        nxt = step.after
        if target is not None and target is not nxt:
            return RunOutcome(False, f"the next step from {self.stage.label} is {step.verb}")
        m = self._machine()
        action = {"create": m.create_realm, "finalize": m.finalize_rec,
                  "activate": m.activate}[step.verb]
        try:
            action()
        except KvmError as e:
            return RunOutcome(False, str(e), errno=e.errno_name)
        self.stage = nxt
        self.edits = {}
        self._update_context()
        done = step.done or f"realm {nxt.label}"
        return RunOutcome(True, done, snapshot=self._refresh_current())

    def create(self) -> RunOutcome:
        return self._step_named("create", "create the realm")

    def finalize(self) -> RunOutcome:
        return self._step_named("finalize", "create the REC")

    def activate(self) -> RunOutcome:
        return self._step_named("activate", "activate the realm")

    def _step_named(self, verb: str, what: str) -> RunOutcome:
        if not self.realm:
            return RunOutcome(False, f"cannot {what}: this is a normal VM")
        step = self.profile.step(verb)
        if step is None:
            return RunOutcome(False, self.profile.missing[verb])
        return self.advance(step.after)

    def _machine(self) -> Machine:
        if self.machine is None:
            raise SessionError("the session is closed")
        return self.machine

    def _update_context(self) -> None:
        m = self._machine()
        state = RealmState.NONE
        if self.realm:
            state = RealmState.ACTIVE if m.active else (
                RealmState.NEW if m.realm_created else RealmState.NONE
            )
        self.context = replace(
            self.context, realm_state=state, rec_created=m.rec_created,
        )

    # --- reading ---------------------------------------------------------------------------------
    def register_ids(self) -> list[int]:
        self.list_note = None
        try:
            return self.vcpu.reg_list()
        except KvmError as e:
            if e.errno != errno_mod.EPERM:
                raise SessionError(f"cannot list the registers: {e}") from None
        # Without [PATCH v9 39/43] (profile seed, or upstream with SVE) KVM_GET_REG_LIST is
        # EPERM until the vCPU is finalized -- for a realm, until its REC runs in an active
        # realm. A VMM knows struct kvm_regs without asking, as kvmtool and QEMU do, and reads
        # those registers one by one; so does the Session.
        self.list_note = (
            "KVM_GET_REG_LIST: EPERM until the vCPU is finalized (no [PATCH v9 39/43]); "
            "showing the core registers of struct kvm_regs"
        )
        return regs_mod.core_register_ids(self.config.sve)

    def read(self, reg_id: int) -> tuple[int | None, str | None]:
        try:
            return self.vcpu.get_reg(reg_id), None
        except KvmError as e:
            return None, e.errno_name

    def _rec_view(self) -> Any:
        if self.inspector is None or not self.realm:
            return None
        return self.inspector.rec_now(self.vcpu.fd)

    def _snapshot(self, index: int, label: str, exit_info: ExitInfo | None) -> Snapshot:
        view = self._rec_view()
        # The snapshot before this one (a refresh replaces the last in place).
        before = [s for s in self.history if s.index < index]
        earlier = before[-1].by_id() if before else {}
        rows = []
        ids = self.register_ids()
        try:
            # One call for all the reads: one round trip when the vCPU is behind an agent;
            # each read's own failure comes back in its place, so only a lost agent raises.
            values = self.vcpu.get_regs(ids)
        except KvmError as e:
            raise SessionError(f"cannot read the registers: {e}") from None
        for reg_id, (value, error) in zip(ids, values, strict=True):
            info = describe(reg_id)
            err = error.errno_name if error is not None else None
            cell = _rec_cell(info, value, view) if self.simulated and self.realm else None
            real = cell.value if cell is not None else None
            prev = earlier.get(reg_id)
            rows.append(RegView(
                info, value, err, verdict(info, self.context), real, cell,
                history=ValueHistory(label, value, prev.history if prev else None),
            ))
        return Snapshot(index, label, self.stage, self.context, tuple(rows), exit_info)

    def _refresh_current(self) -> Snapshot:
        """Re-read the registers in place (after an edit or a lifecycle step)."""
        last = self.history[-1] if self.history else None
        index = last.index if last else 0
        label = last.label if last else "start"
        exit_info = last.exit if last else None
        snap = self._snapshot(index, label, exit_info)
        if self.history:
            self.history[-1] = snap
        return snap

    @property
    def simulated(self) -> bool:
        return self.inspector is not None

    @property
    def backend_name(self) -> str:
        """What the header calls the backend: sim or kvm."""
        return self.backend.name

    @property
    def current(self) -> Snapshot:
        return self.history[-1]

    def next_step(self) -> str:
        """What the demo guest will do when it next runs, from its listing at the pc the
        guest will resume at (the sim's REC for a realm, KVM's pc for a normal VM)."""
        if self.stage is Stage.OFF:
            return "nothing: the guest has powered off"
        pc = None
        if self.realm and self.simulated:
            view = self._rec_view()
            pc = view.regs.get(regs_mod.PC) if view is not None else None
            if view is None:
                pc = self.read(regs_mod.PC)[0]  # before REC creation KVM's pc is the one
        elif not self.realm or not self.context.rec_created:
            pc = self.read(regs_mod.PC)[0]
        if pc is None:
            return ""
        if self.exits and isinstance(self.exits[-1].exit, MmioExit):
            pc += 4  # the access completes at the next KVM_RUN, which steps over it
        program = self._machine().program
        step = program.step_at(pc)
        if step is not None:
            return f"{step.name}: {step.summary}"
        if not program.steps:  # your own guest (--guest): no steps to name, its symbol if any
            where = program.symbol_at(pc)
            return f"pc 0x{pc:x}" + (f" <{where}>" if where else "")
        return f"pc 0x{pc:x} is outside the demo"

    def value_history(self, reg_id: int) -> list[tuple[str, int | None]]:
        """A register's value at each snapshot so far: what its view carries (RegView.history)."""
        row = self.current.by_id().get(reg_id)
        return row.history.items() if row is not None and row.history is not None else []

    # --- writing ---------------------------------------------------------------------------------
    def resolve(self, text: str) -> RegInfo:
        return describe(parse_register(text))

    def set(self, reg: str | int, value: str | int, action: str = "set") -> SetOutcome:
        """Check, write, read back. The grid shows only what the read-back returned.
        `action`: the step's name in a recording (undo writes through here too)."""
        o = self._set(reg, value)
        if o.input_error or o.reg is None:
            return o  # refused before the kernel: not a step
        shown = value if isinstance(value, str) else f"0x{value:x}"
        return self._stepped(f"{action} {o.reg.name} {shown}" if action == "set" else
                             f"{action} {o.reg.name}", o)

    def _set(self, reg: str | int, value: str | int) -> SetOutcome:
        try:
            info = describe(reg) if isinstance(reg, int) else self.resolve(reg)
        except UnknownRegister as e:
            return SetOutcome(False, None, str(e), input_error=True)
        try:
            number = value if isinstance(value, int) else parse_value(value, info.bits)
            if number < 0 or number >= 1 << info.bits:
                raise BadValue(f"0x{number:x} does not fit in u{info.bits}")
        except BadValue as e:
            return SetOutcome(False, info, str(e), input_error=True)
        old, _ = self.read(info.id)
        predicted = verdict(info, self.context, number, old)
        try:
            self.vcpu.set_reg(info.id, number)
        except KvmError as e:
            agrees = not predicted.access.accepted and predicted.errno in (None, e.errno_name)
            if agrees:
                message = f"{e.errno_name} — {predicted.reason} ({predicted.source})"
            elif not predicted.access.accepted:
                message = (
                    f"{e.errno_name} — the kernel refused, as predicted, but the rules expected "
                    f"{predicted.errno}: {predicted.reason} ({predicted.source})"
                )
            else:
                message = (
                    f"{e.errno_name} — the kernel refused, although the rules predicted "
                    f"'{predicted.access}': {predicted.reason} ({predicted.source})"
                )
            self._refresh_current()
            return SetOutcome(
                False, info, message, value=old, old=old, errno=e.errno_name,
                verdict=predicted, agrees=agrees,
            )
        new, read_err = self.read(info.id)
        self.edits[info.id] = number
        self.done_edits.append(EditDone(info.id, old, number, len(self.exits), self.stage))
        self._refresh_current()
        # Read-only: a different value is refused or does not stick; the value it holds is
        # always accepted back.
        agrees = predicted.access.accepted or (
            predicted.access is Access.READ_ONLY and new == old
        )
        message = self._accepted_message(predicted, number, new, read_err)
        return SetOutcome(
            True, info, message, value=new, old=old, verdict=predicted, agrees=agrees,
        )

    def _accepted_message(
        self, predicted: Verdict, number: int, new: int | None, read_err: str | None
    ) -> str:
        if read_err is not None:
            return f"accepted, but reading it back failed with {read_err}"
        kept = "" if new == number else f"; it reads back as 0x{new:x}"
        match predicted.access:
            case Access.EFFECTIVE:
                return f"accepted; the guest will see it{kept}"
            case Access.IGNORED:
                return f"accepted by KVM; the RMM will not read it — {predicted.reason}{kept}"
            case Access.WRITABLE:
                return f"written{kept}"
            case Access.READ_ONLY:
                return f"accepted, but the register kept its value{kept}"
        return (
            f"accepted by the kernel, although the rules predicted '{predicted.access}': "
            f"{predicted.reason}{kept}"
        )

    # --- running ---------------------------------------------------------------------------------
    def provide_mmio(self, value: str | int) -> SetOutcome:
        """The data a pending MMIO read returns to the guest (kvm_run.mmio.data)."""
        o = self._provide_mmio(value)
        return o if not o.ok else self._stepped(f"mmio 0x{o.value:x}", o)

    def _provide_mmio(self, value: str | int) -> SetOutcome:
        pending = self.pending_mmio
        if pending is None:
            return SetOutcome(False, None, "no MMIO read is pending", input_error=True)
        try:
            number = value if isinstance(value, int) else parse_value(value, 8 * pending.length)
            self.vcpu.set_mmio_data(number)
        except (BadValue, ValueError) as e:
            return SetOutcome(False, None, str(e), input_error=True)
        self.mmio_data = number
        return SetOutcome(True, None, f"the guest will read 0x{number:x} at the next run", number)

    def run(self) -> RunOutcome:
        """KVM_RUN to the next exit; the new snapshot and which registers changed."""
        return self._stepped("run", self._run())

    def _run(self) -> RunOutcome:
        if self.stage is Stage.OFF:
            return RunOutcome(False, "the guest has powered off: restart to run it again")
        if self.pending_mmio is not None and self.mmio_data is None:
            return RunOutcome(
                False,
                f"the guest is waiting for the data of its {self.pending_mmio.length}-byte MMIO "
                f"read at 0x{self.pending_mmio.addr:x}: give it first (mmio VALUE)",
            )
        last = self.exits[-1] if self.exits else None
        if last is not None and last.exit.reason == abi.KVM_EXIT_SYSTEM_EVENT:
            # PSCI SYSTEM_OFF stopped every vCPU (psci.c kvm_prepare_system_event), and a
            # stopped vCPU would sleep in KVM_RUN. Wake it, as a VMM that restarts would:
            # for a realm the next REC_ENTER then meets a SYSTEM_OFF realm.
            try:
                self.vcpu.set_mp_state(abi.KVM_MP_STATE_RUNNABLE)
            except KvmError as e:
                return RunOutcome(False, str(e), errno=e.errno_name)
        before = self.current
        try:
            kexit = self.vcpu.run()
        except KvmError as e:
            if e.errno == errno_mod.EINTR:
                # Interrupted after entering: the realm was activated on the way in.
                self._first_run_done()
            self._after_failed_run()
            return RunOutcome(False, str(e), errno=e.errno_name, snapshot=self._refresh_current())
        self._first_run_done()
        return self._after_exit(before, kexit)

    def _first_run_done(self) -> None:
        """v12 on: the first KVM_RUN that got into the realm activated it and created the REC
        from x0-x7 and pc (kvm_activate_realm, cca-uapi-v12-v16.md C12, O4)."""
        if self.realm and self.profile.implicit and self.stage is not Stage.ACTIVE:
            self._machine().first_run_done()
            self.stage = Stage.ACTIVE
            self._update_context()

    def _kvm_rmi_exit(self) -> int | None:
        """The RMI exit reason KVM last handled, where the kernel lets us see it (the sim)."""
        if self.inspector is None or not self.realm:
            return None
        return self.inspector.kvm_rec_exit_reason(self.vcpu.fd)

    def _after_exit(self, before: Snapshot, kexit: Exit) -> RunOutcome:
        rmi_major = self.profile.uapi.rmi_major
        cause, rmi = _cause(kexit, self.realm, self._kvm_rmi_exit(), rmi_major)
        info = ExitInfo(
            number=len(self.exits) + 1, exit=kexit, cause=cause, rmi_reason=rmi,
            pc=self.read(regs_mod.PC)[0], step=self._step_text(kexit), **self._exit_syndromes(),
        )
        self.exits.append(info)
        self.pending_mmio = kexit if isinstance(kexit, MmioExit) and not kexit.is_write else None
        self.mmio_data = None
        self.edits = {}
        self.context = replace(self.context, last_exit=cause, has_run=True)
        if cause is ExitCause.SHUTDOWN or (
            not self.realm and cause is ExitCause.PSCI
        ):
            self.stage = Stage.OFF
        snap = self._snapshot(info.number, info.label, info)
        self.history.append(snap)
        old = before.by_id()
        changed = frozenset(
            r.id for r in snap.regs if r.id not in old or old[r.id].value != r.value
        )
        return RunOutcome(True, info.label, exit=info, snapshot=snap, changed=changed)

    def _after_failed_run(self) -> None:
        """A KVM_RUN that failed before entering the REC (EINTR on a stopped vCPU, EPERM, ...)
        leaves the last exit's reason in force; one that entered and came back with an
        interrupt exit (RMI_EXIT_IRQ, then EINTR) does not: the next REC_ENTER completes that
        exit, and KVM copies no GPRs for it (cca-semantics.md Corrections 11)."""
        rmi_exit = self._kvm_rmi_exit()
        if rmi_exit in (RMI_EXIT_IRQ, RMI_EXIT_FIQ) and self.context.last_exit is not (
            ExitCause.OTHER
        ):
            self.context = replace(self.context, last_exit=ExitCause.OTHER, has_run=True)

    def _step_text(self, kexit: Exit) -> str:
        """What the guest was doing, from the demo's listing at the exiting instruction."""
        if kexit.reason == abi.KVM_EXIT_SHUTDOWN:
            return ""
        pc = None
        if self.simulated and self.realm:
            view = self._rec_view()
            pc = view.regs.get(regs_mod.PC) if view is not None else None
        elif not self.realm:
            pc = self.read(regs_mod.PC)[0]
        if pc is None:
            return ""  # a real realm: KVM's pc is stale, and the REC's is confidential
        if not isinstance(kexit, MmioExit):
            pc -= 4  # SMC/HVC: the exit's return address is after the calling instruction
        step = self._machine().program.step_at(pc)
        return f"{step.name}: {step.summary}" if step else ""

    def _exit_syndromes(self) -> dict[str, int | None]:
        if self.inspector is None or not self.realm:
            return {}
        view = self._rec_view()
        esr = self.inspector.last_kernel_esr(self.vcpu.fd)
        return {
            "kernel_esr": esr, "rmm_esr": view.last_esr if view else None,
            "plane": self.inspector.rec_exit_plane(self.vcpu.fd),
        }
