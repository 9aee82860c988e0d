"""A one-line Rich Text as segments, for widgets that draw their own lines."""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.text import Text


def drawn(text: Text, console: Console) -> list[Segment]:
    """The text's segments in its own style: Text.render leaves the base style out of a text
    without spans (Text.__rich_console__ puts it back, by joining)."""
    segments = list(text.render(console, end=""))
    if text.style and not text.spans:
        return list(Segment.apply_style(segments, console.get_style(text.style)))
    return segments
