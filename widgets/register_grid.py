"""The register grid: every listed register, its value, the verdict, and what changed.

Rows are keyed by register id. A step updates only the cells whose text changed
(`update_cell`), so the cursor and scroll position stay put; the rows are rebuilt only when
the set of visible rows changes (a filter, a collapsed group, a new VM). A changed cell drops
only its own entries from the table's render caches: the other cells of its row, and every
other row, are not rendered again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import (
    CellDoesNotExist,
    CellType,
    ColumnKey,
    RowKey,
)

from realmtui.regs import GROUP_ORDER, Group
from realmtui.session import RegView
from realmtui.values import format_value
from realmtui.verdict import Access
from realmtui.view import SessionView
from widgets.palette import BADGE_WIDTH, CHANGED_MARK, EDITED_MARK, Palette

VALUE_WIDTH = 18  # "0x" and 16 hex digits: a u64 at full width
REC_WIDTH = 20  # "≠ " and a u64
NAME_MAX = 18
GROUP_PREFIX = "g:"
# DataTable's caches of what a row looks like (Textual 8), and how each is keyed: a changed
# cell drops its own entries (by row and column key, or by row index), not the whole cache.
CELL_CACHE = "_cell_render_cache"  # (row key, column key, style, cursor, ...)
ROW_CACHE = "_row_render_cache"  # (row key, line, style, cursor, ...)
RENDERABLES_CACHE = "_row_renderable_cache"  # (update count, row index)
LINE_CACHE = "_line_cache"  # (y, crop, ...): cheap to rebuild from the row cache; cleared
RENDER_CACHES = (RENDERABLES_CACHE, ROW_CACHE, CELL_CACHE, LINE_CACHE)


def column_specs(view: SessionView) -> list[tuple[str, str, int]]:
    """(key, label, width) of each column the grid shows for this view."""
    longest = max((len(r.info.name) for r in view.regs), default=6)
    specs = [
        ("mark", "Δ", 1),
        ("name", "register", max(8, min(NAME_MAX, longest))),
        ("value", "value (KVM)" if view.shows_rec else "value", VALUE_WIDTH),
        ("verdict", "write now", BADGE_WIDTH),
    ]
    if view.shows_rec:
        specs.append(("real", "REC (sim only)", REC_WIDTH))
    return specs


def grid_width(view: SessionView) -> int:
    """Columns the grid needs: each column, its padding (1 a side), and the scrollbar."""
    return sum(width + 2 for _key, _label, width in column_specs(view)) + 1


class Cell(Text):
    """A grid cell's text: one line, already cut to its column (`fit`). It renders straight to
    its segments, without the wrapping and justifying a Text does for any width, which is
    half the cost of drawing a cell (most of what a repaint does)."""

    __slots__ = ()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.spans:
            return self.render(console, end="")  # the base style and the spans
        return [Segment(self.plain, console.get_style(self.style) if self.style else None)]


def as_cell(text: Text) -> Cell:
    return Cell(text.plain, style=text.style, spans=list(text.spans))


def row_key(reg_id: int) -> str:
    return f"{reg_id:#x}"


def same_cell(a: Text, b: Text) -> bool:
    """Text's == ignores the base style; a cell that only changed colour has changed."""
    return a.plain == b.plain and a.style == b.style and a.spans == b.spans


def _discard(cache: Any, keys: list[Any]) -> None:
    for key in keys:
        cache.discard(key)


def fit(text: str, width: int) -> str:
    """Cut to the column, with an ellipsis so a cut value never passes for a whole one."""
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True)
class GridFilter:
    text: str = ""
    writable_only: bool = False
    changed_only: bool = False

    @property
    def active(self) -> bool:
        return bool(self.text or self.writable_only or self.changed_only)

    def keeps(self, reg: RegView, view: SessionView) -> bool:
        if self.writable_only and not reg.verdict.access.accepted:
            return False
        if self.changed_only and reg.id not in view.changed and reg.id not in view.edits:
            return False
        if self.text:
            needle = self.text.strip().lower()
            return needle in reg.info.name.lower() or needle in str(reg.info.group).lower()
        return True


class RegisterGrid(DataTable):
    """The grid. It renders a SessionView; it never asks the session for anything."""

    DEFAULT_CSS = """
    RegisterGrid {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    """

    BINDINGS = [
        # Two bindings on one key: the first is the one the footer shows, dimmed when the
        # register is refused (check_action -> None, which also stops it running); the key
        # then falls through to the hidden second one, which explains why and arms a retry.
        Binding("e", "edit", "Edit", key_display="e/⏎"),
        Binding("e", "edit_refused", "Edit", show=False),
        # A register list is read top to bottom: home/end go to the first/last register
        # (DataTable's own home/end scroll sideways), as do vi's g/G.
        Binding("home,g", "scroll_top", "Top", show=False),
        Binding("end,G", "scroll_bottom", "Bottom", show=False),
    ]

    class EditRequested(Message):
        """The user asked to edit this register (enter, e, or a click on the cursor row)."""

        def __init__(self, reg_id: int) -> None:
            super().__init__()
            self.reg_id = reg_id

    class RegisterHighlighted(Message):
        def __init__(self, reg: RegView | None) -> None:
            super().__init__()
            self.reg = reg  # None on a group header row

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs, cursor_type="row", cursor_foreground_priority="renderable")
        self.view: SessionView | None = None
        self.filter = GridFilter()
        self.radix = "hex"
        self.collapsed: set[Group] = set()
        self._by_id: dict[int, RegView] = {}
        self._order: list[str] = []  # row keys on screen, in order
        self._cells: dict[str, tuple[Text, ...]] = {}  # what each row shows now
        self._signatures: dict[str, tuple[object, ...] | None] = {}  # what they depend on
        self._dirty_rows: set[int] | None = None  # rows to repaint at the end of show()
        self._dirty_cells: set[tuple[RowKey, ColumnKey]] = set()  # their cached renders go
        # The visible row keys and what they were worked out from (no filter on).
        self._visible_for: tuple[tuple[object, ...], list[str]] | None = None
        self._columns: tuple[str, ...] = ()
        self._palette: Palette | None = None
        self._badges: dict[Access, Cell] = {}
        self._editable: bool | None = None  # the footer's e: enabled or dimmed
        self._painting = False  # inside render_lines: the style below is fixed
        self._paint_style: Style | None = None

    # --- drawing ------------------------------------------------------------------------------
    def render_lines(self, crop: Region) -> list[Strip]:
        """DataTable works out the table's style (a walk up the DOM) twice for every line it
        draws; while one frame is drawn that style can't change, so it is worked out once."""
        self._painting = True
        try:
            return super().render_lines(crop)
        finally:
            self._painting = False
            self._paint_style = None

    @property
    def rich_style(self) -> Style:
        if not self._painting:
            return super().rich_style
        if self._paint_style is None:
            self._paint_style = super().rich_style
        return self._paint_style

    # --- what is on screen --------------------------------------------------------------------
    @property
    def palette(self) -> Palette:
        if self._palette is None:
            self._palette = Palette.from_app(self.app)
        return self._palette

    def restyle(self) -> None:
        """The theme changed: recolour every cell."""
        self._palette = None
        self._badges = {}
        if self.view is not None:
            self._cells.clear()
            self._signatures.clear()
            self._rebuild()

    @property
    def selected(self) -> RegView | None:
        key = self._cursor_key()
        if key is None or key.startswith(GROUP_PREFIX):
            return None
        return self._by_id.get(int(key, 16))

    @property
    def selected_group(self) -> Group | None:
        key = self._cursor_key()
        if key is None or not key.startswith(GROUP_PREFIX):
            return None
        return Group(key[len(GROUP_PREFIX):])

    def _cursor_key(self) -> str | None:
        if not self._order or not 0 <= self.cursor_row < len(self._order):
            return None
        return self._order[self.cursor_row]

    @property
    def shown_count(self) -> int:
        return sum(1 for k in self._order if not k.startswith(GROUP_PREFIX))

    # --- feeding it ---------------------------------------------------------------------------
    def show(self, view: SessionView) -> None:
        """Draw a new view: changed cells only, unless the visible rows changed."""
        self.view = view
        self._by_id = {r.id: r for r in view.regs}
        columns = self._wanted_columns(view)
        if columns != self._columns or self._visible_keys() != self._order:
            self._rebuild()
            return
        self._dirty_rows = set()  # repaint each changed row once, after all its cells
        try:
            for key in self._order:
                signature = self._signature(key)
                if signature is not None and self._signatures.get(key) == signature:
                    continue  # nothing this row shows has changed: don't even render it
                self._signatures[key] = signature
                cells = self._render_row(key)
                old = self._cells[key]
                for column, before, after in zip(self._columns, old, cells, strict=True):
                    if not same_cell(before, after):
                        self.update_cell(key, column, after)
                self._cells[key] = cells
        finally:
            dirty, self._dirty_rows = self._dirty_rows, None
            self._forget_renders(dirty)
        if len(dirty) > self.size.height // 2:
            self.refresh()  # most of what shows changed (a verdict flip): one repaint
        else:
            for index in sorted(dirty):
                self.refresh_row(index)

    def _signature(self, key: str) -> tuple[object, ...] | None:
        """What a row's cells depend on; None when that is not known cheaply (a group row
        under a filter, whose counts depend on every member): then it is always redrawn."""
        assert self.view is not None
        if key.startswith(GROUP_PREFIX):
            if self.filter.active:
                return None
            return (key[len(GROUP_PREFIX):] in self.collapsed, len(self.view.regs))
        reg = self._by_id[int(key, 16)]
        return (reg.value, reg.real, reg.verdict.access, reg.read_errno,
                reg.id in self.view.changed, reg.id in self.view.edits, self.radix)

    def update_cell(
        self, row_key: RowKey | str, column_key: ColumnKey | str, value: CellType, *,
        update_width: bool = False,
    ) -> None:
        """DataTable.update_cell, repainting only the row that changed.

        The stock update_cell bumps the table's update counter, which invalidates the render
        cache of every row and repaints the whole table: some 50 ms a step on a slow host, for
        a step that changes three cells. Here the cell is stored the same way, the render
        caches are dropped (they are rebuilt lazily, only for lines that get drawn), and only
        that row's region is refreshed. Falls back to the stock method if the internals it
        relies on (Textual 8's DataTable) are not there.
        """
        row_key = RowKey(row_key) if isinstance(row_key, str) else row_key
        column_key = ColumnKey(column_key) if isinstance(column_key, str) else column_key
        caches = [getattr(self, name, None) for name in RENDER_CACHES]
        index = getattr(self, "_row_locations", {}).get(row_key)
        data = getattr(self, "_data", {})
        if update_width or index is None or row_key not in data or None in caches:
            super().update_cell(row_key, column_key, value, update_width=update_width)
            return
        if column_key not in data[row_key]:
            raise CellDoesNotExist(f"no cell at {row_key!r}, {column_key!r}")
        data[row_key][column_key] = value
        self._dirty_cells.add((row_key, column_key))
        if self._dirty_rows is not None:
            self._dirty_rows.add(index)  # show() refreshes it once, after the whole row
        else:
            self._forget_renders({index})
            self.refresh_row(index)

    def _forget_renders(self, rows: set[int]) -> None:
        """Drop what the render caches hold for the cells updated since the last call (and
        for their rows, at these indexes), so only they are rendered again; every other
        cell keeps its cached render. Clears the caches instead if they are not keyed the
        way this expects."""
        cells, self._dirty_cells = self._dirty_cells, set()
        if not cells:
            return
        # Matched on the keys' string values: hashing a RowKey runs Python code.
        names = {(row.value, column.value) for row, column in cells}
        rows_named = {row for row, _column in names}
        try:
            cell_cache = getattr(self, CELL_CACHE)
            _discard(cell_cache, [
                k for k in cell_cache.keys()
                if k[0].value in rows_named and (k[0].value, k[1].value) in names
            ])
            row_cache = getattr(self, ROW_CACHE)
            _discard(row_cache, [k for k in row_cache.keys() if k[0].value in rows_named])
            renderables = getattr(self, RENDERABLES_CACHE)
            _discard(renderables, [k for k in renderables.keys() if k[1] in rows])
            getattr(self, LINE_CACHE).clear()
        except (AttributeError, IndexError, TypeError):
            for name in RENDER_CACHES:
                cache = getattr(self, name, None)
                if cache is not None:
                    cache.clear()

    def set_filter(self, flt: GridFilter) -> None:
        self.filter = flt
        self._refilter()

    def set_radix(self, radix: str) -> None:
        self.radix = radix
        self._refilter()

    def toggle_group(self, group: Group) -> None:
        self.collapsed ^= {group}
        self._refilter()

    def _refilter(self) -> None:
        if self.view is not None:
            self.show(self.view)

    def reveal(self, reg_id: int) -> bool:
        """Put the cursor on a register, clearing a filter or opening a group that hides it."""
        reg = self._by_id.get(reg_id)
        if reg is None:
            return False
        key = row_key(reg_id)
        if key not in self._order:
            self.collapsed.discard(reg.info.group)
            if self.filter.active:
                self.filter = GridFilter()
            self._refilter()
        if key in self._order:
            self.move_cursor(row=self._order.index(key), scroll=True)
            return True
        return False

    # --- building rows ------------------------------------------------------------------------
    def _wanted_columns(self, view: SessionView) -> tuple[str, ...]:
        return tuple(key for key, _label, _width in column_specs(view))

    def _visible_keys(self) -> list[str]:
        assert self.view is not None
        if not self.filter.active:
            # Then only the register list and the folded groups decide: the same at every
            # step of a VM, so not worked out again.
            basis = (tuple(r.id for r in self.view.regs), frozenset(self.collapsed))
            if self._visible_for is not None and self._visible_for[0] == basis:
                return self._visible_for[1]
            keys = self._group_keys()
            self._visible_for = (basis, keys)
            return keys
        self._visible_for = None
        return self._group_keys()

    def _group_keys(self) -> list[str]:
        assert self.view is not None
        keys: list[str] = []
        by_group: dict[Group, list[RegView]] = {}
        for reg in self.view.regs:
            if self.filter.keeps(reg, self.view):
                by_group.setdefault(reg.info.group, []).append(reg)
        for group in GROUP_ORDER:
            regs = by_group.get(group)
            if not regs:
                continue
            keys.append(GROUP_PREFIX + group.value)
            if group not in self.collapsed:
                keys += [row_key(r.id) for r in regs]
        return keys

    def _rebuild(self) -> None:
        """Clear and add every visible row, keeping the cursor on the same register."""
        assert self.view is not None
        current = self._cursor_key()
        columns = self._wanted_columns(self.view)
        if columns != self._columns:
            self.clear(columns=True)
            self._add_columns(columns)
        else:
            self.clear()
        self._order = list(self._visible_keys())
        self._cells = {}
        self._signatures = {}
        for key in self._order:
            cells = self._render_row(key)
            self._cells[key] = cells
            self._signatures[key] = self._signature(key)
            self.add_row(*cells, key=key)
        if current in self._order:
            self.move_cursor(row=self._order.index(current), animate=False)
        elif self._order:
            # First start, or the register went away: the first register, not a header.
            self.move_cursor(row=1 if len(self._order) > 1 else 0, animate=False)

    def _add_columns(self, columns: tuple[str, ...]) -> None:
        assert self.view is not None
        for key, label, width in column_specs(self.view):
            self.add_column(label, width=width, key=key)
        self._columns = columns

    def _render_row(self, key: str) -> tuple[Text, ...]:
        if key.startswith(GROUP_PREFIX):
            return self._render_group(Group(key[len(GROUP_PREFIX):]))
        return self._render_reg(self._by_id[int(key, 16)])

    def _render_group(self, group: Group) -> tuple[Text, ...]:
        assert self.view is not None
        p = self.palette
        members = [r for r in self.view.regs if r.info.group is group]
        shown = sum(1 for r in members if self.filter.keeps(r, self.view))
        count = f"{len(members)} registers" if shown == len(members) else (
            f"{shown} of {len(members)} shown"
        )
        arrow = "▸" if group in self.collapsed else "▾"
        cells = [Cell(arrow, style=p.group), Cell(str(group), style=p.group),
                 Cell(count, style=p.muted), Cell("")]
        if "real" in self._columns:
            cells.append(Cell(""))
        return tuple(cells)

    def _render_reg(self, reg: RegView) -> tuple[Text, ...]:
        assert self.view is not None
        p = self.palette
        edited = reg.id in self.view.edits
        changed = reg.id in self.view.changed
        style = p.edited if edited else p.changed if changed else None
        mark = Cell(EDITED_MARK if edited else CHANGED_MARK if changed else " ", style=style or "")
        name_width = self.columns["name"].width if "name" in self.columns else NAME_MAX
        name = Cell(fit(reg.info.name, name_width), style=style or "")
        if reg.value is None:
            value = Cell(fit(f"read: {reg.read_errno}", VALUE_WIDTH), style=p.error)
        else:
            value = Cell(fit(self.format(reg.value, reg.info.bits), VALUE_WIDTH),
                         style=style or "")
        cells = [mark, name, value, self._badge(reg.verdict.access)]
        if "real" in self._columns:
            cells.append(self._render_real(reg))
        return tuple(cells)

    def _badge(self, access: Access) -> Cell:
        """The verdict badge: one shared cell per verdict (cells are never changed in place)."""
        badge = self._badges.get(access)
        if badge is None:
            badge = self._badges[access] = as_cell(self.palette.badge(access))
        return badge

    def _render_real(self, reg: RegView) -> Text:
        p = self.palette
        if reg.real is None:
            return Cell("—", style=p.muted)
        if reg.real == reg.value:
            return Cell("= KVM", style=p.muted)
        return Cell(fit("≠ " + self.format(reg.real, reg.info.bits), REC_WIDTH), style=p.stale)

    def format(self, value: int, bits: int) -> str:
        return format_value(value, bits, self.radix)

    # --- keys and events ----------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit", "edit_refused"):
            reg = self.selected
            accepted = reg is not None and reg.verdict.access.accepted
            if action == "edit":
                return True if accepted else None  # None: shown in the footer, dimmed
            return reg is not None and not accepted
        return True

    def action_edit(self) -> None:
        if (reg := self.selected) is not None:
            self.post_message(self.EditRequested(reg.id))

    def action_edit_refused(self) -> None:
        self.action_edit()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if (group := self.selected_group) is not None:
            self.toggle_group(group)
            return
        self.action_edit()

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        reg = self.selected
        editable = reg is not None and reg.verdict.access.accepted
        if editable != self._editable:
            # The footer's e is dimmed or not: refresh it only when that changes, since a
            # refresh rebuilds the footer (costly on a slow host, at every cursor move).
            self._editable = editable
            self.refresh_bindings()
        self.post_message(self.RegisterHighlighted(reg))

    def cursor_screen_row(self) -> int | None:
        """The screen line the cursor row is drawn on, or None when it is scrolled away."""
        if not self._order:
            return None
        top = self.content_region.y + (self.header_height if self.show_header else 0)
        y = top + self.cursor_row - round(self.scroll_y)
        if not top <= y < self.content_region.bottom:
            return None
        return y
