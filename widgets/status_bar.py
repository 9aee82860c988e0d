"""The top line: which VM, where it is in its life, and the last exit — always visible, also
at 80x24 where the realm panel is hidden."""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from realmtui.session import Stage
from realmtui.view import SessionView
from widgets.palette import Palette


def status_text(view: SessionView, palette: Palette) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(" realmtui ", style="bold reverse")
    text.append(f" {view.context.vm} · {view.context.profile} · {view.backend}", style="bold")
    text.append("  │  ")
    stage_style = palette.error if view.stage is Stage.OFF else palette.accent
    text.append(view.stage.label, style=stage_style)
    if view.realm:
        text.append(f" · REC {'yes' if view.context.rec_created else 'no'}")
    text.append("  │  ")
    if view.last_exit is None:
        text.append("no exit yet", style=palette.muted)
    else:
        text.append(f"E{view.last_exit.number} KVM_EXIT_{view.last_exit.exit.name}")
    if view.needs_mmio_data:
        text.append("  │  ")
        text.append("MMIO read waits for data (r)", style=palette.warning)
    elif view.next_step:
        text.append("  │  next ")
        text.append(view.next_step, style=palette.muted)
    return text


def first_line(text: Text, width: int, console: Console) -> Text:
    """The first line of `text` wrapped at words to `width`, without its trailing spaces."""
    plain = text.plain
    if len(plain) <= width and cell_len(plain) == len(plain) and "\n" not in plain:
        line = text.copy()  # it fits: most of the time, and no need to wrap
    else:
        line = text.wrap(console, width, no_wrap=False)[0]
    line.rstrip()
    return line


class StatusBar(Widget):
    """One line of text, drawn with the line API: it changes at every step, and a Static
    would turn the text into Textual content and lay it out again each time (twice the
    cost)."""

    DEFAULT_CSS = """
    StatusBar {
        dock: top;
        height: 1;
        background: $panel;
        color: $text;
    }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.text = Text()
        self._strip: Strip | None = None  # the line as drawn, for its width and style
        self._base: Style | None = None  # the CSS's colours, worked out once per theme

    def show(self, view: SessionView, palette: Palette) -> None:
        text = status_text(view, palette)
        if text != self.text:
            self.text = text
            self._strip = None
            self.refresh()  # one line, always: no re-layout needed

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strip = None  # a new theme: its colours
        self._base = None

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        strip = self._strip
        if strip is None or strip.cell_length != width:
            # The first line of the text wrapped to the width: what a one-line Static shows.
            console = self.app.console
            line = first_line(self.text, width, console)
            if self._base is None:
                self._base = self.rich_style
            base = self._base
            strip = Strip(list(line.render(console, end=""))).apply_style(base)
            strip = strip.adjust_cell_length(width, Style(bgcolor=base.bgcolor))
            self._strip = strip
        return strip if y == 0 else Strip.blank(width, self._base)
