"""A Rich renderable rendered once into lines, for the side panels' bodies.

A Static holding a Rich table re-renders it for every layout pass that measures its height
and again for every repaint, and re-lays the whole screen out at every update: at each step,
on a wide terminal, the side panels cost more than everything else. Here the renderable is
rendered once per update (and again only if the width changes); its height is the number of
lines, so the screen is laid out again only when that changes. The lines are the ones a
Static would draw: same options, same base style.

The height never shrinks, and grows `grow` lines at a time (blank lines below the text make
up the difference), until the width changes or `forget_height` is called: the exit
decoding and the value history change length at nearly every step, and each change of height
was a layout of the whole screen, two thirds of a step on a wide terminal. It also keeps the
panels from jumping up and down as the user steps.
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

    def __init__(self, renderable: RenderableType = "", *, grow: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.renderable = renderable
        self.grow = grow
        # Rendered at each width asked for: a scrolling parent measures its content with and
        # without its scrollbar, so two widths in turn are usual.
        self._lines: dict[int, list[Strip]] = {}
        self._heights: dict[int, int] = {}  # the height given, at each width

    def update(self, renderable: RenderableType) -> None:
        """Show a new renderable: laid out again only if its height changes."""
        width = self.size.width
        before = self._heights.get(width)
        self.renderable = renderable
        self._lines = {}
        self.refresh(layout=width == 0 or before is None or self._height(width) != before)

    def forget_height(self) -> None:
        """Fit the text again (a new VM): the next update may shrink the height."""
        if self._heights:
            self._heights = {}
            self.refresh(layout=True)

    def _height(self, width: int) -> int:
        lines = len(self._render(width))
        height = max(self._heights.get(width, 0), -(-lines // self.grow) * self.grow)
        self._heights[width] = height
        return height

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
        return self._height(width)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        lines = self._render(width)
        if y < len(lines):
            return lines[y]
        return Strip.blank(width, self.visual_style.rich_style)
