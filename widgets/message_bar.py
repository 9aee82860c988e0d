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
        height: auto;
        max-height: 3;
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
        self.severity = severity
        self.text = f"{ICONS.get(severity, '')} {message}"
        for s in ("error", "warning", "success"):
            self.set_class(severity == s, f"-{s}")
        self.update(self.text)

    def explain(self, reg: RegView | None) -> None:
        """The verdict's reason for the highlighted register (until the next answer)."""
        if reg is None:
            self.say("a group: enter folds or unfolds it")
            return
        v = reg.verdict
        text = f"{reg.info.name} · {v.access}: {v.reason} — {v.source}"
        self.severity = "information"
        self.text = text
        for s in ("error", "warning", "success"):
            self.remove_class(f"-{s}")
        self.update(Text(text))
