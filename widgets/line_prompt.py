"""A one-line question in a box: the replay's `g` (go to an exit) and the exercise's answer.

Dismissed with the text once `check` accepts it (it returns None, or the reason it does not),
or with None on escape."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

Check = Callable[[str], str | None]


class LinePrompt(ModalScreen[str | None]):
    DEFAULT_CSS = """
    LinePrompt { align: center middle; background: $background 40%; }
    LinePrompt > Vertical {
        width: 76;
        max-width: 100%;
        height: auto;
        border: round $accent;
        border-title-style: bold;
        background: $panel;
        padding: 0 1;
    }
    LinePrompt Input { border: round $primary; margin: 1 0 0 0; }
    LinePrompt Input:focus { border: round $accent; }
    LinePrompt #prompt-error { color: $text-error; text-style: bold; height: auto; }
    LinePrompt #prompt-help { color: $text-muted; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, text: str, help_text: str, check: Check,
                 placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.help_text = help_text
        self.check = check
        self.placeholder = placeholder

    def compose(self):  # noqa: ANN201
        with Vertical() as box:
            box.border_title = self.title_text
            yield Static(self.text, markup=False)
            yield Input(placeholder=self.placeholder, id="prompt-value")
            yield Static("", id="prompt-error", markup=False)
            yield Static(self.help_text, id="prompt-help", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        problem = self.check(text)
        if problem is not None:
            self.query_one("#prompt-error", Static).update(problem)
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
