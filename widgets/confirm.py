"""A yes/no question, for restarting the VM (which throws its state away)."""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from widgets.key_footer import KeyFooter


class Confirm(ModalScreen[bool]):
    DEFAULT_CSS = """
    Confirm { align: center middle; background: $background 40%; }
    Confirm > Vertical {
        width: 64;
        max-width: 100%;
        height: auto;
        border: round $accent;
        border-title-style: bold;
        background: $panel;
        padding: 0 1;
    }
    Confirm Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    Confirm Button { margin-left: 1; min-width: 12; }
    """

    # The footer says what the buttons say ("y Restart  n Cancel"); enter and esc are the
    # same answers, unadvertised.
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Restart", key_display="y", priority=True),
        Binding("n,escape", "answer(False)", "Cancel", key_display="n", priority=True),
    ]

    def __init__(self, title: str, question: str) -> None:
        super().__init__()
        self.title_text = title
        self.question = question

    def compose(self):  # noqa: ANN201
        with Vertical() as box:
            box.border_title = self.title_text
            yield Static(self.question, markup=False)
            with Horizontal():
                yield Button("Restart (y)", variant="warning", id="yes")
                yield Button("Cancel (n)", id="no")
        yield KeyFooter(compact=True)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
