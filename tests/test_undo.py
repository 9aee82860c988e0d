"""Issue 9 item 3: undo writes the old value back through KVM_SET_ONE_REG and says what that
does now -- refused, ignored (the guest ran since), or effective; `--start E5` runs the demo
to that exit with its default host answers (app and batch)."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from realmtui import regs
from realmtui.batch import answer_lines
from realmtui.batch_input import read_lines
from realmtui.cli import open_session, parse_args
from realmtui.screenshots import edit, settle
from realmtui.session import Session, SessionConfig, Stage
from realmtui.undo import undo
from realmtui.walk import DEFAULT_MMIO_DATA

CMD = [sys.executable, "-m", "realmtui"]


def _batch(text: str, config: SessionConfig | None = None) -> list[dict]:
    out = io.StringIO()
    session = Session(config or SessionConfig())
    try:
        answer_lines(session, read_lines(io.BytesIO(text.encode())), out)
    finally:
        session.close()
    return [json.loads(x) for x in out.getvalue().splitlines()]


def test_undo_reverts_through_the_kernel_and_goes_back_one_edit_at_a_time() -> None:
    s = Session()
    try:
        assert s.set("x1", "0x55").ok and s.set("x1", "0x66").ok and s.set("x2", "0x7").ok
        o = undo(s)
        assert o.ok and o.reg.name == "x2" and o.value == 0 and s.read(regs.x_id(2))[0] == 0
        o = undo(s)
        assert o.ok and s.read(regs.x_id(1))[0] == 0x55 and "0x0000000000000055 again" in (
            o.message)
        assert undo(s).ok and s.read(regs.x_id(1))[0] == 0
        nothing = undo(s)
        assert not nothing.ok and "nothing to undo" in nothing.message
    finally:
        s.close()


def test_undo_after_the_guest_ran_says_the_revert_is_ignored_now() -> None:
    answers = _batch("finalize\nactivate\nrun\nrun\nrun\nset x1 0x77\nrun\nundo\n")
    revert = answers[-1]
    assert revert["ok"] and revert["access"] == "ignored"
    assert "ignored now" in revert["message"]
    assert "the guest has run 1 exit since the edit" in revert["message"]
    assert revert["value"] == "0x5eed0000cafef00d"  # the value before the edit, read back


def test_undo_the_kernel_refuses_says_so_and_keeps_the_edit() -> None:
    answers = _batch("set ID_AA64DFR0_EL1 0x10205006\ncreate\nundo\nget ID_AA64DFR0_EL1\n",
                     SessionConfig(start=Stage.REALM_NEW))
    refused = answers[2]
    assert not refused["ok"] and refused["errno"] == "EBUSY"
    assert refused["error"].startswith("undo refused: ID_AA64DFR0_EL1 keeps 0x0000000010205006")
    assert "the realm went from realm not created" in refused["error"]
    assert answers[3]["value"] == "0x0000000010205006"


async def test_u_in_the_app_reverts_the_last_edit() -> None:
    from realmtui.app import RealmApp

    app = RealmApp(Session(), cursor_blink=False)
    async with app.run_test(size=(140, 42)) as pilot:
        await edit(pilot, "x3", "0x1234")
        x3 = regs.x_id(3)
        assert app.view.snapshot.by_id()[x3].value == 0x1234
        await pilot.press("u")
        await settle(pilot)
        assert app.view.snapshot.by_id()[x3].value == 0
        assert "undo: x3 is 0x0000000000000000 again" in app.message.text
        await pilot.press("u")
        await settle(pilot)
        assert "nothing to undo" in app.message.text
    app.session.close()


def test_start_at_an_exit_runs_the_demo_there() -> None:
    session, recorder = open_session(parse_args(["batch", "--start", "E6"]), "batch")
    try:
        assert recorder is None and len(session.exits) == 6
        last = session.exits[-1].exit
        assert last.name == "MMIO" and last.data == DEFAULT_MMIO_DATA  # E6 writes the data back
    finally:
        session.close()
    proc = subprocess.run([*CMD, "--start", "E12", "batch"], input="state\n", text=True,
                          capture_output=True, timeout=60)
    assert proc.returncode == 3 and "this demo has 9 exits" in proc.stderr
    bad = subprocess.run([*CMD, "batch", "--start", "E3x"], input="", text=True,
                         capture_output=True, timeout=60)
    assert bad.returncode == 2 and "or an exit such as E5" in bad.stderr


async def test_the_app_starts_at_an_exit() -> None:
    from realmtui.app import RealmApp

    session, _ = open_session(parse_args(["--start", "E3", "--profile", "v14"]), "app")
    app = RealmApp(session, cursor_blink=False)
    async with app.run_test(size=(140, 42)) as pilot:
        await pilot.pause()
        assert app.view.exit_count == 3 and app.view.last_exit.exit.name == "HYPERCALL"
        assert "E3 KVM_EXIT_HYPERCALL" in str(app.query_one("#status").render_line(0).text)
    session.close()
