"""The realm panel: the VM, its lifecycle, and the last exit decoded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group as RichGroup
from rich.text import Text
from textual.containers import VerticalScroll

from realmtui.model import SessionView, Stage
from widgets.palette import Palette
from widgets.rich_lines import RichLines
from widgets.text_table import TextTable

if TYPE_CHECKING:
    from realmtui.exit_explain import Line


def _table(stacked: bool = False) -> TextTable:
    return TextTable(columns=2, min_width=9, first_style="bold", stacked=stacked)


def _cell(line: Line, palette: Palette) -> Text:
    style = {"warning": palette.warning, "error": palette.error}.get(line.style, "")
    text = Text(line.text, style=style)
    if line.note:
        text.append("\n" + line.note, style=palette.muted)
    return text


def vm_rows(view: SessionView, palette: Palette) -> list[tuple[str, Text]]:
    ctx = view.context
    rows = [("VM", Text(f"{ctx.vm} · profile {ctx.profile} · backend {view.backend}"))]
    stage = Text(view.stage.label, style=palette.error if view.stage is Stage.OFF else "")
    rows.append(("stage", stage))
    if view.realm:
        rows.append(("realm", Text(f"state {ctx.realm_state} · REC "
                                   f"{'created' if ctx.rec_created else 'not created'}")))
    if view.simulated and view.realm:
        rows.append(("", Text("REC column: the sim's confidential state, no real host sees it",
                              style=palette.muted)))
    return rows


def realm_inputs(view: SessionView) -> tuple[object, ...]:
    """Everything of the view that `realm_renderable` reads."""
    return (view.context, view.backend, view.simulated, view.stage, view.last_exit,
            view.mmio_data, view.pending_mmio, view.next_step)


def realm_renderable(view: SessionView, palette: Palette, compact: bool = False) -> RichGroup:
    """`compact`: the last exit alone, for the narrow panel beside the compact grid (the
    VM and its stage are in the status line above)."""
    top = _table()
    for label, value in vm_rows(view, palette):
        top.add_row(Text(label, style=palette.muted), value)
    # Imported when first drawn: the decoders are not needed for the first frame on a small
    # terminal, where the panel is folded away.
    from realmtui.exit_explain import explain_exit

    exit_table = _table(stacked=compact)
    if view.last_exit is None:
        exit_table.add_row(Text("exit", style=palette.muted),
                           Text("none yet: the vCPU has not run", style=palette.muted))
    else:
        for line in explain_exit(view.last_exit, view.realm, view.mmio_data):
            exit_table.add_row(Text(line.label, style=palette.muted), _cell(line, palette))
    nxt = _table(stacked=compact)
    if view.stage is Stage.OFF:
        nxt.add_row(Text("next", style=palette.muted),
                    Text("the guest has powered off — r restarts the VM", style=palette.error))
    elif view.needs_mmio_data:
        nxt.add_row(Text("next", style=palette.muted),
                    Text("r asks for the MMIO data, then runs", style=palette.warning))
    if view.next_step and view.stage is not Stage.OFF:
        nxt.add_row(Text("guest next", style=palette.muted), Text(view.next_step))
    heading = Text("last exit", style=palette.group)
    if compact:  # the panel's title says "last exit"
        return RichGroup(exit_table, Text(""), nxt)
    return RichGroup(top, Text(""), heading, exit_table, Text(""), nxt)


class RealmPanel(VerticalScroll):
    DEFAULT_CSS = """
    RealmPanel {
        height: auto;
        max-height: 60%;
        border: round $primary 50%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    can_focus = True  # so the keyboard can scroll it when it takes the screen (i)

    def compose(self):  # noqa: ANN201
        yield RichLines(id="realm-body")

    def on_mount(self) -> None:
        self.border_title = "realm"

    _shown: tuple[object, ...] | None = None  # what the body was drawn from
    _palette: Palette | None = None

    def show(self, view: SessionView, palette: Palette, compact: bool = False) -> None:
        title = "last exit" if compact else "realm" if view.realm else "VM"
        if self.border_title != title:  # setting it, even to the same text, repaints the panel
            self.border_title = title
        # Drawn again only when what it shows changed (a table re-wraps all its text).
        shown = (*realm_inputs(view), compact)
        if shown == self._shown and palette is self._palette:
            return
        self._shown, self._palette = shown, palette
        self.query_one("#realm-body", RichLines).update(
            realm_renderable(view, palette, compact))
