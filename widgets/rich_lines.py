"""A Rich renderable rendered once into lines, for the side panels' bodies.

A Static holding a Rich table re-renders it for every layout pass that measures its height
and again for every repaint, and re-lays the whole screen out at every update: at each step,
on a wide terminal, the side panels cost more than everything else. Here the renderable is
rendered once per update (and again only if the width changes); its height is the number of
lines, so the screen is laid out again only when that changes. The lines are the ones a
Static would draw: same options, same base style.
"""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.segment import Segment
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget


class RichLines(Widget):
    DEFAULT_CSS = """
    RichLines {
        width: 1fr;
        height: auto;
    }
    """

    def __init__(self, renderable: RenderableType = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.renderable = renderable
        # Rendered at each width asked for: a scrolling parent measures its content with and
        # without its scrollbar, so two widths in turn are usual.
        self._lines: dict[int, list[Strip]] = {}

    def update(self, renderable: RenderableType) -> None:
        """Show a new renderable: laid out again only if it takes more or fewer lines."""
        width = self.size.width
        before = self._lines.get(width)
        self.renderable = renderable
        self._lines = {}
        if width > 0 and before is not None:
            self.refresh(layout=len(self._render(width)) != len(before))
        else:
            self.refresh(layout=True)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines = {}  # another theme: other colours

    def _render(self, width: int) -> list[Strip]:
        lines = self._lines.get(width)
        if lines is None:
            app = self.app
            options = app.console_options.update(highlight=False, width=width)
            renderable = self.post_render(self.renderable, self.visual_style.rich_style)
            segments = app.console.render(renderable, options)
            lines = self._lines[width] = [
                Strip(line) for line in Segment.split_and_crop_lines(
                    segments, width, include_new_lines=False, pad=False)
            ]
        return lines

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._render(width))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        lines = self._render(width)
        if y < len(lines):
            return lines[y]
        return Strip.blank(width, self.visual_style.rich_style)
