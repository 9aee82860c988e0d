"""The inline editor: an Input drawn right under the register's row, and the note that
answers a write in the same place.

The value is checked here, as the user types, with `values.parse_value` (syntax, decimal or
0x-hex, the register's width, no negative numbers). Nothing reaches the kernel until the
text parses; a bad value leaves the editor open with the text and the reason in red.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import on
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from realmtui.model import RegView
from realmtui.values import BadValue, format_value, parse_value

HINT = "decimal or 0x-hex, up to u{bits} · enter writes · esc cancels"


@dataclass(frozen=True)
class Anchor:
    """Where the editor goes: the register's screen line, the column and width to use, and
    the lines it may cover (top <= y < bottom). It sits just under the row, or just over it
    when there is no room under it."""

    x: int
    row: int
    width: int
    top: int
    bottom: int

    def y_for(self, height: int) -> int:
        if self.row + 1 + height <= self.bottom:
            return self.row + 1
        return max(self.top, self.row - height)


class InlineEditor(Vertical):
    DEFAULT_CSS = """
    InlineEditor {
        layer: overlay;
        position: absolute;
        display: none;
        height: auto;
        max-height: 8;
        background: $panel;
        border: round $accent;
        border-title-color: $text;
        border-title-style: bold;
        padding: 0 1;
    }
    InlineEditor.-open { display: block; }
    InlineEditor.-note { border: round $primary; }
    InlineEditor.-error { border: round $error; }
    InlineEditor.-warning { border: round $warning; }
    InlineEditor.-success { border: round $success; }
    InlineEditor.-note Input { display: none; }
    InlineEditor Input {
        border: none;
        height: 1;
        padding: 0;
        background: $surface;
    }
    InlineEditor Input:focus { border: none; }
    InlineEditor #hint { color: $text-muted; }
    InlineEditor #hint.-error { color: $text-error; text-style: bold; }
    InlineEditor #hint.-warning { color: $text-warning; }
    InlineEditor #hint.-success { color: $text-success; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    @dataclass
    class Submitted(Message):
        """A value that parsed and fits; the app writes it."""

        reg_id: int
        value: int

    @dataclass
    class Cancelled(Message):
        reg_id: int | None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reg: RegView | None = None
        self.busy = False
        self.anchor: Anchor | None = None
        self.anyway = False  # editing a register the rules say KVM refuses
        self._initial = ""  # the text it opened with

    def compose(self):  # noqa: ANN201 - Textual's ComposeResult
        yield Input(id="value", select_on_focus=True)
        yield Static(id="hint", markup=False)

    def on_mount(self) -> None:
        self.input.cursor_blink = getattr(self.app, "cursor_blink", True)

    @property
    def input(self) -> Input:
        return self.query_one("#value", Input)

    @property
    def is_editing(self) -> bool:
        return self.has_class("-open") and not self.has_class("-note")

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    @property
    def hint_text(self) -> str:
        return str(self.query_one("#hint", Static).content)

    # --- opening and closing ------------------------------------------------------------------
    def edit(self, reg: RegView, anchor: Anchor, *, anyway: bool = False) -> None:
        self.reg = reg
        self.busy = False
        access = reg.verdict.access
        self.border_title = f"edit {reg.info.name} · u{reg.info.bits} · {access}"
        self.remove_class("-note", "-error", "-warning", "-success")
        value = "" if reg.value is None else format_value(reg.value, reg.info.bits)
        self._initial = value.replace("_", "")
        self.anyway = anyway
        self.input.value = self._initial
        if anyway:
            self._hint(f"predicted {access}: {reg.verdict.reason}. Enter sends it to KVM anyway.",
                       "warning")
            self.add_class("-warning")
        else:
            self._hint(HINT.format(bits=reg.info.bits))
        self._place(anchor)
        self.input.focus()

    def note(self, title: str, message: str, severity: str, anchor: Anchor) -> None:
        """Show an answer under the row, without taking the focus."""
        self.busy = False
        self.border_title = title
        self.remove_class("-error", "-warning", "-success")
        self.add_class("-note", f"-{severity}" if severity != "information" else "-note")
        self._hint(message, severity)
        self._place(anchor)

    def show_error(self, message: str) -> None:
        """A kernel error while editing: keep the text, say why in red."""
        self.busy = False
        self.remove_class("-warning", "-success")
        self.add_class("-error")
        self._hint(message, "error")
        self.input.focus()

    def close(self) -> None:
        self.remove_class("-open", "-note", "-error", "-warning", "-success")
        self.busy = False
        self.reg = None

    def move_to(self, anchor: Anchor) -> None:
        """The grid moved (a resize): follow the row, keeping whatever was typed."""
        if self.is_open:
            self._place(anchor)

    def _place(self, anchor: Anchor) -> None:
        self.anchor = anchor
        self.styles.width = anchor.width
        self.add_class("-open")
        self._follow(self.height_estimate(anchor.width))

    def _follow(self, height: int) -> None:
        if self.anchor is not None:
            self.styles.offset = (self.anchor.x, self.anchor.y_for(height))

    def on_resize(self) -> None:
        # The message decides the height; once it is laid out, keep the row uncovered.
        self._follow(self.outer_size.height)

    def _hint(self, text: str, severity: str = "") -> None:
        hint = self.query_one("#hint", Static)
        hint.update(text)
        hint.set_class(severity == "error", "-error")
        hint.set_class(severity == "warning", "-warning")
        hint.set_class(severity == "success", "-success")

    def height_estimate(self, width: int) -> int:
        """Lines the box will take at this width (border, input, wrapped hint), before it is
        laid out; on_resize corrects it."""
        inner = max(10, width - 4)
        lines = sum(max(1, -(-len(part) // inner)) for part in self.hint_text.split("\n"))
        return 2 + min(lines, 5) + (0 if self.has_class("-note") else 1)

    # --- typing -------------------------------------------------------------------------------
    def _parse(self) -> int:
        assert self.reg is not None
        return parse_value(self.input.value, self.reg.info.bits)

    @on(Input.Changed, "#value")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.reg is None or not self.is_editing or self.busy:
            return
        if event.value == self._initial:
            return  # the editor just opened: keep its first hint
        try:
            number = self._parse()
        except BadValue as e:
            self._hint(str(e), "error")
            return
        bits = self.reg.info.bits
        self.remove_class("-error")  # it parses now: no longer red
        then = (f"predicted {self.reg.verdict.access}: enter sends it anyway" if self.anyway
                else "enter writes")
        self._hint(f"→ {format_value(number, bits)} ({number}) · {then} · esc cancels")

    @on(Input.Submitted, "#value")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.reg is None or self.busy:
            return
        try:
            number = self._parse()
        except BadValue as e:
            self.remove_class("-warning", "-success")
            self.add_class("-error")
            self._hint(str(e), "error")
            self.app.bell()
            return
        self.busy = True
        self._hint(f"KVM_SET_ONE_REG {self.reg.info.name} = {number:#x} …")
        self.post_message(self.Submitted(self.reg.id, number))

    def action_cancel(self) -> None:
        reg_id = self.reg.id if self.reg is not None else None
        self.post_message(self.Cancelled(reg_id))
