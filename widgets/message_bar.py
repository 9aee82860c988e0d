"""The line under the grid: the answer to the last action, or else why the highlighted
register has its verdict. Inline, so it can be read (and tested) without toasts."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from realmtui.session import RegView

ICONS = {"information": "ℹ", "success": "✓", "warning": "⚠", "error": "✗"}


class MessageBar(Static):
    DEFAULT_CSS = """
    MessageBar {
        /* Fixed: a bar that grew and shrank with its text would resize the grid above it,
           and a resized grid repaints every row. The full text is also under the row. */
        height: 2;
        padding: 0 1;
        background: $surface;
        color: $text-muted;
    }
    MessageBar.-error { color: $text-error; background: $error-muted; }
    MessageBar.-warning { color: $text-warning; background: $warning-muted; }
    MessageBar.-success { color: $text-success; background: $success-muted; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs, markup=False)
        self.severity = "information"
        self.text = ""

    def say(self, message: str, severity: str = "information") -> None:
        self._show(f"{ICONS.get(severity, '')} {message}", severity)

    def explain(self, reg: RegView | None) -> None:
        """The verdict's reason for the highlighted register (until the next answer)."""
        if reg is None:
            self._show("a group row: enter folds or unfolds it", "information")
            return
        v = reg.verdict
        self._show(f"{reg.info.name} · {v.access}: {v.reason} — {v.source}", "information")

    def _show(self, text: str, severity: str) -> None:
        if text == self.text and severity == self.severity:
            return  # nothing new: spare the re-layout
        if severity != self.severity:
            for s in ("error", "warning", "success"):
                self.set_class(severity == s, f"-{s}")
        self.severity = severity
        self.text = text
        self.update(Text(text), layout=False)  # fixed height: no re-layout needed
