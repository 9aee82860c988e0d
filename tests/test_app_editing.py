"""Editing in the app: checked before the kernel, written in the worker, read back, and the
kernel's answer shown at the register."""

from __future__ import annotations

from realmtui.backend import open_kernel
from realmtui.context import Profile
from realmtui.regs import parse_register
from realmtui.screenshots import edit, run_to, select, settle
from realmtui.session import Session, SessionConfig, Stage
from realmtui.values import format_value

SIZE = (140, 42)


def make(config: SessionConfig | None = None, session: Session | None = None):  # noqa: ANN201
    from realmtui.app import RealmApp

    return RealmApp(session or Session(config or SessionConfig()), cursor_blink=False)


def cell(app, name: str, column: str) -> str:  # noqa: ANN001
    return app.grid.get_cell(f"{parse_register(name):#x}", column).plain


async def test_good_edit_shows_the_read_back_value_and_says_so() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await run_to(pilot, 3)  # after the host call every GPR is effective
        await edit(pilot, "x1", "0x1234")
        x1 = parse_register("x1")
        read_back, _ = app.session.read(x1)
        assert read_back == 0x1234
        assert cell(app, "x1", "value") == format_value(read_back, 64)
        assert cell(app, "x1", "mark") == "✎"  # written by the user, not by the exit
        assert "accepted; the guest will see it" in app.message.text
        assert not app.editor.is_editing
        # The guest sees it: E4 writes the x1 the host returned to the UART.
        await pilot.press("r")
        await settle(pilot)
        assert app.view.last_exit.exit.data == 0x1234


async def test_ignored_write_is_accepted_but_says_the_rmm_will_not_read_it() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await edit(pilot, "x8", "42")  # before REC creation only x0-x7 go into the REC
        assert cell(app, "x8", "value") == format_value(42, 64)
        assert "accepted by KVM; the RMM will not read it" in app.message.text
        assert app.message.severity == "warning"


async def test_einval_is_inline_and_the_old_value_stays() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        sp = parse_register("sp")
        before = cell(app, "sp", "value")
        await edit(pilot, "sp", "0x80001000", presses=2)
        assert app.editor.is_editing  # kept open, with the text
        assert app.editor.input.value == "0x80001000"
        hint = app.editor.hint_text
        assert hint.startswith("EINVAL — ")
        assert "validate_realm_set_reg" in hint  # the rule's source
        assert "EINVAL" in app.message.text and app.message.severity == "error"
        assert cell(app, "sp", "value") == before
        assert app.session.read(sp)[0] == 0


async def test_refused_register_dims_edit_explains_then_lets_you_try() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, "sp")
        bindings = app.screen.active_bindings
        assert bindings["e"].binding.action == "edit"
        assert bindings["e"].enabled is False  # shown, dimmed
        await pilot.press("e")
        await pilot.pause()
        assert not app.editor.is_editing
        assert app.editor.is_open  # the explanation, under the row
        assert "KVM refuses all but x0-x30" in app.editor.hint_text
        assert "Press e again" in app.editor.hint_text
        await pilot.press("enter")  # the second press (enter or e) opens the editor anyway
        await pilot.pause()
        assert app.editor.is_editing
        assert "predicted refused" in app.editor.hint_text
        assert "anyway" in app.editor.hint_text
        await select(pilot, "x0")
        assert app.screen.active_bindings["e"].enabled is True


async def test_malformed_input_is_refused_before_the_kernel_and_keeps_the_text() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        writes = []
        original = app.session.set
        app.session.set = lambda *a: writes.append(a) or original(*a)
        await edit(pilot, "x1", "0xZZ")
        assert app.editor.is_editing
        assert app.editor.input.value == "0xZZ"
        assert "is not a number" in app.editor.hint_text
        assert app.editor.has_class("-error")
        await pilot.press("ctrl+u", *"-1", "enter")
        await pilot.pause()
        assert "negative numbers are not accepted" in app.editor.hint_text
        assert writes == []  # nothing reached the session
        assert cell(app, "x1", "value") == format_value(0, 64)


async def test_too_wide_value_is_refused_with_the_width() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await edit(pilot, "x2", "0x1" + "0" * 16)
        assert app.editor.is_editing
        assert "65 bits wide; this register holds u64" in app.editor.hint_text
        assert app.session.read(parse_register("x2"))[0] == 0


async def test_escape_cancels_the_edit_and_loses_no_value() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, "x3")
        await pilot.press("e", *"77", "escape")
        await pilot.pause()
        assert not app.editor.is_open
        assert cell(app, "x3", "value") == format_value(0, 64)
        assert app.focused is app.grid


async def test_disagreement_with_the_prediction_is_said_out_loud() -> None:
    # Rules of the seed profile, kernel of the whole v9 series: the kernel takes a write the
    # rules call refused. The app must say so, not hide it.
    session = Session(SessionConfig(profile=Profile.SEED, start=Stage.REALM_NEW),
                      kernel=open_kernel("sim", Profile.V9))
    app = make(session=session)
    async with app.run_test(size=SIZE) as pilot:
        value = app.session.read(parse_register("ID_AA64DFR0_EL1"))[0]
        await edit(pilot, "ID_AA64DFR0_EL1", hex(value), presses=2)
        assert "kernel ≠ prediction" in app.message.text
        assert app.message.severity == "warning"


async def test_the_click_that_focuses_the_page_does_not_edit() -> None:
    # Issue 8 item 2: in a browser the first click (to give the page the keys) landed on
    # the highlighted row and opened the editor, so `f a r` went into it. The events come
    # as the driver sends them: focus, then mouse down and up (Textual makes the click).
    from textual import events

    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        row = app.grid.cursor_screen_row()
        x = app.grid.region.x + 8

        async def click() -> None:
            for cls in (events.MouseDown, events.MouseUp):
                app.post_message(cls(None, x, row, 0, 0, 1, False, False, False,
                                     screen_x=x, screen_y=row))
            await pilot.pause(0.1)

        app.post_message(events.AppBlur())
        await pilot.pause()
        app.post_message(events.AppFocus())
        await click()
        assert not app.editor_open
        await pilot.press("f")  # keys go to the app, not into an editor
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert app.view.context.rec_created
        await pilot.pause(0.6)
        await click()  # a click a moment later: the cursor row, so it edits
        assert app.editing
