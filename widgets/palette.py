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


# WCAG 2's minimum for text (1.4.3, AA): a theme colour that reads worse than this on the
# backgrounds it is drawn on is moved towards white or black until it reads (textual-light's
# amber on light grey, catppuccin-latte's pale blue...).
MIN_CONTRAST = 4.5
WHITE, BLACK = Color(255, 255, 255), Color(0, 0, 0)


def _parse(variables: dict[str, str], name: str, fallback: str) -> Color:
    """A theme variable as a Color. Textual's Color knows the ansi_* names of the ansi
    themes and alpha; anything it can't read ("auto 60%") takes the fallback."""
    try:
        return Color.parse(variables.get(name, fallback))
    except Exception:
        return Color.parse(fallback)


def _color(variables: dict[str, str], name: str, fallback: str) -> RichColor:
    return _parse(variables, name, fallback).rich_color


def contrast(a: Color, b: Color) -> float:
    """WCAG 2 contrast ratio of two opaque colours, 1 to 21."""
    def luminance(c: Color) -> float:
        def channel(v: int) -> float:
            x = v / 255
            return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4
        return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def readable(fg: Color, backgrounds: list[Color]) -> Color:
    """`fg`, or the least change of it towards white or black that reads on every one of
    `backgrounds` (the ratio at least MIN_CONTRAST)."""
    best, best_ratio = fg, min(contrast(fg, bg) for bg in backgrounds)
    if best_ratio >= MIN_CONTRAST:
        return fg
    for step in range(1, 21):
        for toward in (WHITE, BLACK):
            candidate = fg.blend(toward, step / 20)
            ratio = min(contrast(candidate, bg) for bg in backgrounds)
            if ratio >= MIN_CONTRAST:
                return candidate
            if ratio > best_ratio:
                best, best_ratio = candidate, ratio
    return best  # two backgrounds too far apart for any one colour: the best there is


def theme_backgrounds(variables: dict[str, str]) -> list[Color]:
    """What text is drawn on: the screen, the grid (and the grid focused, tinted 5% with
    the foreground), the status line and the grid's header."""
    background = _parse(variables, "background", "#121212")
    out = []
    for name, fallback in (("background", "#121212"), ("surface", "#1e1e1e"),
                           ("panel", "#24292f")):
        c = _parse(variables, name, fallback)
        out.append(background.blend(c.with_alpha(1.0), c.a) if c.a < 1 else c)
    foreground = _parse(variables, "foreground", "#e0e0e0")
    out.append(out[1].blend(foreground.with_alpha(1.0), 0.05))
    return out


def badge_style(background: Color) -> Style:
    """Bold black or white, whichever reads better, on `background` darkened or lightened
    as far as it takes to read."""
    text = max((BLACK, WHITE), key=lambda c: contrast(c, background))
    bg = background
    for step in range(1, 21):
        if contrast(text, bg) >= MIN_CONTRAST:
            break
        bg = background.blend(WHITE if text == BLACK else BLACK, step / 20)
    return Style(bgcolor=bg.rich_color, color=text.rich_color, bold=True)


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
        on = theme_backgrounds(v)
        if "ansi" in str(getattr(app, "theme", "")):
            # An ansi theme's colours are the terminal's own: nothing to measure here.
            def fg(name: str, fallback: str) -> RichColor:
                return _color(v, name, fallback)
        else:
            def fg(name: str, fallback: str) -> RichColor:
                return readable(_parse(v, name, fallback), on).rich_color

        def badge(name: str, fallback: str) -> Style:
            return badge_style(_parse(v, name, fallback))

        return cls(
            badges={
                Access.EFFECTIVE: badge("success", "#4ebf71"),
                Access.WRITABLE: badge("success", "#4ebf71"),
                Access.IGNORED: badge("warning", "#fea62b"),
                Access.REFUSED: badge("error", "#b93c5b"),
                Access.READ_ONLY: badge_style(Color.parse(READ_ONLY_GREY)),
            },
            changed=Style(color=fg("primary-lighten-2", "#539eff"), bold=True),
            edited=Style(color=fg("edited", EDITED_PURPLE), bold=True),
            stale=Style(color=fg("text-warning", "#ffc473"), bold=True),
            muted=Style(color=fg("foreground-darken-3", "#8a8a8a"), dim=False),
            error=Style(color=fg("text-error", "#d17e92"), bold=True),
            warning=Style(color=fg("text-warning", "#ffc473")),
            success=Style(color=fg("text-success", "#8ad4a1")),
            group=Style(color=fg("accent", "#fea62b"), bold=True),
            accent=Style(color=fg("primary-lighten-2", "#539eff"), bold=True),
        )

    def badge(self, access: Access) -> Text:
        """The verdict as a coloured badge that also reads without colour."""
        text = Text()
        text.append(f" {access} ", style=self.badges[access])  # the badge, not the whole cell
        text.pad_right(BADGE_WIDTH - len(text))
        return text
