"""The side panels keep blank lines below their text, so a step does not lay the whole screen
out each time the text grows (widgets/rich_lines.py); scrolling stops at the text's end."""

from __future__ import annotations

from realmtui.app import RealmApp
from realmtui.screenshots import run_to
from realmtui.session import Session, SessionConfig
from widgets.rich_lines import RichLines


async def test_side_panels_scroll_to_the_end_of_their_text_not_into_blank() -> None:
    app = RealmApp(Session(SessionConfig()), cursor_blink=False)
    async with app.run_test(size=(140, 42)) as pilot:
        await run_to(pilot, 4)  # the exit decoding and the register's history overflow
        for name in ("realm", "detail"):
            panel = app.query_one(f"#{name}")
            body = app.query_one(f"#{name}-body", RichLines)
            window = panel.scrollable_content_region.height
            assert body.text_height > window  # it does scroll...
            assert body.region.height > body.text_height  # ...with blank lines below
            panel.scroll_end(animate=False)
            await pilot.pause()
            # the text's last line is the panel's last line: no blank scrolled into
            assert panel.scroll_y == body.text_height - window
            assert body.render_line(body.text_height - 1).text.strip()
