"""The top line: which VM, where it is in its life, and the last exit — always visible, also
at 80x24 where the realm panel is hidden."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

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


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar {
        dock: top;
        height: 1;
        background: $panel;
        color: $text;
    }
    """

    def show(self, view: SessionView, palette: Palette) -> None:
        text = status_text(view, palette)
        if text != self._last:
            self._last = text
            self.update(text, layout=False)  # one line, always: no re-layout needed

    _last: Text | None = None
