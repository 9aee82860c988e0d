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
from textual.widgets.data_table import RowDoesNotExist

from realmtui.regs import GROUP_ORDER, Group
from realmtui.session import RegView
from realmtui.values import format_value
from realmtui.view import SessionView
from widgets.palette import BADGE_WIDTH, CHANGED_MARK, EDITED_MARK, Palette

VALUE_WIDTH = 18  # "0x" and 16 hex digits: a u64 at full width
REC_WIDTH = 20  # "≠ " and a u64
NAME_MAX = 18
GROUP_PREFIX = "g:"


def row_key(reg_id: int) -> str:
    return f"{reg_id:#x}"


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
        self._columns: tuple[str, ...] = ()
        self._palette: Palette | None = None

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
        for key in self._order:
            cells = self._render_row(key)
            old = self._cells[key]
            if old == cells:
                continue
            for column, before, after in zip(self._columns, old, cells, strict=True):
                if before != after:
                    self.update_cell(key, column, after)
            self._cells[key] = cells

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
        base = ("mark", "name", "value", "verdict")
        return (*base, "real") if view.shows_rec else base

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
        for key in self._order:
            cells = self._render_row(key)
            self._cells[key] = cells
            self.add_row(*cells, key=key)
        if current in self._order:
            self.move_cursor(row=self._order.index(current), animate=False)
        elif self._order:
            # First start, or the register went away: the first register, not a header.
            self.move_cursor(row=1 if len(self._order) > 1 else 0, animate=False)

    def _add_columns(self, columns: tuple[str, ...]) -> None:
        assert self.view is not None
        longest = max((len(r.info.name) for r in self.view.regs), default=6)
        name_width = max(8, min(NAME_MAX, longest))
        labels = {
            "mark": ("Δ", 1),
            "name": ("register", name_width),
            "value": ("value (KVM)" if self.view.shows_rec else "value", VALUE_WIDTH),
            "verdict": ("write now", BADGE_WIDTH),
            "real": ("REC (sim only)", REC_WIDTH),
        }
        for column in columns:
            label, width = labels[column]
            self.add_column(label, width=width, key=column)
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
        self.refresh_bindings()
        self.post_message(self.RegisterHighlighted(self.selected))

    def cursor_screen_row(self) -> int | None:
        """The screen line the cursor row is drawn on, or None when it is scrolled away."""
        if not self._order:
            return None
        top = self.content_region.y + (self.header_height if self.show_header else 0)
        y = top + self.cursor_row - round(self.scroll_y)
        if not top <= y < self.content_region.bottom:
            return None
        return y

    def has_row(self, key: str) -> bool:
        try:
            self.get_row_index(key)
        except RowDoesNotExist:
            return False
        return True
