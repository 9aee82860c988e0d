"""Rows of text in columns, for the side panels: every column but the last as wide as its
widest cell, the last one taking the rest of the width and wrapping.

It draws what the panels drew with `rich.table.Table.grid(padding=(0, 1), expand=True)` and a
no-wrap label column, for a fraction of the cost: a Table measures every cell (rendering it)
before it renders it again, and at each exit, on a wide terminal, that was a third of a step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from widgets.text_segments import drawn, wrapped


@dataclass
class TextTable:
    columns: int = 2
    min_width: int = 0  # of the first column (the labels)
    first_style: Style | str = ""  # under the first column's own styles
    # Two columns only: each label on a line of its own and its text under it, indented --
    # for a narrow panel, where a label column leaves the text too little width.
    stacked: bool = False
    rows: list[tuple[Text, ...]] = field(default_factory=list)

    def add_row(self, *cells: Text) -> None:
        if len(cells) != self.columns:
            raise ValueError(f"{len(cells)} cells for {self.columns} columns")
        self.rows.append(cells)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines(console, options.max_width):
            yield from line
            yield Segment.line()

    def lines(self, console: Console, width: int) -> list[list[Segment]]:
        """The table's lines at `width`, each as its segments: what it renders through Rich,
        split at the line ends (widgets/rich_lines.py draws them without Rich's pipeline).
        The lines are shared with later calls: not to be changed."""
        if not self.rows:
            return []
        if self.stacked and self.columns == 2:
            return self._stacked(console, width)
        fixed = [max(cell_len(row[i].plain) for row in self.rows)
                 for i in range(self.columns - 1)]
        if fixed:
            fixed[0] = max(fixed[0], self.min_width)
        last = max(1, width - sum(fixed) - len(fixed))  # one space between columns
        layout = (console, self.first_style, *fixed, last)
        lines: list[list[Segment]] = []
        for row in self.rows:
            key = (layout, *map(_cell_key, row))
            drawn_row = _ROWS.get(key)
            if drawn_row is None:
                drawn_row = _ROWS[key] = self._row(row, console, fixed, last)
                if len(_ROWS) > _ROWS_KEPT:
                    del _ROWS[next(iter(_ROWS))]  # the oldest
            lines += drawn_row
        return lines

    def _row(self, row: tuple[Text, ...], console: Console, fixed: list[int],
             last: int) -> list[list[Segment]]:
        first_style = console.get_style(self.first_style) if self.first_style else None
        space = Segment(" ")
        lines: list[list[Segment]] = []
        for n, text in enumerate(_wrap(row[-1], console, last)):
            line: list[Segment] = []
            for i, w in enumerate(fixed):
                segments = drawn(row[i], console) if n == 0 else []
                if i == 0 and first_style is not None:
                    segments = list(Segment.apply_style(segments, first_style))
                line += Segment.adjust_line_length(segments, w)
                line.append(space)
            line += drawn(text, console)
            lines.append(line)
        return lines

    def _stacked(self, console: Console, width: int) -> list[list[Segment]]:
        first_style = console.get_style(self.first_style) if self.first_style else None
        indent = Segment("  ")
        lines: list[list[Segment]] = []
        for label, text in self.rows:
            if label.plain:
                segments = drawn(label, console)
                if first_style is not None:
                    segments = list(Segment.apply_style(segments, first_style))
                lines.append(segments)
            for line in _wrap(text, console, max(1, width - 2)):
                lines.append([indent, *drawn(line, console)])
        return lines


# The lines of the rows drawn lately, by what they are drawn from: a step redraws the parts of
# a panel whose inputs changed, but most of their rows are the ones drawn before (the verdict's
# source, all but the newest line of the history, an exit's decoding the guest made before),
# and laying a row out (wrapping it, drawing its cells) was most of a panel's cost.
_ROWS: dict[tuple[object, ...], list[list[Segment]]] = {}
_ROWS_KEPT = 512


def _cell_key(text: Text) -> tuple[object, ...]:
    """All of a cell that its lines depend on (Text's own == leaves its style out)."""
    return (text.plain, text.style, tuple(text.spans), text.justify, text.overflow,
            text.no_wrap)


def _wrap(text: Text, console: Console, width: int) -> list[Text]:
    """The text's lines at `width`, without the spaces that end them."""
    lines = wrapped(text, console, width, justify=text.justify or "default",
                    overflow=text.overflow or "fold", no_wrap=bool(text.no_wrap))
    for n, line in enumerate(lines):
        plain = line.plain
        if plain[-1:].isspace():
            if line is text:  # the caller's own
                line = lines[n] = line.copy()
            line.rstrip()
    return lines or [Text()]
