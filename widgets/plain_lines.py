"""The lines of a widget drawn with the line API that has no box of its own, handed to the
compositor without Textual's per-line styling pass.

For every line it repaints, Textual's styles cache works out the borders, padding, outline,
tint, opacity and hatch of the widget, though a side panel's body or the status line has none
of them: some 50 µs a line, and a step at 140x42 repaints 25-40 such lines. For a widget
whose styles have none of them, `render_plain` gives what that pass would — its lines padded
to its width on its background and put through the app's line filters — straight from its
own lines (tests/test_plain_lines.py compares the two under every theme). Any of those
styles, set by a theme or a later stylesheet, sends it back to Textual's pass.
"""

from __future__ import annotations

from textual.geometry import Region
from textual.strip import Strip
from textual.style import Style
from textual.widget import Widget


def is_plain(widget: Widget) -> bool:
    """No border, outline, padding, tint, opacity or hatch: nothing to draw around or over
    the widget's lines."""
    styles = widget.styles
    return (not any(edge for edge, _color in styles.border)
            and not any(edge for edge, _color in styles.outline)
            and not any(styles.padding)
            and not styles.tint.a and styles.opacity == 1 and styles.text_opacity == 1
            and (not styles.has_rule("hatch") or styles.hatch == "none"))


def render_plain(widget: Widget, crop: Region) -> list[Strip]:
    """`Widget.render_lines` for a widget that draws with `render_line`: the same strips,
    without the styling pass when the widget is plain."""
    if not is_plain(widget):
        return Widget.render_lines(widget, crop)
    width = widget.size.width
    base_background, background = widget.background_colors
    pad = Style(background=base_background + background).rich_style
    filters = widget.app.get_line_filters()
    render_line = widget.render_line
    strips = []
    for y in crop.line_range:
        strip = render_line(y).adjust_cell_length(width, pad)
        for line_filter in filters:
            strip = strip.apply_filter(line_filter, background)  # cached by the strip
        strips.append(strip)
    x1, x2 = crop.column_span
    if (x1, x2) != (0, widget.region.width):  # a scrolling grid's region has its scrollbar
        strips = [strip.crop(x1, x2) for strip in strips]
    return strips
