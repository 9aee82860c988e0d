"""The realm demo, E1-E9, end to end: through the Session and through `realmtui batch`.
Each exit shows one rule (DESIGN.md, "The demo guests")."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from backends import abi, guests
from backends.exits import HypercallExit, MemoryFaultExit, MmioExit, SystemEventExit
from realmtui import regs
from realmtui.context import ExitCause
from realmtui.session import Session, SessionConfig, Stage
from realmtui.verdict import Access

X0_BEFORE_REC = 0x1111_2222_3333_4444
X8_BEFORE_REC = 0x8888_8888_8888_8888
X1_AFTER_HOSTCALL = 0xFEED_FACE_0000_0001
X0_DURING_MMIO_READ = 0xBAD0_BAD0
MMIO_DATA = 0x0123_4567_89AB_CDEF
PSCI_RET_INTERNAL_FAILURE = (1 << 64) - 6  # -6, as KVM leaves it in x0 after SYSTEM_OFF


def _access(s: Session, name: str) -> Access:
    return s.current.by_id()[regs.parse_register(name)].verdict.access


def test_realm_demo_through_the_session() -> None:
    s = Session()
    assert s.stage is Stage.REALM_CREATED
    assert _access(s, "x0") is Access.EFFECTIVE and _access(s, "x8") is Access.IGNORED
    assert s.set("x0", hex(X0_BEFORE_REC)).ok and s.set("x8", hex(X8_BEFORE_REC)).ok
    assert s.finalize().ok and s.activate().ok
    assert _access(s, "x0") is Access.IGNORED  # the REC exists: REC_CREATE took x0 already

    e1 = s.run().exit
    assert isinstance(e1.exit, MmioExit) and e1.exit.is_write
    assert e1.exit.data == X0_BEFORE_REC  # the value set before REC creation reached the guest
    assert e1.exit.addr == guests.REALM_UART_IPA & ~(1 << (guests.REALM_IPA_BITS - 1))

    e2 = s.run().exit
    assert isinstance(e2.exit, MmioExit) and e2.exit.data == 0  # REC_CREATE takes x0-x7 only

    out3 = s.run()
    e3 = out3.exit
    assert isinstance(e3.exit, HypercallExit) and e3.exit.nr == guests.HOSTCALL_FID
    assert e3.cause is ExitCause.HOST_CALL
    # x0-x30 are the struct's gprs, as the RMM published them.
    assert s.read(regs.x_id(0))[0] == guests.HOSTCALL_FID
    assert s.read(regs.x_id(1))[0] == guests.HOSTCALL_ARG1_INITIAL
    assert regs.x_id(1) in out3.changed
    assert all(_access(s, f"x{n}") is Access.EFFECTIVE for n in range(31))
    assert _access(s, "pc") is Access.IGNORED
    assert s.set("x1", hex(X1_AFTER_HOSTCALL)).ok

    e4 = s.run().exit
    assert isinstance(e4.exit, MmioExit) and e4.exit.data == X1_AFTER_HOSTCALL

    e5 = s.run().exit
    assert isinstance(e5.exit, MmioExit) and not e5.exit.is_write
    assert _access(s, "x0") is Access.IGNORED
    assert not s.run().ok  # the VMM must give the read's data first
    assert s.set("x0", hex(X0_DURING_MMIO_READ)).ok  # accepted ... and ignored
    assert s.provide_mmio(hex(MMIO_DATA)).ok

    e6 = s.run().exit
    assert isinstance(e6.exit, MmioExit) and e6.exit.data == MMIO_DATA

    e7 = s.run().exit
    assert isinstance(e7.exit, MemoryFaultExit) and e7.exit.errno == 14  # -EFAULT
    assert (e7.exit.gpa, e7.exit.size) == (
        guests.RIPAS_CHANGE_BASE, guests.RIPAS_CHANGE_TOP - guests.RIPAS_CHANGE_BASE
    )
    assert e7.exit.private  # the guest asked for RIPAS RAM
    assert e7.cause is ExitCause.RIPAS_CHANGE

    e8 = s.run().exit
    assert isinstance(e8.exit, SystemEventExit)
    assert e8.exit.type == abi.KVM_SYSTEM_EVENT_SHUTDOWN
    # rec_exit_psci copies the RMM's gprs (x0 = the FID), then kvm_psci_call preloads x0 with
    # PSCI_RET_INTERNAL_FAILURE for a VMM that resumes anyway -- as the real 6.1 does.
    assert s.read(regs.x_id(0))[0] == PSCI_RET_INTERNAL_FAILURE
    row = s.current.by_id()[regs.x_id(3)]
    assert row.verdict.access is Access.IGNORED
    assert "x0-x6" in row.verdict.reason and "TF-RMM" in row.verdict.reason

    e9 = s.run().exit
    assert e9.exit.reason == abi.KVM_EXIT_SHUTDOWN
    assert s.stage is Stage.OFF
    assert not s.run().ok  # nothing runs after SHUTDOWN; the app offers a restart
    assert len(s.history) == 10  # the start and one snapshot per exit


def test_edits_are_read_back_and_errors_keep_the_old_value() -> None:
    s = Session()
    before = s.read(regs.SP)[0]
    out = s.set("sp", "0x1234")
    assert not out.ok and out.errno == "EINVAL" and out.value == before
    assert "validate_realm_set_reg" in out.message and out.message.startswith("EINVAL — ")
    assert s.current.by_id()[regs.SP].value == before
    out = s.set("x9", "42")
    assert out.ok and out.value == 42 and "RMM will not read it" in out.message


def test_the_guest_sees_the_edit_of_x0_before_rec_creation_only() -> None:
    s = Session()
    s.finalize()
    s.set("x0", "0x77")  # after REC creation: KVM takes it, the REC never sees it
    s.activate()
    e1 = s.run().exit
    assert isinstance(e1.exit, MmioExit) and e1.exit.data != 0x77


def test_run_before_activation_is_the_kernels_eperm() -> None:
    s = Session()
    out = s.run()
    assert not out.ok and out.errno == "EPERM"


def test_history_keeps_each_registers_value_per_exit() -> None:
    s = Session()
    s.set("x0", "0x10")
    s.finalize()
    s.activate()
    s.run()
    s.run()
    labels = [label for label, _ in s.value_history(regs.x_id(0))]
    assert labels == ["start", "E1 MMIO", "E2 MMIO"]
    # After E1 KVM sets x[SRT] = the written value; the RMM hides SRT, so that is x0.
    assert [v for _, v in s.value_history(regs.x_id(0))] == [0x10, 0x10, 0]


def test_normal_demo_through_the_session() -> None:
    s = Session(SessionConfig(vm="normal"))  # type: ignore[arg-type]
    assert s.stage is Stage.INITIALISED
    assert all(r.verdict.access in (Access.WRITABLE, Access.READ_ONLY) for r in s.current.regs)
    s.set("x0", "0xabc")
    e1 = s.run().exit
    assert isinstance(e1.exit, MmioExit) and e1.exit.data == 0xABC
    e2 = s.run().exit
    assert isinstance(e2.exit, MmioExit) and not e2.exit.is_write
    s.provide_mmio("0x5a")
    e3 = s.run().exit
    assert isinstance(e3.exit, MmioExit) and e3.exit.data == 0x5A
    assert s.read(regs.x_id(1))[0] == 0x5A  # a normal VM's registers are the guest's
    e4 = s.run().exit
    assert isinstance(e4.exit, SystemEventExit) and s.stage is Stage.OFF


BATCH_SCRIPT = f"""
state
set x0 {hex(X0_BEFORE_REC)}
set x8 {hex(X8_BEFORE_REC)}
set sp 0x10
finalize
activate
run
run
run
set x1 {hex(X1_AFTER_HOSTCALL)}
run
run
mmio {hex(MMIO_DATA)}
run
run
run
run
get x0
"""


def _batch(script: str, *args: str) -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "realmtui", "batch", *args], input=script, text=True,
        capture_output=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_realm_demo_through_batch() -> None:
    answers = _batch(BATCH_SCRIPT)
    by_cmd = [a["command"] for a in answers]
    assert by_cmd.count("run") == 9
    sp = answers[3]
    assert sp["ok"] is False and sp["errno"] == "EINVAL" and "22/43" in sp["source"]
    exits = [a["exit"] for a in answers if a["command"] == "run"]
    assert [e["reason"] for e in exits] == [
        "MMIO", "MMIO", "HYPERCALL", "MMIO", "MMIO", "MMIO", "MEMORY_FAULT", "SYSTEM_EVENT",
        "SHUTDOWN",
    ]
    assert int(exits[0]["data"], 16) == X0_BEFORE_REC
    assert int(exits[1]["data"], 16) == 0
    assert int(exits[2]["nr"], 16) == guests.HOSTCALL_FID
    assert int(exits[3]["data"], 16) == X1_AFTER_HOSTCALL
    assert exits[4]["is_write"] is False
    assert int(exits[5]["data"], 16) == MMIO_DATA
    assert exits[6]["ret_errno"] == "EFAULT" and exits[6]["private"] is True
    assert exits[7]["type"] == "SHUTDOWN"
    assert int(answers[-1]["value"], 16) == PSCI_RET_INTERNAL_FAILURE


@pytest.mark.parametrize("profile", ["v12", "v13", "v14"])
def test_the_demo_walks_to_shutdown_with_the_same_effects_on_rmi_kernels(profile: str) -> None:
    """v12 on: no REC-creation or activation step (batch says so); the first run creates the
    REC from x0-x7 and pc, and E1-E9 show what they show on v9."""
    script = BATCH_SCRIPT.replace("finalize\nactivate\n", "")
    answers = _batch(script + "finalize\nactivate\n", "--profile", profile)
    exits = [a["exit"] for a in answers if a["command"] == "run"]
    assert [e["reason"] for e in exits] == [
        "MMIO", "MMIO", "HYPERCALL", "MMIO", "MMIO", "MMIO", "MEMORY_FAULT", "SYSTEM_EVENT",
        "SHUTDOWN",
    ]
    assert int(exits[0]["data"], 16) == X0_BEFORE_REC  # the first run made the REC from x0
    assert int(exits[1]["data"], 16) == 0  # ... and from x0-x7 only
    assert int(exits[3]["data"], 16) == X1_AFTER_HOSTCALL
    assert int(exits[5]["data"], 16) == MMIO_DATA
    assert exits[6]["ret_errno"] == "EFAULT" and exits[6]["private"] is True
    finalize, activate = answers[-2:]
    assert not finalize["ok"] and finalize["error"].startswith(
        f"{profile} has no REC-creation step: the first run creates the RECs"
    )
    assert not activate["ok"] and "first run activates" in activate["error"]


@pytest.mark.parametrize("line,needle", [
    ("set x0", "expected: set REG VALUE"),
    ("set x0 zz", "not a number"),
    ("set x0 0x1ffffffffffffffff", "u64"),
    ("get nosuchreg", "unknown register"),
    ("frobnicate", "unknown command"),
    ("mmio 1", "no MMIO read is pending"),
    ('set "x0', "no quotes"),
    ("set x1 1 2", "expected: set REG VALUE"),
    ("help me", "expected: help"),
    ("set x0 " + "9" * 4301, "too wide"),
    ("get S3_0_C１_C0_0", "non-ASCII"),
])
def test_batch_answers_malformed_lines_with_what_was_expected(line: str, needle: str) -> None:
    (answer,) = _batch(line + "\n")
    assert answer["ok"] is False and needle in answer["error"]


def test_batch_regs_lists_every_register_with_its_verdict() -> None:
    (answer,) = _batch("regs\n")
    rows = answer["regs"]
    assert len(rows) == 76
    x0 = rows[0]
    assert set(x0) >= {"id", "name", "size", "group", "value", "access", "reason"}
    assert (x0["name"], x0["access"]) == ("x0", "effective")
    assert {r["access"] for r in rows} == {"effective", "ignored", "refused"}


def test_batch_answers_every_line_around_bad_bytes_and_long_lines() -> None:
    """Issue 12 items 6, 8, 9: a non-UTF-8 line, a line over the limit, CR-only endings and
    a BOM each get an answer (or none is lost) and the lines after them are answered."""
    data = (b"\xef\xbb\xbfstate\rstate\n\xffbad\n" + b"0" * (70 * 1024)
            + b"\nstate\n")
    proc = subprocess.run([sys.executable, "-m", "realmtui", "batch"], input=data,
                          capture_output=True, timeout=60)
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [a["line"] for a in answers] == [1, 2, 3, 4, 5]
    assert [a["ok"] for a in answers] == [True, True, False, False, True]
    assert "byte 0xff" in answers[2]["error"] and "longer than" in answers[3]["error"]


def test_each_register_view_carries_its_value_history() -> None:
    """The UI draws a register's history from its view, without calling the live Session."""
    s = Session()
    s.set("x0", "0x10")
    s.finalize()
    s.activate()
    s.run()
    s.run()
    row = s.current.by_id()[regs.x_id(0)]
    assert row.history is not None
    assert row.history.items() == s.value_history(regs.x_id(0))
    assert row.history.items() == [("start", 0x10), ("E1 MMIO", 0x10), ("E2 MMIO", 0)]
