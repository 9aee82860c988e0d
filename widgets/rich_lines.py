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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from widgets.plain_lines import render_plain
from widgets.text_segments import text_lines
from widgets.text_table import TextTable


@dataclass(frozen=True, eq=False)
class Part:
    """One piece of a panel's text, built from `inputs` (compared with ==): a part whose
    inputs equal those of a part already drawn at this width is not rendered again. A step
    changes the exit decoding and one line of history; the VM's rows, a register's value,
    verdict and fields mostly stay, and rendering them through Rich again was most of a
    panel's cost."""

    inputs: object
    build: Callable[[], RenderableType]


Content = RenderableType | Sequence[Part]


class RichLines(Widget):
    DEFAULT_CSS = """
    RichLines {
        width: 1fr;
        height: auto;
    }
    """

    def __init__(self, renderable: Content = "", *, grow: int = 1, fill: bool = False,
                 **kwargs: Any) -> None:
        """`fill`: at least as tall as the parent's viewport (a panel of fixed height: the
        detail panel). Text taller than the viewport grows a viewport at a time: the history
        gains a line at every step and the exit decoding varies in length, and each change of
        height was a layout of the whole screen (15-20 ms on a wide terminal,
        benchmarks/bench_tui.py); now few steps pay one. The blank lines below the text are
        not scrolled into (`PanelScroll`)."""
        super().__init__(**kwargs)
        self.fill = fill
        self._page = 0  # the parent's viewport height, as of the last layout
        self.renderable = renderable
        # The lines of each part drawn for the content shown now: (inputs, width, lines).
        self._part_lines: list[tuple[object, int, list[Strip]]] = []
        self.grow = grow
        # Rendered at each width asked for: a scrolling parent measures its content with and
        # without its scrollbar, so two widths in turn are usual.
        self._lines: dict[int, list[Strip]] = {}
        self._heights: dict[int, int] = {}  # the height given, at each width
        # The base and link styles the lines are drawn in, as of the last style update.
        self._styles: tuple[Style, Style | None] | None = None

    def update(self, renderable: Content) -> None:
        """Show a new renderable: laid out again only if its height changes, and repainted
        only on the lines that changed (a step changes a few lines of each panel; a whole
        panel through Textual's line pipeline and compositor was a third of a step)."""
        width = self.size.width
        before = self._heights.get(width)
        old = self._lines.get(width)
        self.renderable = renderable
        self._lines = {}
        if _is_parts(renderable):  # keep the lines of the parts that are still shown
            inputs = [part.inputs for part in renderable]
            self._part_lines = [e for e in self._part_lines if e[0] in inputs]
        else:
            self._part_lines = []
        if width == 0 or before is None or self._height(width) != before or old is None:
            self.refresh(layout=width == 0 or before != self._heights.get(width))
            return
        new = self._lines[width]
        for start, end in _changed_runs(old, new, before):
            self.refresh(Region(0, start, width, end - start))

    def forget_height(self) -> None:
        """Fit the text again (a new VM): the next update may shrink the height."""
        if self._heights:
            self._heights = {}
            self.refresh(layout=True)

    def _height(self, width: int) -> int:
        lines = len(self._render(width))
        page = self._page if self.fill else self._viewport()
        grow = self.grow
        if page and lines > page:  # it scrolls anyway: a page at a time
            grow = max(grow, page)
        floor = self._page if self.fill else 0
        height = max(self._heights.get(width, 0), floor, -(-lines // grow) * grow)
        self._heights[width] = height
        return height

    def _viewport(self) -> int:
        """The height of the parent's scrolling window, as of the last layout."""
        parent = self.parent
        return parent.scrollable_content_region.height if isinstance(parent, Widget) else 0

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines = {}  # another theme: other colours
        self._part_lines = []
        self._styles = None

    def _render(self, width: int) -> list[Strip]:
        lines = self._lines.get(width)
        if lines is None:
            content = self.renderable
            if not _is_parts(content):
                lines = self._render_one(content, width)
            else:
                lines = []
                for part in content:
                    drawn = next((done for inputs, w, done in self._part_lines
                                  if w == width and inputs == part.inputs), None)
                    if drawn is None:
                        drawn = self._render_one(part.build(), width)
                        self._part_lines.append((part.inputs, width, drawn))
                    lines += drawn
            self._lines[width] = lines
        return lines

    def _render_one(self, renderable: RenderableType, width: int) -> list[Strip]:
        app = self.app
        options = app.console_options.update(highlight=False, width=width)
        if self._styles is None:  # the ancestors' backgrounds, walked once per theme
            self._styles = (self.visual_style.rich_style,
                            self.link_style if self.auto_links else None)
        base, link = self._styles
        # The panels' own renderables, line by line, without Rich's console pipeline and
        # Textual's styling generators (most of a panel's cost at each step): the same
        # segments. Not with an empty base style (Textual's wrapper then drops the unstyled
        # segments, newlines among them) nor a text-align (it re-justifies the text).
        if base and not self.styles.has_rule("text_align"):
            strips = panel_strips(renderable, app.console, options, base, link)
            if strips is not None:
                return strips
        renderable = self.post_render(renderable, base)
        segments = app.console.render(renderable, options)
        return [Strip(line) for line in Segment.split_and_crop_lines(
            segments, width, include_new_lines=False, pad=False)]

    @property
    def text_height(self) -> int:
        """Lines of text at the width shown (the height given may have blank lines below)."""
        return len(self._render(self.size.width)) if self.size.width else 0

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if self.fill and container.height != self._page:
            self._page = container.height  # another panel height: fit it afresh
            self._heights = {}
        return self._height(width)

    def render_lines(self, crop: Region) -> list[Strip]:
        return render_plain(self, crop)  # no box of its own: skip Textual's styling pass

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        lines = self._render(width)
        if y < len(lines):
            return lines[y]
        return Strip.blank(width, self.visual_style.rich_style)


class PanelScroll(VerticalScroll):
    """A side panel: a scrolling window on one RichLines, which never scrolls past the end
    of the text into the blank lines its body keeps below it."""

    @property
    def max_scroll_y(self) -> int:
        most = super().max_scroll_y
        body = next(iter(self.children), None)
        if not isinstance(body, RichLines) or not most:
            return most
        window = self.container_size.height - self.scrollbar_size_horizontal
        return max(0, min(most, body.text_height - window))


def _changed_runs(old: list[Strip], new: list[Strip], height: int) -> list[tuple[int, int]]:
    """The runs of lines [start, end) below `height` that differ between two renderings."""
    runs: list[tuple[int, int]] = []
    start = None
    for y in range(height):
        same = y < len(old) and y < len(new) and old[y] == new[y] or (
            y >= len(old) and y >= len(new))
        if not same and start is None:
            start = y
        elif same and start is not None:
            runs.append((start, y))
            start = None
    if start is not None:
        runs.append((start, height))
    return runs


def segment_lines(renderable: RenderableType, console: Console,
                  options: ConsoleOptions) -> list[list[Segment]] | None:
    """The lines `console.render` gives for a panel's renderable (a Text, a TextTable or a
    Group of them), split at the line ends and uncropped; None for any other renderable."""
    if isinstance(renderable, TextTable):
        return renderable.lines(console, options.max_width) if options.max_width >= 1 else []
    if isinstance(renderable, Text) and renderable.end == "\n":
        return text_lines(renderable, console, options)
    if isinstance(renderable, Group):
        lines: list[list[Segment]] = []
        for part in renderable.renderables:
            more = segment_lines(part, console, options)
            if more is None:
                return None
            lines += more
        return lines
    return None


def panel_strips(renderable: RenderableType, console: Console, options: ConsoleOptions,
                 base: Style, link: Style | None = None) -> list[Strip] | None:
    """The lines a widget draws for a panel's renderable (`segment_lines`), as Textual's
    post_render and Segment.split_and_crop_lines leave them: the widget's base style under
    each segment's, its link style on clickable ones, cropped to the width. None for a
    renderable of another kind."""
    lines = segment_lines(renderable, console, options)
    if lines is None:
        return None
    width = options.max_width
    kept = _KEPT.get((base, link))
    if kept is None:
        kept = _KEPT[base, link] = ({}, {})
    styles, drawn = kept
    strips: list[Strip] = []
    for line in lines:
        key = (width, *line)
        got = drawn.get(key)
        if got is None:
            got, linked = _styled(line, base, link, width, styles)
            if not linked:  # a link is a copy with its own id, every time
                drawn[key] = got
                if len(drawn) > _KEPT_LINES:
                    del drawn[next(iter(drawn))]  # the oldest
        strips += got
    return strips


# The strips of the lines drawn lately, for each base and link style, by their segments: most
# lines of a part drawn again at a step are lines drawn before (tables keep their rows' lines,
# widgets/text_table.py), and a Strip costs more to make than its key to look up.
_KEPT: dict[tuple[Style, Style | None],
            tuple[dict[Style | None, Style], dict[tuple[object, ...], list[Strip]]]] = {}
_KEPT_LINES = 1024


def _styled(line: list[Segment], base: Style, link: Style | None, width: int,
            styles: dict[Style | None, Style]) -> tuple[list[Strip], bool]:
    """One line's strips (more than one if a segment holds a line break), and whether a
    segment has a link."""
    strips: list[Strip] = []
    out: list[Segment] = []
    cells = 0
    linked = False
    for text, style, control in line:
        combined = styles.get(style)
        if combined is None:
            combined = base + style
            if link and combined._meta is not None and "@click" in combined.meta:
                combined = combined + link
            if combined.link:
                linked = True
            else:
                styles[style] = combined
        if "\n" in text and not control:  # a cell's own line break ends the line
            *ended, text = text.split("\n")
            for head in ended:
                if head:
                    out.append(Segment(head, combined))
                    cells += cell_len(head)
                strips.append(_cropped(out, cells, width))
                out, cells = [], 0
            if not text:
                continue
        out.append(Segment(text, combined, control))
        if not control:
            cells += cell_len(text)
    strips.append(_cropped(out, cells, width))
    return strips, linked


def _cropped(line: list[Segment], cells: int, width: int) -> Strip:
    if cells > width:
        return Strip(Segment.adjust_line_length(line, width, pad=False))
    return Strip(line, cells)


def _is_parts(content: Content) -> bool:
    return isinstance(content, list | tuple) and all(isinstance(p, Part) for p in content)
