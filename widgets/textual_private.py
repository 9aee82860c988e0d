"""Every use realmtui makes of Textual's private names, in one place.

Textual (pinned to `>=8.2,<9` in pyproject.toml) may rename or change any of these in a
minor release. `check()` verifies each assumption, and tests/test_textual_private.py calls
it, so an upgrade that breaks one fails loudly there, naming it, rather than quietly (a footer
key that no longer dims, a grid that repaints its scrollbar at every step again).

What is used, and why:
- `textual.widgets._footer.FooterKey` and its `_disabled` flag: the footer dims or lights a
  key in place instead of rebuilding every key (about 35 ms a rebuild; widgets/key_footer.py).
- `Footer._bindings_ready`: what Footer.bindings_changed sets before it composes; KeyFooter
  replaces that method and must set it too.
- `ScrollView._size_updated(size, virtual_size, container_size, layout)`: the grid skips
  layouts that did not change it (widgets/register_grid.py, README "Benchmarks").
- `textual._compositor.Compositor` and `ChopsUpdate`, `Screen._compositor`: the main screen
  paints a step's changes with `SpanCompositor`, which asks each widget only for the lines
  that changed and that no widget in front of it covers (README "Benchmarks").
"""

from __future__ import annotations

import inspect
from itertools import pairwise

from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region, Size
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

__all__ = ["FooterKey", "SpanCompositor", "SteadyScrollView", "check", "mark_bindings_ready",
           "paint_by_spans", "set_footer_key_enabled"]


def set_footer_key_enabled(key: FooterKey, enabled: bool) -> bool:
    """Dim or light a footer key in place; False when it already was."""
    if key._disabled != enabled:
        return False
    key._disabled = not enabled  # what FooterKey reads on a click
    key.set_class(not enabled, "-disabled")
    return True


def mark_bindings_ready(footer: Footer) -> None:
    footer._bindings_ready = True


class SteadyScrollView(ScrollView):
    """A ScrollView that passes a layout on only when its own sizes changed.

    Textual's ScrollView compares the virtual size the compositor hands it (the viewport's)
    with its own (the content's), so at every layout anywhere on the screen it takes itself
    for resized and redraws its scrollbar: some 6 ms a step on a wide terminal, where the
    side panels change at each exit."""

    _sizes_seen: tuple[Size, Size, Size] | None = None

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True,
    ) -> bool:
        seen = (size, container_size, self.virtual_size)
        if seen == self._sizes_seen:
            return False
        self._sizes_seen = seen
        return super()._size_updated(size, virtual_size, container_size, layout)


class SpanCompositor(Compositor):
    """Textual's compositor, painting a partial update with less work.

    Textual's own crops a frame to one rectangle around every changed region, and asks each
    widget in it for all its lines: at each step the status line (top) and the message line
    (bottom) change, so that was every line of every widget on the screen, the containers
    behind the panels too, each cut at every widget edge. Here each widget is asked only for
    the lines where a changed span still has a cell no widget in front of it has filled
    (widgets come front to back), and only those lines are cut. The update written to the
    terminal is the same: the same spans, each filled by the same frontmost widget
    (tests/test_textual_private.py compares the two, byte for byte). About 1.5 ms of a step
    at 140x42 (benchmarks/bench_tui.py)."""

    def render_partial_update(self) -> ChopsUpdate | None:
        regions = self._dirty_regions.copy()
        self._dirty_regions.clear()
        if not regions:
            return None
        height = self.size.height
        spans = [span for span in self._regions_to_spans(regions) if 0 <= span[0] < height]
        if not spans:
            return None
        cuts = self.cuts
        # Per changed line, the cuts (left edges of chops) that some span overlaps.
        todo: dict[int, set[int]] = {}
        for y, x1, x2 in spans:
            row = cuts[y]
            need = todo.setdefault(y, set())
            need.update(cut for cut, end in pairwise(row) if cut < x2 and end > x1)
        chops: list[dict[int, Strip | None]] = [dict.fromkeys(row[:-1]) for row in cuts]
        for widget, (region, clip) in self.visible_widgets.items():
            x, top, width, rows = region.intersection(clip)
            if not width:
                continue
            end = x + width
            lines = [y for y in range(top, top + rows)
                     if (need := todo.get(y)) and any(x <= cut < end for cut in need)]
            if not lines:
                continue
            first = lines[0]
            strips = widget.render_lines(
                Region(x - region.x, first - region.y, width, lines[-1] + 1 - first))
            for y in lines:
                need = todo[y]
                edges = [cut for cut in cuts[y] if x <= cut <= end]
                pieces = strips[y - first].divide([cut - x for cut in edges[1:]])
                line = chops[y]
                for cut, piece in zip(edges, pieces, strict=False):
                    if cut in need:  # nothing in front filled it
                        line[cut] = piece
                        need.discard(cut)
        return ChopsUpdate(chops, spans, [row[1:] for row in cuts])


def paint_by_spans(screen: Screen) -> Screen:
    """Give a screen, before it is first shown, the SpanCompositor."""
    screen._compositor = SpanCompositor()
    return screen


def check() -> list[str]:
    """What no longer holds in the installed Textual (empty when all is well)."""
    problems = []
    params = list(inspect.signature(ScrollView._size_updated).parameters)
    if params != ["self", "size", "virtual_size", "container_size", "layout"]:
        problems.append(f"ScrollView._size_updated takes {params}")
    if "_disabled" not in inspect.getsource(FooterKey.__init__):
        problems.append("FooterKey.__init__ no longer sets _disabled")
    if "self._disabled" not in inspect.getsource(FooterKey):
        problems.append("FooterKey no longer reads _disabled")
    if "_bindings_ready" not in getattr(Footer, "_reactives", {}):
        problems.append("Footer has no _bindings_ready reactive")
    if "_bindings_ready = True" not in inspect.getsource(Footer.bindings_changed):
        problems.append("Footer.bindings_changed no longer sets _bindings_ready")
    if "data_bind(compact=Footer.compact)" not in inspect.getsource(Footer.compose):
        problems.append("Footer.compose no longer binds its keys to compact "
                        "(KeyFooter prunes those bindings after a rebuild)")
    partial = inspect.getsource(Compositor.render_partial_update)
    for assumption in ("self._dirty_regions", "_regions_to_spans", "self.cuts",
                       "ChopsUpdate(chops, spans, chop_ends)"):
        if assumption not in partial:
            problems.append(f"Compositor.render_partial_update no longer uses {assumption}")
    if "visible_widgets" not in inspect.getsource(Compositor._get_renders):
        problems.append("Compositor._get_renders no longer paints visible_widgets")
    if "reverse=True" not in inspect.getsource(Compositor.visible_widgets.fget):
        problems.append("Compositor.visible_widgets is no longer front to back")
    if "self._compositor = Compositor()" not in inspect.getsource(Screen.__init__):
        problems.append("Screen.__init__ no longer makes its own Compositor")
    return problems
