"""The realm panel: the VM, its lifecycle, and the last exit decoded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group as RichGroup
from rich.text import Text

from realmtui.model import SessionView, Stage
from widgets.palette import Palette
from widgets.rich_lines import PanelScroll, Part, RichLines
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


def realm_parts(view: SessionView, palette: Palette, compact: bool = False) -> list[Part]:
    """The panel's text in parts, each with what it is built from (widgets/rich_lines.py):
    at a step the VM's rows mostly stay and only the exit and what comes next are rendered
    again. `compact`: the last exit alone, for the narrow panel beside the compact grid (the
    VM and its stage are in the status line above)."""

    def top() -> TextTable:
        table = _table()
        for label, value in vm_rows(view, palette):
            table.add_row(Text(label, style=palette.muted), value)
        return table

    def exit_rows() -> TextTable:
        # Imported when first drawn: the decoders are not needed for the first frame on a
        # small terminal, where the panel is folded away.
        from realmtui.exit_explain import explain_exit

        table = _table(stacked=compact)
        if view.last_exit is None:
            table.add_row(Text("exit", style=palette.muted),
                          Text("none yet: the vCPU has not run", style=palette.muted))
        else:
            for line in explain_exit(view.last_exit, view.realm, view.mmio_data):
                table.add_row(Text(line.label, style=palette.muted), _cell(line, palette))
        return table

    def next_rows() -> RichGroup:
        nxt = _table(stacked=compact)
        if view.stage is Stage.OFF:
            nxt.add_row(Text("next", style=palette.muted),
                        Text("the guest has powered off — r restarts the VM",
                             style=palette.error))
        elif view.needs_mmio_data:
            nxt.add_row(Text("next", style=palette.muted),
                        Text("r asks for the MMIO data, then runs", style=palette.warning))
        if view.next_step and view.stage is not Stage.OFF:
            nxt.add_row(Text("guest next", style=palette.muted), Text(view.next_step))
        return RichGroup(Text(""), nxt)

    exit_part = Part(("exit", view.last_exit, view.realm, view.mmio_data, compact, palette),
                     exit_rows)
    next_part = Part(("next", view.stage, view.needs_mmio_data, view.next_step, compact,
                      palette), next_rows)
    if compact:  # the panel's title says "last exit"
        return [exit_part, next_part]
    ctx = view.context  # what vm_rows reads of it (its last exit changes at every step)
    top_part = Part(("top", ctx.vm, ctx.profile, ctx.realm_state, ctx.rec_created,
                     view.backend, view.stage, view.simulated, palette),
                    lambda: RichGroup(top(), Text(""), Text("last exit", style=palette.group)))
    return [top_part, exit_part, next_part]


class RealmPanel(PanelScroll):
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

    _shown: list[object] | None = None  # what the body was drawn from

    def show(self, view: SessionView, palette: Palette, compact: bool = False) -> None:
        title = "last exit" if compact else "realm" if view.realm else "VM"
        if self.border_title != title:  # setting it, even to the same text, repaints the panel
            self.border_title = title
        parts = realm_parts(view, palette, compact)
        shown = [part.inputs for part in parts]
        if shown == self._shown:
            return
        self._shown = shown
        self.query_one("#realm-body", RichLines).update(parts)
