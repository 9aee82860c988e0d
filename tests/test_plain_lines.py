"""The status line, the grid, the message line and the side panels' bodies skip Textual's
per-line styling pass (widgets/plain_lines.py). What they hand the compositor must be what
that pass would have made of the same lines — under every theme Textual ships, with NO_COLOR
set (the app's line filters then take the colours away), and for a crop of a few columns."""

from __future__ import annotations

import pytest
from textual.geometry import Region
from textual.widget import Widget

from realmtui.app import RealmApp
from realmtui.screenshots import run_to
from realmtui.session import Session, SessionConfig
from widgets.plain_lines import is_plain


@pytest.mark.parametrize("no_color", [False, True])
async def test_plain_widgets_draw_what_textuals_styling_pass_would(
        no_color: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = RealmApp(Session(SessionConfig()), cursor_blink=False)
    async with app.run_test(size=(140, 42)) as pilot:
        await run_to(pilot, 4)  # an exit decoded, a register with history
        widgets = [app.query_one(f"#{name}") for name in ("status", "grid", "message",
                                                          "realm-body", "detail-body")]
        assert app.grid.show_vertical_scrollbar  # its region has the scrollbar too
        themes = sorted(app.available_themes) if not no_color else [app.theme]
        assert len(themes) > 10 or no_color
        for theme in themes:
            app.theme = theme
            await pilot.pause()
            for widget in widgets:
                assert is_plain(widget), widget.id
                width, height = widget.region.size
                inner = Region(3, height // 2, width - 7, min(2, height - height // 2))
                for crop in (Region(0, 0, width, height), inner):
                    ours = widget.render_lines(crop)
                    textuals = Widget.render_lines(widget, crop)
                    assert ours == textuals, f"{widget.id} under {theme}, {crop}"
                    assert [s.cell_length for s in ours] == [crop.width] * crop.height


async def test_a_widget_given_padding_goes_back_to_textuals_pass() -> None:
    app = RealmApp(Session(SessionConfig()), cursor_blink=False)
    async with app.run_test(size=(140, 42)) as pilot:
        await run_to(pilot, 2)
        status = app.query_one("#status")
        status.styles.padding = (0, 2)
        await pilot.pause()
        assert not is_plain(status)
        line = status.render_lines(Region(0, 0, status.size.width, 1))[0]
        assert line.text.startswith("   realmtui")  # the padding, then the badge's space
