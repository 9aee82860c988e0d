"""The MMIO read prompt: the data the guest's load returns, which the VMM hands back in
kvm_run.mmio.data before the next KVM_RUN."""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from backends.exits import MmioExit
from realmtui.values import BadValue, parse_value
from widgets.key_footer import KeyFooter


class MmioPrompt(ModalScreen[int | None]):
    """Dismissed with the value (already checked against the access width), or None."""

    DEFAULT_CSS = """
    MmioPrompt { align: center middle; background: $background 40%; }
    MmioPrompt > Vertical {
        width: 72;
        max-width: 100%;
        height: auto;
        border: round $warning;
        border-title-style: bold;
        background: $panel;
        padding: 0 1;
    }
    MmioPrompt Input { border: round $primary; margin: 1 0 0 0; }
    MmioPrompt Input:focus { border: round $accent; }
    MmioPrompt #mmio-error { color: $text-error; text-style: bold; height: auto; }
    MmioPrompt #mmio-help { color: $text-muted; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, mmio: MmioExit, exit_label: str) -> None:
        super().__init__()
        self.mmio = mmio
        self.exit_label = exit_label

    @property
    def bits(self) -> int:
        return 8 * self.mmio.length

    def compose(self):  # noqa: ANN201
        with Vertical() as box:
            box.border_title = f"MMIO read · {self.exit_label}"
            yield Static(
                f"The guest reads {self.mmio.length} bytes at {self.mmio.addr:#x}. The VMM "
                "answers: the value goes to the guest in kvm_run.mmio.data at the next "
                "KVM_RUN.", markup=False,
            )
            yield Input(placeholder="0x…", id="mmio-value")
            yield Static("", id="mmio-error", markup=False)
            yield Static(f"decimal or 0x-hex, up to u{self.bits} · enter gives it and runs · "
                         "esc cancels", id="mmio-help", markup=False)
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.cursor_blink = getattr(self.app, "cursor_blink", True)
        field.focus()

    @property
    def error_text(self) -> str:
        return str(self.query_one("#mmio-error", Static).content)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            value = parse_value(event.value, self.bits)
        except BadValue as e:
            self.query_one("#mmio-error", Static).update(str(e))
            self.app.bell()
            return
        self.dismiss(value)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_one("#mmio-error", Static).update("")

    def action_cancel(self) -> None:
        self.dismiss(None)
