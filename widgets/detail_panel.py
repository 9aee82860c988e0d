"""The detail panel: the highlighted register in full — value, bitfields, verdict and why,
and its value at every earlier exit."""

from __future__ import annotations

from rich.console import Group as RichGroup
from rich.console import RenderableType
from rich.text import Text

from realmtui.model import RecMark, RegView, SetOutcome
from realmtui.values import format_value
from widgets.palette import Palette
from widgets.rich_lines import Content, PanelScroll, Part, RichLines
from widgets.text_table import TextTable


def value_rows(reg: RegView, palette: Palette, shows_rec: bool) -> TextTable:
    bits = reg.info.bits
    table = TextTable()
    if reg.value is None:
        table.add_row(Text("KVM", style=palette.muted),
                      Text(f"KVM_GET_ONE_REG failed: {reg.read_errno}", style=palette.error))
    else:
        table.add_row(Text("KVM", style=palette.muted), Text(format_value(reg.value, bits)))
        table.add_row(Text("dec", style=palette.muted), Text(str(reg.value)))
    cell = reg.rec
    if shows_rec and cell is not None:
        # The words come from the Session (RecCell.note); only the styling is decided here.
        if cell.value is None:
            real = Text(f"— {cell.note}", style=palette.muted)
        elif cell.mark is RecMark.SAME:
            real = Text(f"{format_value(cell.value, bits)}  {cell.note}", style=palette.muted)
        else:
            stale = cell.mark is RecMark.STALE
            real = Text(format_value(cell.value, bits), style=palette.stale if stale else "")
            real.append(f"\n{cell.note}", style=palette.warning if stale else palette.muted)
        table.add_row(Text("REC", style=palette.muted), real)
    return table


def verdict_rows(reg: RegView, palette: Palette) -> TextTable:
    v = reg.verdict
    table = TextTable()
    table.add_row(Text("write now", style=palette.muted), palette.badge(v.access))
    table.add_row(Text("why", style=palette.muted), Text(v.reason))
    table.add_row(Text("source", style=palette.muted), Text(v.source, style=palette.muted))
    if v.errno:
        table.add_row(Text("errno", style=palette.muted), Text(v.errno, style=palette.error))
    return table


def field_rows(reg: RegView, palette: Palette) -> TextTable | None:
    if reg.value is None:
        return None
    from realmtui.decode import decode  # when first drawn: not needed for the first frame

    fields = decode(reg.info.name, reg.value)
    if not fields:
        return None
    table = TextTable(columns=4)
    for f in fields:
        bits = f"[{f.msb}]" if f.msb == f.lsb else f"[{f.msb}:{f.lsb}]"
        quiet = f.value == 0 and not f.meaning
        style = palette.muted if quiet else ""
        table.add_row(Text(f.name, style=style or "bold"), Text(bits, style=palette.muted),
                      Text(f"{f.value:#x}" if f.value > 9 else str(f.value), style=style),
                      Text(f.meaning, style=style))
    return table


def history_rows(reg: RegView, palette: Palette) -> TextTable:
    """The register's value at each snapshot, from the history its view carries."""
    table = TextTable()
    previous: int | None = None
    history = reg.history.items() if reg.history is not None else []
    for i, (label, value) in enumerate(history):
        changed = i > 0 and value != previous
        text = "—" if value is None else format_value(value, reg.info.bits)
        table.add_row(Text(label, style=palette.muted),
                      Text(text + ("  ●" if changed else ""),
                           style=palette.changed if changed else ""))
        previous = value
    return table


def detail_parts(
    reg: RegView, palette: Palette, shows_rec: bool, last_write: SetOutcome | None = None,
) -> list[Part]:
    """The panel's text in parts, each with what it is built from: a step re-renders only
    the parts whose inputs changed (mostly the history's new line)."""
    info = reg.info

    def title() -> Text:
        # "x0 · GPRs · u64 · id 0x…": the space after the name is in the name's run, so a
        # renderer with a wider font than the cell (an SVG viewer) can't close the gap.
        text = Text(f"{info.name} ", style="bold")
        text.append(f"· {info.group} · u{info.bits} · id {info.hex_id}", style=palette.muted)
        return text

    def verdict() -> RichGroup:
        return RichGroup(Text(""), Text("verdict", style=palette.group),
                         verdict_rows(reg, palette))

    parts = [
        Part(("title", info, palette), title),
        Part(("value", info, reg.value, reg.read_errno, reg.rec, shows_rec, palette),
             lambda: value_rows(reg, palette, shows_rec)),
        Part(("verdict", reg.verdict, palette), verdict),
    ]
    if last_write is not None and last_write.reg is not None and last_write.reg.id == reg.id:
        style = palette.success if last_write.ok else palette.error
        parts.append(Part(("write", last_write, palette), lambda: RichGroup(
            Text(""), Text("last write", style=palette.group),
            Text(last_write.message, style=style))))
    if reg.value is not None:
        def fields() -> RichGroup:
            table = field_rows(reg, palette)
            if table is None:
                return RichGroup()
            return RichGroup(Text(""), Text("fields", style=palette.group), table)

        parts.append(Part(("fields", info, reg.value, palette), fields))
    parts.append(Part(("history", info, reg.history, palette), lambda: RichGroup(
        Text(""), Text("at each exit", style=palette.group), history_rows(reg, palette))))
    return parts


def detail_renderable(
    reg: RegView, palette: Palette, shows_rec: bool, last_write: SetOutcome | None = None,
) -> RenderableType:
    """The whole panel's text as one renderable (the parts, one after another)."""
    return RichGroup(*(part.build() for part in detail_parts(reg, palette, shows_rec,
                                                               last_write)))


class DetailPanel(PanelScroll):
    DEFAULT_CSS = """
    DetailPanel {
        height: 1fr;
        border: round $primary 50%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    can_focus = True  # so the keyboard can scroll it when it takes the screen (i)

    def compose(self):  # noqa: ANN201
        yield RichLines(id="detail-body", fill=True)

    def on_mount(self) -> None:
        self.border_title = "register"

    _shown: object = None  # what the body was drawn from

    def show(self, content: Content, title: str) -> None:
        """Show a renderable, or parts (widgets/rich_lines.py): then only the parts whose
        inputs changed are rendered again, and nothing at all when none did."""
        if self.border_title != title:  # setting it, even to the same text, repaints the panel
            self.border_title = title
        if isinstance(content, list | tuple):
            inputs = [part.inputs for part in content]
            if inputs == self._shown:
                return
            self._shown = inputs
        else:
            self._shown = None
        self.query_one("#detail-body", RichLines).update(content)
