"""The register grid: every listed register, its value, the verdict, and what changed.

Rows are keyed by register id. A step updates only the cells whose text changed
(`update_cell`), so the cursor and scroll position stay put; the rows are rebuilt only when
the set of visible rows changes (a filter, a collapsed group, a new VM).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.message import Message
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
from realmtui.view import SessionView
from widgets.palette import BADGE_WIDTH, CHANGED_MARK, EDITED_MARK, Palette

VALUE_WIDTH = 18  # "0x" and 16 hex digits: a u64 at full width
REC_WIDTH = 20  # "≠ " and a u64
NAME_MAX = 18
GROUP_PREFIX = "g:"
# DataTable's caches of what a row looks like (Textual 8): dropped when a cell changes.
RENDER_CACHES = ("_row_renderable_cache", "_row_render_cache", "_cell_render_cache",
                 "_line_cache")


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


def row_key(reg_id: int) -> str:
    return f"{reg_id:#x}"


def same_cell(a: Text, b: Text) -> bool:
    """Text's == ignores the base style; a cell that only changed colour has changed."""
    return a.plain == b.plain and a.style == b.style and a.spans == b.spans


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

    @dataclass
    class EditRequested(Message):
        """The user asked to edit this register (enter, e, or a click on the cursor row)."""

        reg_id: int

    @dataclass
    class RegisterHighlighted(Message):
        reg: RegView | None  # None on a group header row

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
        self._columns: tuple[str, ...] = ()
        self._palette: Palette | None = None
        self._editable: bool | None = None  # the footer's e: enabled or dimmed

    # --- what is on screen --------------------------------------------------------------------
    @property
    def palette(self) -> Palette:
        if self._palette is None:
            self._palette = Palette.from_app(self.app)
        return self._palette

    def restyle(self) -> None:
        """The theme changed: recolour every cell."""
        self._palette = None
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
        if len(dirty) > self.size.height // 2:
            self.refresh()  # most of what shows changed (a verdict flip): one repaint
        else:
            for index in sorted(dirty):
                self.refresh_row(index)

    def _signature(self, key: str) -> tuple[object, ...] | None:
        """What a register row's cells depend on; None for a group row (always redrawn)."""
        if key.startswith(GROUP_PREFIX):
            return None
        assert self.view is not None
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
        for cache in caches:
            cache.clear()
        if self._dirty_rows is not None:
            self._dirty_rows.add(index)  # show() refreshes it once, after the whole row
        else:
            self.refresh_row(index)

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
        self._order = self._visible_keys()
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
        cells = [Text(arrow, style=p.group), Text(str(group), style=p.group),
                 Text(count, style=p.muted), Text("")]
        if "real" in self._columns:
            cells.append(Text(""))
        return tuple(cells)

    def _render_reg(self, reg: RegView) -> tuple[Text, ...]:
        assert self.view is not None
        p = self.palette
        edited = reg.id in self.view.edits
        changed = reg.id in self.view.changed
        style = p.edited if edited else p.changed if changed else None
        mark = Text(EDITED_MARK if edited else CHANGED_MARK if changed else " ", style=style or "")
        name_width = self.columns["name"].width if "name" in self.columns else NAME_MAX
        name = Text(fit(reg.info.name, name_width), style=style or "")
        if reg.value is None:
            value = Text(fit(f"read: {reg.read_errno}", VALUE_WIDTH), style=p.error)
        else:
            value = Text(fit(self.format(reg.value, reg.info.bits), VALUE_WIDTH),
                         style=style or "")
        cells = [mark, name, value, p.badge(reg.verdict.access)]
        if "real" in self._columns:
            cells.append(self._render_real(reg))
        return tuple(cells)

    def _render_real(self, reg: RegView) -> Text:
        p = self.palette
        if reg.real is None:
            return Text("—", style=p.muted)
        if reg.real == reg.value:
            return Text("= KVM", style=p.muted)
        return Text(fit("≠ " + self.format(reg.real, reg.info.bits), REC_WIDTH), style=p.stale)

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
