"""The side panels draw their text line by line, without Rich's console pipeline
(widgets/rich_lines.py panel_strips): what they draw must be what Rich drew, to the segment
and its style -- wrapping, wide and zero-width characters, tabs, spans over line ends,
empty lines -- or the panels would show other text than the one they were given."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console, Group
from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text

from widgets.rich_lines import panel_strips
from widgets.text_segments import wrapped
from widgets.text_table import TextTable

BASE = Style(color="#e0e0e0", bgcolor="#101820")  # a panel's own colours, as Textual gives
STYLES = ["", "bold", "red on blue", Style(italic=True), Style(color="yellow", bold=True)]
CHARS = "ab xy:.0—·→漢字é\u0301\n\t"


@st.composite
def texts(draw: st.DrawFn) -> Text:
    plain = draw(st.text(alphabet=CHARS, max_size=40))
    spans = [Span(*sorted(draw(st.tuples(st.integers(0, len(plain)),
                                          st.integers(0, len(plain))))),
                  draw(st.sampled_from(STYLES)))
             for _ in range(draw(st.integers(0, 4)))]
    return Text(plain, style=draw(st.sampled_from(STYLES)), spans=spans,
                justify=draw(st.sampled_from([None, "default", "left", "right", "full"])),
                overflow=draw(st.sampled_from([None, "fold", "crop", "ellipsis"])),
                no_wrap=draw(st.sampled_from([None, False, True])))


@st.composite
def tables(draw: st.DrawFn) -> TextTable:
    columns = draw(st.integers(2, 4))
    stacked = columns == 2 and draw(st.booleans())
    table = TextTable(columns=columns, min_width=draw(st.integers(0, 9)), stacked=stacked,
                      first_style=draw(st.sampled_from(STYLES)))
    for _ in range(draw(st.integers(0, 4))):
        table.add_row(*(draw(texts()) for _ in range(columns)))
    return table


renderables = st.one_of(texts(), tables(), st.lists(st.one_of(texts(), tables()),
                                                      max_size=4).map(lambda r: Group(*r)))


def rich_drew(renderable: object, console: Console, width: int) -> list[list[Segment]]:
    """What a Textual widget drew through Rich: the renderable in the widget's base style
    (Widget.post_render), rendered, split into lines, cropped to the width."""
    options = console.options.update(width=width, highlight=False)
    segments = Segment.apply_style(console.render(renderable, options), BASE)
    return list(Segment.split_and_crop_lines(segments, width, include_new_lines=False,
                                             pad=False))


@settings(max_examples=400, deadline=None)
@given(renderables, st.integers(1, 40))
def test_panel_lines_are_the_lines_rich_draws(renderable: object, width: int) -> None:
    console = Console(width=80, color_system="truecolor", force_terminal=True)
    expected = rich_drew(renderable, console, width)
    options = console.options.update(width=width, highlight=False)
    strips = panel_strips(renderable, console, options, BASE)
    assert strips is not None
    assert [list(strip) for strip in strips] == expected
    assert [strip.cell_length for strip in strips] == [Segment.get_line_length(line)
                                                      for line in expected]


@settings(max_examples=300, deadline=None)
@given(texts(), st.integers(1, 40))
def test_a_text_wraps_as_rich_wraps_it(text: Text, width: int) -> None:
    console = Console(width=80)
    justify = text.justify or "default"
    overflow = text.overflow or "fold"
    ours = wrapped(text, console, width, justify=justify, overflow=overflow,
                   no_wrap=bool(text.no_wrap))
    rich = text.wrap(console, width, justify=justify, overflow=overflow,
                     no_wrap=bool(text.no_wrap))
    assert [(line.plain, line.style, line.spans) for line in ours] == [
        (line.plain, line.style, line.spans) for line in rich]


def test_other_renderables_are_left_to_rich() -> None:
    console = Console(width=80)
    options = console.options.update(width=20)
    assert panel_strips("a [b]markup[/b] string", console, options, BASE) is None
    assert panel_strips(Group(Text("a"), "markup"), console, options, BASE) is None
    assert panel_strips(Text("no end", end=""), console, options, BASE) is None
