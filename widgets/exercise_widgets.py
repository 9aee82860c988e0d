"""What exercise mode draws besides the app's widgets: the grid with its verdict column
hidden (the student predicts it), and a box showing the answer to a question."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from realmtui.verdict import Access
from widgets.register_grid import RegisterGrid

HIDDEN = "?"


class HiddenVerdictGrid(RegisterGrid):
    """The register grid with every verdict shown as `?`."""

    OFFERS_EDIT = False

    def _badge(self, access: Access) -> Text:
        return Text(HIDDEN, style=self.palette.muted)


class InfoBox(ModalScreen[None]):
    """A message in a box; enter, n or esc closes it."""

    DEFAULT_CSS = """
    InfoBox { align: center middle; background: $background 40%; }
    InfoBox > Vertical {
        width: 90;
        max-width: 100%;
        height: auto;
        max-height: 90%;
        border: round $accent;
        border-title-style: bold;
        background: $panel;
        padding: 0 1;
    }
    InfoBox VerticalScroll { height: auto; max-height: 30; }
    InfoBox #info-help { color: $text-muted; margin-top: 1; }
    """

    BINDINGS = [Binding("enter,n,escape", "close", "Next", priority=True)]

    def __init__(self, title: str, text: str, help_text: str = "enter: next") -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.help_text = help_text

    def compose(self):  # noqa: ANN201
        with Vertical() as box:
            box.border_title = self.title_text
            with VerticalScroll():
                yield Static(self.text, markup=False, id="info-text")
            yield Static(self.help_text, id="info-help", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
