"""Issue 13 item 4: the REC column (simulation only) tells the truth -- after a host call a GPR
write goes to the guest's RsiHostCall.gprs[n]; once the REC exists every register it holds
shows its value, or why not; an MMIO exit explains the lost unprotected-IPA bit."""

from __future__ import annotations

from backends import guests
from realmtui import regs
from realmtui.exit_explain import explain_exit
from realmtui.session import RecMark, Session, SessionConfig, Stage


def _at_e3() -> Session:
    s = Session(SessionConfig(start=Stage.ACTIVE))
    for _ in range(3):
        assert s.run().ok
    return s


def test_after_a_host_call_the_column_shows_the_struct_and_where_the_write_goes() -> None:
    s = _at_e3()
    out = s.set("x1", 0xFEED_FACE)
    assert out.ok
    row = s.current.by_id()[regs.x_id(1)]
    assert row.rec is not None and row.rec.mark is RecMark.HOST_CALL
    assert row.rec.value == guests.HOSTCALL_ARG1_INITIAL  # what the struct holds now
    assert "host-call struct gprs[1]" in row.rec.note
    assert "stale" not in row.rec.note
    e4 = s.run()  # ... and the guest writes the struct's gprs[1]: the edited value
    assert e4.exit is not None and e4.exit.exit.data == 0xFEED_FACE  # type: ignore[union-attr]
    after = s.current.by_id()[regs.x_id(1)]
    assert after.rec is not None and after.rec.mark is not RecMark.HOST_CALL


def test_once_the_rec_exists_every_register_it_holds_has_a_value() -> None:
    s = Session(SessionConfig(start=Stage.REC_CREATED))
    rows = s.current.by_id()
    for name in ("sp", "elr_el1", "spsr_el1", "v0", "v31", "fpsr", "fpcr", "sp_el1", "pstate",
                 "pc", "x0"):
        cell = rows[regs.parse_register(name)].rec
        assert cell is not None and cell.value is not None, name
    banked = rows[regs.parse_register("spsr_abt")].rec
    assert banked is not None and banked.value is None and "AArch32" in banked.note


def test_before_the_rec_exists_the_column_says_so() -> None:
    s = Session(SessionConfig(start=Stage.REALM_CREATED))
    cell = s.current.by_id()[regs.x_id(0)].rec
    assert cell is not None and cell.mark is RecMark.NONE and "FINALIZE" in cell.note


def test_a_realm_mmio_exit_explains_the_lost_unprotected_bit() -> None:
    s = Session(SessionConfig(start=Stage.ACTIVE))
    e1 = s.run().exit
    assert e1 is not None
    notes = " ".join(line.note for line in explain_exit(e1, realm=True))
    assert f"{guests.REALM_UART_IPA:#x}" in notes  # 0x8009000000, what x20 holds
    assert f"{e1.exit.addr:#x}" == "0x9000000"  # type: ignore[union-attr]


def test_dfr0_in_the_rec_is_what_the_realm_reads_not_a_stale_copy() -> None:
    s = Session(SessionConfig(start=Stage.REC_CREATED))
    cell = s.current.by_id()[regs.ID_AA64DFR0_EL1].rec
    assert cell is not None and cell.value is not None
    assert cell.value & 0xF << 28 == 0  # CTX_CMPs cleared (TF-RMM sysregs.c)
    assert "what the realm reads" in cell.note and "stale" not in cell.note
