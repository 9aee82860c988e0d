"""Pasting into the app's value fields (issue 12 items 9, 12): a 5000-digit number pasted into
the inline editor or the MMIO prompt exited the app (Python's int() refuses strings past 4300
digits). Now it is refused by its length, in place, with the text kept, and the app goes on;
a value with a space inside is not silently joined."""

from __future__ import annotations

from textual import events

from realmtui.regs import parse_register
from realmtui.screenshots import run_to, select, settle
from realmtui.session import Session, SessionConfig

SIZE = (140, 42)
HUGE = "9" * 5000


def make():  # noqa: ANN201
    from realmtui.app import RealmApp

    return RealmApp(Session(SessionConfig()), cursor_blink=False)


async def test_a_huge_paste_into_the_editor_is_refused_in_place() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await run_to(pilot, 3)
        await select(pilot, "x1")
        before, _ = app.session.read(parse_register("x1"))
        await pilot.press("e")
        await pilot.pause()
        field = app.editor.input
        for pasted, needle in ((HUGE, "5000 significant decimal digits are too wide"),
                               ("0x" + "f" * 5000, "5000 significant hex digits"),
                               ("1 2", "is not a number"),
                               ("12\n34", "")):  # a paste of two lines: its first only
            field.value = ""
            field.post_message(events.Paste(pasted))
            await pilot.pause()
            assert app.is_running and app.editor.is_editing
            if needle:
                assert field.value == pasted
                assert needle in app.editor.hint_text, app.editor.hint_text
                await pilot.press("enter")  # refused in place: nothing is written
                await settle(pilot)
                assert app.is_running and app.editor.is_editing
                assert app.editor.has_class("-error")
                assert needle in app.editor.hint_text
            else:
                assert field.value == "12"
        assert app.session.read(parse_register("x1"))[0] == before
        await pilot.press("escape")
        await pilot.pause()
        assert not app.editor.is_editing


async def test_a_huge_paste_into_the_mmio_prompt_is_refused_in_place() -> None:
    from widgets.mmio_prompt import MmioPrompt

    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await run_to(pilot, 5)
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, MmioPrompt)
        prompt = app.screen
        field = prompt.query_one("#mmio-value")
        for pasted in (HUGE, "0x" + "f" * 5000):
            field.value = ""
            field.post_message(events.Paste(pasted))
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
            assert app.is_running and app.screen is prompt
            assert "5000 significant" in prompt.error_text and "u64" in prompt.error_text
            assert len(prompt.error_text) < 200  # a line to read, not the paste echoed back
        await pilot.press("ctrl+u", *"0x42", "enter")
        await settle(pilot)
        assert app.view.last_exit.number == 6
        assert app.view.last_exit.exit.data == 0x42
