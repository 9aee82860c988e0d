"""The line under the grid: the answer to the last action, or else why the highlighted
register has its verdict. Inline, so it can be read (and tested) without toasts."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.color import Color
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from realmtui.model import RegView
from widgets.palette import readable
from widgets.plain_lines import render_plain

PAD = 1  # a cell of background at each end of a line

ICONS = {"information": "ℹ", "success": "✓", "warning": "⚠", "error": "✗"}
# The theme's colours for each severity (text, background); information keeps the CSS look.
# Set as inline styles, not CSS classes: a class change restyles the widget against the
# whole stylesheet (over a millisecond), and a run that warns would pay it twice.
SEVERITY_COLORS = {
    "error": ("text-error", "error-muted"),
    "warning": ("text-warning", "warning-muted"),
    "success": ("text-success", "success-muted"),
}


class MessageBar(Widget):
    """Its text, wrapped to its two lines, drawn with the line API: it changes at almost every
    key, and a Static would turn it into Textual content and lay that out each time."""

    DEFAULT_CSS = """
    MessageBar {
        /* Fixed: a bar that grew and shrank with its text would resize the grid above it,
           and a resized grid repaints every row. The full text is also under the row. */
        height: 2;
        /* No CSS padding: the bar pads its own lines (PAD), which keeps it plain
           (widgets/plain_lines.py) and its repaint off Textual's styling pass. */
        background: $surface;
        color: $text-muted;
    }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.severity = "information"
        self.text = ""
        self._lines: list[Strip] | None = None  # the text as drawn
        self._drawn_for: int | None = None  # at this width
        self._style: Style | None = None  # the colours, worked out once per severity or theme

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._color())

    def say(self, message: str, severity: str = "information") -> None:
        self._show(f"{ICONS.get(severity, '')} {message}", severity)

    def explain(self, reg: RegView | None) -> None:
        """The verdict's reason for the highlighted register (until the next answer)."""
        if reg is None:
            self._show("a group row: enter folds or unfolds it", "information")
            return
        v = reg.verdict
        self._show(f"{reg.info.name} · {v.access}: {v.reason} — {v.source}", "information")

    def _show(self, text: str, severity: str) -> None:
        if text == self.text and severity == self.severity:
            return  # nothing new: spare the repaint
        changed = severity != self.severity
        self.severity = severity
        self.text = text
        if changed:
            self._color()
        self._lines = None
        self.refresh()  # fixed height: no re-layout needed

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style = None
        self._lines = None

    def _color(self) -> None:
        """Colour the bar for its severity, from the current theme."""
        self._style = None
        self._lines = None
        styles = self.styles
        names = SEVERITY_COLORS.get(self.severity)
        if names is None:
            for rule in ("auto_color", "color", "background"):
                styles.clear_rule(rule)  # back to the CSS
            self.refresh()
            return
        variables = self.app.theme_variables or self.app.get_css_variables()
        styles.auto_color = False  # the CSS's colour is "auto": a contrast colour
        background = Color.parse(variables[names[1]])
        if background.a < 1:  # the muted backgrounds are the colour over the screen's
            screen = Color.parse(variables.get("background", "#000000"))
            background = screen.blend(background.with_alpha(1.0), background.a)
        color = Color.parse(variables[names[0]])
        if "ansi" not in self.app.theme:
            color = readable(color, [background])
        styles.color = color
        styles.background = background

    def render_lines(self, crop: Region) -> list[Strip]:
        return render_plain(self, crop)

    def render_line(self, y: int) -> Strip:
        outer = self.size.width
        width = max(1, outer - 2 * PAD)
        if self._style is None:
            self._style = self.rich_style
        style = self._style
        blank = Style(bgcolor=style.bgcolor)
        if self._lines is None or self._drawn_for != outer:
            console = self.app.console
            self._lines = []
            text = Text(self.text)
            plain = self.text
            if len(plain) <= width and cell_len(plain) == len(plain) and "\n" not in plain:
                lines = [text]  # it fits on the first line: no need to wrap
            else:
                wrapped = text.wrap(console, width)
                lines = list(wrapped[: self.size.height])
                if len(wrapped) > len(lines) and lines:
                    # Cut: say so (the full text is in the register panel, or the help).
                    last = lines[-1]
                    last.rstrip()
                    if last.cell_len > width - 1:
                        last.truncate(max(0, width - 1), overflow="crop")
                        last.rstrip()
                    last.append("…")
            pad = Segment(" " * PAD, blank)
            for n in range(self.size.height):
                if n < len(lines):
                    line = lines[n]
                    line.rstrip()
                    strip = Strip(list(line.render(console, end=""))).apply_style(style)
                    strip = strip.adjust_cell_length(width, blank)
                else:
                    strip = Strip.blank(width, style)
                self._lines.append(Strip([pad, *strip, pad], width + 2 * PAD))
            self._drawn_for = outer
        if y < len(self._lines):
            return self._lines[y]
        return Strip.blank(outer, style)
