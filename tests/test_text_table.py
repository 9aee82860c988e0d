"""The side panels' label/value tables: columns sized to their widest cell, the last one
wrapped to the rest of the width, every cell in its own colours."""

from __future__ import annotations

import pytest
from rich.console import Console
from rich.style import Style
from rich.table import Table
from rich.text import Text

from widgets.text_table import TextTable

ROWS = [
    ("VM", "realm · profile v9 · backend sim"),
    ("", "REC column: the sim's confidential state, no real host sees it"),
    ("ESR KVM saw", "0x91c08007  EC=0x24 (data abort from a lower EL) ISV SAS=doubleword"),
]


def printed(renderable: object, width: int) -> list[str]:
    console = Console(width=width, color_system=None)
    with console.capture() as capture:
        console.print(renderable)
    return [line.rstrip() for line in capture.get().splitlines()]


@pytest.mark.parametrize("width", [30, 44, 61, 80])
def test_lays_out_as_the_rich_grid_it_replaces(width: int) -> None:
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(style="bold", no_wrap=True, min_width=9)
    grid.add_column(ratio=1)
    table = TextTable(columns=2, min_width=9, first_style="bold")
    for label, value in ROWS:
        grid.add_row(Text(label), Text(value))
        table.add_row(Text(label), Text(value))
    assert printed(table, width) == printed(grid, width)


def test_wrapped_lines_keep_the_value_column_and_the_cells_keep_their_colours() -> None:
    table = TextTable(columns=3)
    stale = Style(color="yellow", bold=True)
    table.add_row(Text("REC"), Text("[63:0]"), Text("0x80001000 ≠ KVM's copy, the host's view "
                                                    "is stale", style=stale))
    console = Console(width=30, color_system="truecolor")
    lines = list(console.render_lines(table, pad=False))
    texts = ["".join(s.text for s in line).rstrip() for line in lines]
    assert texts[0].startswith("REC [63:0] 0x80001000")
    assert all(t.startswith(" " * 11) for t in texts[1:]) and len(texts) > 1
    value_styles = {s.style for line in lines for s in line if s.text.strip() and "0x8" in s.text}
    assert value_styles == {stale}  # a value without spans keeps its own style


def test_a_row_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="3 cells for 2 columns"):
        TextTable().add_row(Text("a"), Text("b"), Text("c"))


def test_a_row_drawn_before_in_other_colours_is_drawn_in_its_own() -> None:
    """Rows are drawn once and kept (a step redraws mostly the same rows): a row whose text
    is the same but whose colours changed (a value that turned stale) is not the one kept."""
    console = Console(width=40, color_system="truecolor")
    drawn = []
    for style in ("red", "blue", "red"):
        table = TextTable()
        table.add_row(Text("REC"), Text("0x80001000 ≠ KVM's copy", style=style))
        lines = list(console.render_lines(table, pad=False))
        drawn.append({s.style for line in lines for s in line if "0x8" in s.text})
    assert drawn == [{Style.parse("red")}, {Style.parse("blue")}, {Style.parse("red")}]
