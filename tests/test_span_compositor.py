"""The main screen paints a step's changes with SpanCompositor (widgets/textual_private.py),
which asks each widget only for the changed lines nobody in front of it covers. What it
writes to the terminal must be what Textual's own compositor writes: at every partial update
of a session (steps, the MMIO prompt, cursor moves, a filter, the panels folded and back, a
modal dialog over the grid), both are asked for the same changed regions and their output,
cell by cell, is compared: each changed cell must get the same character in the same style.
(The bytes may differ: Textual's also moves the cursor to chops that start where a span ends
and paints nothing there.)"""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from textual._compositor import ChopsUpdate, Compositor

from realmtui.app import RealmApp
from realmtui.session import Session, SessionConfig
from widgets import textual_private

Cells = dict[tuple[int, int], tuple[str, object]]


def painted(update: ChopsUpdate | None) -> Cells:
    """The cells an update paints inside its spans: (y, x) -> (character, style)."""
    cells: Cells = {}
    if update is None:
        return cells
    for y, x1, x2 in update.spans:
        for end, (x, strip) in zip(update.chop_ends[y], update.chops[y].items(), strict=False):
            if strip is None or x >= x2 or end <= x1:
                continue
            for segment in strip:
                for char in segment.text:
                    if x1 <= x < x2:
                        cells[y, x] = (char, segment.style)
                    x += cell_len(char)
    return cells


class Compared(textual_private.SpanCompositor):
    """Renders every partial update both ways and keeps what each paints."""

    pairs: list[tuple[Cells, Cells]]

    def render_partial_update(self) -> ChopsUpdate | None:
        regions = set(self._dirty_regions)
        stock = Compositor.render_partial_update(self)
        self._dirty_regions.update(regions)
        ours = super().render_partial_update()
        self.pairs.append((painted(stock), painted(ours)))
        return ours


@pytest.mark.parametrize("size", [(140, 42), (100, 30), (80, 24)])
async def test_the_span_compositor_writes_what_textuals_would(
        size: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    pairs: list[tuple[Cells, Cells]] = []
    monkeypatch.setattr(Compared, "pairs", pairs, raising=False)
    monkeypatch.setattr(textual_private, "SpanCompositor", Compared)
    app = RealmApp(Session(SessionConfig()), cursor_blink=False)
    async with app.run_test(size=size) as pilot:
        assert isinstance(app.screen._compositor, Compared)  # the grid's screen uses it
        keys = ["f", "a", "r", "r", "0", "x", "4", "2", "enter", "r", "r", "down", "down",
                "r", "i", "r", "i", "slash", "p", "c", "escape", "escape", "r", "question_mark",
                "escape", "end", "r", "home", "r"]
        for key in keys:
            await pilot.press(key)
            await app.workers.wait_for_complete()
            await pilot.pause()
    compared = [(stock, ours) for stock, ours in pairs if stock or ours]
    assert len(compared) > len(keys) // 2  # most keys repainted something
    for n, (stock, ours) in enumerate(compared):
        assert ours == stock, f"update {n} paints other cells"
