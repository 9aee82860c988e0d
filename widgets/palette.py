"""Cell styles for the grid and panels, taken from the app's theme.

The grid draws its cells as Rich segments, which can't use CSS variables, so the theme's colours
are resolved once here (and again when the theme changes). Every styled thing also carries a
word or a symbol, so nothing depends on colour alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.color import Color as RichColor
from rich.style import Style
from rich.text import Text
from textual.app import App
from textual.color import Color

from realmtui.verdict import Access

# IDA's register view: blue = changed at the last event, purple = modified by the user.
# There is no purple in Textual's theme variables, so it is fixed.
EDITED_PURPLE = "#c77dff"
READ_ONLY_GREY = "#6b6b6b"

BADGE_WIDTH = 11  # " read-only "
CHANGED_MARK = "●"  # the value changed at the last exit
EDITED_MARK = "✎"  # the user wrote it since the last exit


def _color(variables: dict[str, str], name: str, fallback: str) -> RichColor:
    """A theme variable as a Rich colour. Via Textual's Color, which knows the ansi_* names
    of the ansi themes and alpha; anything it can't read ("auto 60%") takes the fallback."""
    try:
        return Color.parse(variables.get(name, fallback)).rich_color
    except Exception:
        return Color.parse(fallback).rich_color


@dataclass(frozen=True)
class Palette:
    badges: dict[Access, Style]
    changed: Style
    edited: Style
    stale: Style
    muted: Style
    error: Style
    warning: Style
    success: Style
    group: Style
    accent: Style

    @classmethod
    def from_app(cls, app: App) -> Palette:
        v = app.get_css_variables()
        success = _color(v, "success", "#4ebf71")
        warning = _color(v, "warning", "#fea62b")
        error = _color(v, "error", "#b93c5b")
        primary = _color(v, "primary-lighten-2", "#539eff")
        black, white = "#000000", "#ffffff"
        return cls(
            badges={
                Access.EFFECTIVE: Style(bgcolor=success, color=black, bold=True),
                Access.WRITABLE: Style(bgcolor=success, color=black, bold=True),
                Access.IGNORED: Style(bgcolor=warning, color=black, bold=True),
                Access.REFUSED: Style(bgcolor=error, color=white, bold=True),
                Access.READ_ONLY: Style(bgcolor=READ_ONLY_GREY, color=white, bold=True),
            },
            changed=Style(color=primary, bold=True),
            edited=Style(color=EDITED_PURPLE, bold=True),
            stale=Style(color=_color(v, "text-warning", "#ffc473"), bold=True),
            muted=Style(color=_color(v, "foreground-darken-3", "#8a8a8a"), dim=False),
            error=Style(color=_color(v, "text-error", "#d17e92"), bold=True),
            warning=Style(color=_color(v, "text-warning", "#ffc473")),
            success=Style(color=_color(v, "text-success", "#8ad4a1")),
            group=Style(color=_color(v, "accent", "#fea62b"), bold=True),
            accent=Style(color=primary, bold=True),
        )

    def badge(self, access: Access) -> Text:
        """The verdict as a coloured badge that also reads without colour."""
        text = Text()
        text.append(f" {access} ", style=self.badges[access])  # the badge, not the whole cell
        text.pad_right(BADGE_WIDTH - len(text))
        return text
