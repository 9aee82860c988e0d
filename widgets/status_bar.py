"""The top line: which VM, where it is in its life, and the last exit — always visible, also
at 80x24 where the realm panel is hidden."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from realmtui.model import SessionView, Stage
from widgets.palette import Palette
from widgets.plain_lines import render_plain

# Below this width the name badge goes and the separators shrink, so the exit and the start
# of the guest's next step still fit in 80 columns.
ROOMY = 110


def status_text(view: SessionView, palette: Palette, width: int = ROOMY) -> Text:
    roomy = width >= ROOMY
    sep = "  │  " if roomy else " │ "
    text = Text(no_wrap=True, overflow="ellipsis")
    if roomy:
        text.append(" realmtui ", style="bold reverse")
        text.append(" ")
    else:
        text.append(" ")
    ctx = view.context
    # A normal VM has no realm series: the profile (seed, v9, v10) means nothing for it.
    vm = f"{ctx.vm} · {ctx.profile}" if view.realm else f"{ctx.vm} VM"
    text.append(f"{vm} · {view.backend}", style="bold")
    text.append(sep)
    stage_style = palette.error if view.stage is Stage.OFF else palette.accent
    text.append(view.stage.label, style=stage_style)
    if view.realm:
        text.append(f" · REC {'yes' if ctx.rec_created else 'no'}")
    text.append(sep)
    if view.last_exit is None:
        text.append("no exit yet", style=palette.muted)
    else:
        text.append(f"E{view.last_exit.number} KVM_EXIT_{view.last_exit.exit.name}")
    if view.needs_mmio_data:
        text.append(sep)
        text.append("MMIO read waits for data (r)", style=palette.warning)
    elif view.next_step:
        text.append(f"{sep}next ")
        text.append(view.next_step, style=palette.muted)
    return text


def fitted(text: Text, width: int) -> Text:
    """One line of `width` cells at most, ending in an ellipsis when cut (the realm panel
    has the whole of the guest's next step)."""
    line = text.copy()
    line.rstrip()
    if line.cell_len > width:
        line.truncate(max(0, width - 1), overflow="crop")
        line.rstrip()
        line.append("…")
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
        self._shown: tuple[SessionView, Palette] | None = None
        self._roomy = True  # which form self.text is in (see ROOMY)
        self._strip: Strip | None = None  # the line as drawn, for its width and style
        self._base: Style | None = None  # the CSS's colours, worked out once per theme

    def show(self, view: SessionView, palette: Palette) -> None:
        self._shown = (view, palette)
        width = self.size.width or ROOMY
        self._roomy = width >= ROOMY
        text = status_text(view, palette, width)
        if text != self.text:
            self.text = text
            self._strip = None
            self.refresh()  # one line, always: no re-layout needed

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strip = None  # a new theme: its colours
        self._base = None

    def render_lines(self, crop: Region) -> list[Strip]:
        return render_plain(self, crop)  # no box of its own: skip Textual's styling pass

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        strip = self._strip
        if strip is None or strip.cell_length != width:
            console = self.app.console
            if self._shown is not None and (width >= ROOMY) != self._roomy:
                self._roomy = width >= ROOMY  # resized across ROOMY: the other form
                self.text = status_text(*self._shown, width)
            line = fitted(self.text, width)
            if self._base is None:
                self._base = self.rich_style
            base = self._base
            strip = Strip(list(line.render(console, end=""))).apply_style(base)
            strip = strip.adjust_cell_length(width, Style(bgcolor=base.bgcolor))
            self._strip = strip
        return strip if y == 0 else Strip.blank(width, self._base)
