"""Rich Text as segments, a line at a time, for widgets that draw their own lines."""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, JustifyMethod, OverflowMethod
from rich.segment import Segment
from rich.text import Text


def drawn(text: Text, console: Console) -> list[Segment]:
    """The text's segments in its own style: Text.render leaves the base style out of a text
    without spans (Text.__rich_console__ puts it back, by joining)."""
    if not text.spans:  # one segment: no need for Text.render's span sweep
        if text.style:
            return [Segment(text.plain, console.get_style(text.style) + None)]
        return [Segment(text.plain)]
    return list(text.render(console, end=""))


def wrapped(text: Text, console: Console, width: int, *, justify: JustifyMethod = "default",
            overflow: OverflowMethod = "fold", no_wrap: bool = False,
            tab_size: int = 8) -> list[Text]:
    """`text.wrap(...)`'s lines, the same Texts, for less: each of the text's lines that fits
    the width is taken as it is instead of going through Rich's word-wrapping (most lines of a
    panel fit, and wrapping them all was a third of drawing an exit's decoding). A line that
    fits may be `text` itself: copy it before changing it."""
    plain = text.plain
    if "\n" not in plain:
        if _fits(plain, width, justify):
            return [text]
        return list(text.wrap(console, width, justify=justify, overflow=overflow,
                              tab_size=tab_size, no_wrap=no_wrap))
    lines: list[Text] = []
    for line in text.split(allow_blank=True):  # what Text.wrap does first
        if _fits(line.plain, width, justify):
            lines.append(line)
        else:
            lines += line.wrap(console, width, justify=justify, overflow=overflow,
                               tab_size=tab_size, no_wrap=no_wrap)
    return lines


def _fits(line: str, width: int, justify: JustifyMethod) -> bool:
    """Whether Text.wrap would leave this one line as it is: no tab to expand, nothing to
    break, strip (Text.rstrip_end counts characters) or pad."""
    return (justify == "default" and "\t" not in line and len(line) <= width
            and cell_len(line) <= width)


def text_lines(text: Text, console: Console, options: ConsoleOptions) -> list[list[Segment]]:
    """The lines `console.render(text, options)` gives once split at its newlines (as
    Segment.split_and_crop_lines splits them, uncropped), without joining the wrapped lines
    into one Text and rendering that: a side panel draws a few dozen texts at each step.
    Only for a text that ends its last line (`end="\\n"`, the default); the segments' styles
    are those Rich gives up to None for a null style, which any base style added makes equal."""
    width = options.max_width
    if width < 1:
        return []
    tab_size = console.tab_size if text.tab_size is None else text.tab_size
    no_wrap = options.no_wrap if text.no_wrap is None else text.no_wrap
    lines = wrapped(text, console, width,
                    justify=text.justify or options.justify or "default",
                    overflow=text.overflow or options.overflow or "fold",
                    no_wrap=bool(no_wrap), tab_size=tab_size or 8)
    if len(lines) == 1:
        line = lines[0]
        if not line.style and not line.spans:  # joined, it renders as one segment, even ""
            return [[Segment(line.plain)]]
    # Joined, the lines render to segments that each end at a span's edge: never empty.
    return [[s for s in drawn(line, console) if s.text] for line in lines]
