"""One line above the status line naming what the app shows when it is not a live VM: the
recording being replayed (and where in it), or the exercise and its score."""

from __future__ import annotations

from textual.widgets import Static


class Banner(Static):
    DEFAULT_CSS = """
    Banner {
        height: 1;
        background: $warning 30%;
        color: $text;
        text-style: bold;
        padding: 0 1;
    }
    """
