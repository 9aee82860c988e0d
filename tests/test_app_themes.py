"""Every theme Textual ships gives readable text: each pair of text and background colour the
app draws has a contrast ratio of at least 4.5:1 (WCAG 2, 1.4.3 AA).

Issue 8 item 7: in textual-light the status line's hint was pale orange on light grey and the
cursor row's changed value blue on navy. The ansi themes are left out: their colours are the
terminal's own, not known here.
"""

from __future__ import annotations

import pytest
from rich.color import Color as RichColor
from textual.color import Color
from textual.theme import BUILTIN_THEMES

from realmtui.session import Session, SessionConfig
from widgets.palette import MIN_CONTRAST, Palette, contrast

THEMES = [name for name in BUILTIN_THEMES if not name.startswith("ansi")]
TEXT_STYLES = ("changed", "edited", "stale", "muted", "error", "warning", "success", "group",
               "accent")


def rgb(color: RichColor | None) -> Color:
    assert color is not None
    return Color.from_rich_color(color)


@pytest.fixture(scope="module")
def pairs_by_theme() -> dict[str, list[tuple[str, float]]]:
    import asyncio

    from realmtui.app import RealmApp
    from realmtui.screenshots import run_to

    async def measure() -> dict[str, list[tuple[str, float]]]:
        app = RealmApp(Session(SessionConfig()), cursor_blink=False)
        out: dict[str, list[tuple[str, float]]] = {}
        async with app.run_test(size=(140, 42)) as pilot:
            await run_to(pilot, 1)
            for theme in THEMES:
                app.theme = theme
                await pilot.pause()
                palette = Palette.from_app(app)
                grounds = {
                    "grid": app.grid.rich_style.bgcolor,
                    "status line": app.query_one("#status").rich_style.bgcolor,
                    "side panel": app.query_one("#realm-body").rich_style.bgcolor,
                }
                pairs = []
                for style in TEXT_STYLES:
                    fg = rgb(getattr(palette, style).color)
                    for where, bg in grounds.items():
                        pairs.append((f"{style} on the {where}", contrast(fg, rgb(bg))))
                app.grid.focus()
                await pilot.pause()
                strip = app.grid.render_line(app.grid.cursor_screen_row() - app.grid.region.y)
                base = next(seg.style for seg in strip if seg.text.strip() == "x0")
                pairs.append(("the cursor row", contrast(rgb(base.color), rgb(base.bgcolor))))
                header = next(seg.style for seg in app.grid.render_line(0)
                              if seg.text.strip() == "register")
                pairs.append(("the grid header", contrast(rgb(header.color),
                                                          rgb(header.bgcolor))))
                status = app.query_one("#status").rich_style
                pairs.append(("the status line", contrast(rgb(status.color),
                                                          rgb(status.bgcolor))))
                for access, badge in palette.badges.items():
                    pairs.append((f"the {access} badge", contrast(rgb(badge.color),
                                                                  rgb(badge.bgcolor))))
                for severity in ("information", "success", "warning", "error"):
                    app.message.say("x", severity)
                    await pilot.pause()
                    bar = app.message.rich_style
                    pairs.append((f"a {severity} answer",
                                  contrast(rgb(bar.color), rgb(bar.bgcolor))))
                out[theme] = pairs
        app.session.close()
        return out

    return asyncio.run(measure())


@pytest.mark.parametrize("theme", THEMES)
def test_every_text_colour_reads_on_its_background(
        theme: str, pairs_by_theme: dict[str, list[tuple[str, float]]]) -> None:
    poor = {what: round(ratio, 2) for what, ratio in pairs_by_theme[theme]
            if ratio < MIN_CONTRAST}
    assert not poor, f"{theme}: below {MIN_CONTRAST}:1: {poor}"
