"""The register grid: every listed register, its value, the verdict, and what changed.

A Line API widget (a ScrollView that draws its own lines) rather than a DataTable: each row is
kept as one finished strip, made again only when one of its cells changes, so a repaint copies
the strips on screen. DataTable renders every cell of a redrawn line through Rich (0.6-1 ms a
line here), and a host-call exit redraws the 31 GPRs whose verdict flips: the step missed its
10 ms target by that (README, Benchmarks).

Rows are keyed by register id. A step redraws only the rows whose cells changed, so the cursor
and the scroll position stay put; the rows are rebuilt only when the set of visible rows
changes (a filter, a folded group, a new VM).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.color import Color
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip

from realmtui.model import RecMark, RegView, SessionView
from realmtui.regs import GROUP_ORDER, Group
from realmtui.values import format_value
from realmtui.verdict import Access
from widgets.palette import BADGE_WIDTH, CHANGED_MARK, EDITED_MARK, Palette, readable
from widgets.plain_lines import render_plain
from widgets.text_segments import drawn
from widgets.textual_private import SteadyScrollView

VALUE_WIDTH = 18  # "0x" and 16 hex digits: a u64 at full width
REC_WIDTH = 20  # "≠ " and a u64
NAME_MAX = 18
# Compact columns, so the grid and the side panels fit side by side from about 96 columns
# (100x30, a 1024x768 browser): long names cut, and the REC column says only whether the
# REC's copy differs, with its low digits (the detail panel has the whole value).
COMPACT_NAME_MAX = 11
COMPACT_REC_WIDTH = 12
PAD = 1  # blank cells either side of a column's text
HEADER = 1  # the line of column labels, which stays put while the rows scroll
GROUP_PREFIX = "g:"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int  # cells of text, without the padding

    @property
    def span(self) -> int:
        return self.width + 2 * PAD


def column_specs(view: SessionView, compact: bool = False) -> list[Column]:
    """The columns the grid shows for this view (`compact`: narrower name and REC)."""
    longest = max((len(r.info.name) for r in view.regs), default=6)
    columns = [
        Column("mark", "Δ", 1),
        Column("name", "register",
               max(8, min(COMPACT_NAME_MAX if compact else NAME_MAX, longest))),
        Column("value", "value (KVM)" if view.shows_rec else "value", VALUE_WIDTH),
        Column("verdict", "write now", BADGE_WIDTH),
    ]
    if view.shows_rec:
        columns.append(Column("real", "REC (sim)" if compact else "REC (sim only)",
                              COMPACT_REC_WIDTH if compact else REC_WIDTH))
    return columns


def grid_width(view: SessionView, compact: bool = False) -> int:
    """Columns the grid needs: each column with its padding, and the scrollbar."""
    return sum(c.span for c in column_specs(view, compact)) + 1


def row_key(reg_id: int) -> str:
    return f"{reg_id:#x}"


def same_cell(a: Text, b: Text) -> bool:
    """Text's == ignores the base style; a cell that only changed colour has changed."""
    return a.plain == b.plain and a.style == b.style and a.spans == b.spans


def fit(text: str, width: int) -> str:
    """Cut to the column, with an ellipsis so a cut value never passes for a whole one."""
    return text if len(text) <= width else text[: width - 1] + "…"


def fit_value(text: str, width: int) -> str:
    """A number cut at its high end, which keeps the low digits, the ones a write of a
    small value changes: `0x…0000000003` rather than `0x00000000000…`."""
    if len(text) <= width:
        return text
    head = "0x…" if text.startswith("0x") else "…"
    return head + text[len(text) - (width - len(head)):]


def line_segments(
    cells: tuple[Text, ...], columns: list[Column], under: Style,
    drawn: Callable[[Text], list[Segment]], cursor: bool = False,
) -> list[Segment]:
    """A row as segments on the `under` style (the grid's background, or the cursor's): each
    cell cut or padded to its column, with the padding between. A cell's own colours go over
    `under`, so a badge keeps its colour on the cursor row. `drawn` draws a cell with spans.
    `cursor`: the cursor row, where a cell's text colour gives way to the cursor's (the
    changed blue on the cursor's navy did not read) and only its boldness stays."""
    # The padding has the background alone: a style of its own keeps it out of the cells'
    # text runs when a screenshot merges equal neighbours, so no SVG text starts with spaces
    # (which some renderers, rsvg among them, squeeze).
    pad = Segment(" " * PAD, Style.from_color(bgcolor=under.bgcolor))
    out: list[Segment] = []
    for column, cell in zip(columns, cells, strict=True):
        out.append(pad)
        if cell.spans:  # the badge: its colour covers the word, not the whole cell
            segments = [Segment(t, under + s if s else under) for t, s, _c in drawn(cell)]
            out += Segment.adjust_line_length(segments, column.width, style=under)
        else:
            style = under + cell.style if isinstance(cell.style, Style) else under
            if cursor and isinstance(cell.style, Style) and cell.style.color is not None:
                style = under + Style(bold=cell.style.bold)
            segments = [Segment(cell.plain, style)]
            length = cell_len(cell.plain)
            if length == column.width:
                out += segments
            else:  # a short cell, padded (or, never in practice, one too long, cut)
                out += Segment.adjust_line_length(segments, column.width, style=under)
        out.append(pad)
    return out


@dataclass(frozen=True)
class GridFilter:
    text: str = ""
    writable_only: bool = False
    changed_only: bool = False

    @property
    def active(self) -> bool:
        return bool(self.text or self.writable_only or self.changed_only)

    def keeps(self, reg: RegView, view: SessionView, by_group: bool = True) -> bool:
        """`by_group`: the text may pick a whole group (see `groups_match`)."""
        if self.writable_only and not reg.verdict.access.accepted:
            return False
        if self.changed_only and reg.id not in view.changed and reg.id not in view.edits:
            return False
        if self.text:
            needle = self.text.strip().lower()
            if needle in reg.info.name.lower():
                return True
            return by_group and str(reg.info.group).lower().startswith(needle)
        return True

    def groups_match(self, view: SessionView) -> bool:
        """Whether the text picks groups by the start of their name (`timers`, `EL1`,
        `gpr`): only when it is in no register's name, so `/sp` is sp and sp_el1, not the
        whole PC/SP/PSTATE group."""
        needle = self.text.strip().lower()
        return not any(needle in r.info.name.lower() for r in view.regs)

    def describe(self) -> str:
        """What is on, in words, for the line under the grid."""
        parts = []
        if self.text:
            parts.append(f"name or group has {self.text!r}")
        if self.writable_only:
            parts.append("writable now (w)")
        if self.changed_only:
            parts.append("changed (d)")
        return " · ".join(parts)




class RegisterGrid(SteadyScrollView, can_focus=True):
    """The grid. It renders a SessionView; it never asks the session for anything."""

    DEFAULT_CSS = """
    RegisterGrid {
        height: 1fr;
        background: $surface;
        color: $foreground;
        scrollbar-size-vertical: 1;
        &:focus { background-tint: $foreground 5%; }
        & > .register-grid--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .register-grid--header { background: ansi_bright_blue; color: ansi_default; }
        & > .register-grid--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .register-grid--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"register-grid--header", "register-grid--cursor"}
    # False where no write can happen (a replay) or where a dimmed Edit would give the answer
    # away (an exercise hides the verdicts): the footer then offers no Edit, and `e` still asks,
    # so the app can say why not.
    OFFERS_EDIT: ClassVar[bool] = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Select", show=False),
        # Two bindings on one key: the first is the one the footer shows, dimmed when the
        # register is refused (check_action -> None, which also stops it running); the key
        # then falls through to the hidden second one, which explains why and arms a retry.
        Binding("e", "edit", "Edit", key_display="e/⏎"),
        Binding("e", "edit_refused", "Edit", show=False),
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        # A register list is read top to bottom: home/end go to the first/last register, as
        # do vi's g/G; left/right scroll a grid wider than the terminal.
        Binding("home,g,ctrl+home", "first", "Top", show=False),
        Binding("end,G,ctrl+end", "last", "Bottom", show=False),
        Binding("left", "scroll_left", "Left", show=False),
        Binding("right", "scroll_right", "Right", show=False),
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

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.view: SessionView | None = None
        self.filter = GridFilter()
        self.radix = "hex"
        self.compact = False  # narrower columns, for the side panels beside it (app)
        self.collapsed: set[Group] = set()
        self.columns: dict[str, Column] = {}
        self._by_id: dict[int, RegView] = {}
        self._order: list[str] = []  # row keys on screen, in order
        self._index: dict[str, int] = {}  # and where each is
        self._cells: dict[str, tuple[Text, ...]] = {}  # what each row shows now
        self._signatures: dict[str, tuple[object, ...] | None] = {}  # what they depend on
        self._strips: dict[str, Strip] = {}  # each row, drawn: what a repaint copies
        self._spans_drawn: dict[int, tuple[Text, list[Segment]]] = {}  # by id of the cell
        self._header: Strip | None = None
        self._column_list: list[Column] = []
        self._columns_width = 0  # the columns with their padding
        self._width = 0  # the grid's, as of the last frame
        self._base = Style()  # the grid's background and colour, as of the last frame
        self._cursor_style: Style | None = None
        self._cursor = 0
        self._scroll_pending = False  # the cursor is to be scrolled into view once laid out
        self._highlighted_key: str | None = None
        # The visible row keys and what they were worked out from (no filter on).
        self._visible_for: tuple[tuple[object, ...], list[str]] | None = None
        self._palette: Palette | None = None
        self._badges: dict[Access, Text] = {}
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
        self._badges = {}
        self._spans_drawn.clear()
        if self.view is not None:
            self._cells.clear()
            self._signatures.clear()
            self._rebuild()

    @property
    def cursor_row(self) -> int:
        return self._cursor

    @property
    def row_count(self) -> int:
        return len(self._order)

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
        if not 0 <= self._cursor < len(self._order):
            return None
        return self._order[self._cursor]

    @property
    def shown_count(self) -> int:
        return sum(1 for k in self._order if not k.startswith(GROUP_PREFIX))

    def empty_text(self) -> str:
        """Why no row shows, and how to get them back ("" when some do)."""
        if self._order or self.view is None:
            return ""
        view, flt = self.view, self.filter
        if flt.changed_only and not flt.text and not flt.writable_only and not (
                view.changed or view.edits):
            return ("nothing changed yet: d shows what the last exit changed and what you "
                    "wrote since — d or esc shows every register")
        return f"no register matches ({flt.describe()}) — esc shows every register"

    def get_cell(self, key: str, column: str) -> Text:
        """What a cell shows now (KeyError for a row or column not on screen)."""
        return self._cells[key][list(self.columns).index(column)]

    def cursor_screen_row(self) -> int | None:
        """The screen line the cursor row is drawn on, or None when it is scrolled away."""
        if not self._order:
            return None
        top = self.content_region.y + HEADER
        y = top + self._cursor - round(self.scroll_y)
        if not top <= y < self.content_region.bottom:
            return None
        return y

    # --- feeding it ---------------------------------------------------------------------------
    def show(self, view: SessionView) -> None:
        """Draw a new view: changed rows only, unless the visible rows changed."""
        self.view = view
        self._by_id = {r.id: r for r in view.regs}
        columns = column_specs(view, self.compact)
        if columns != self._column_list or self._visible_keys() != self._order:
            self._rebuild()
            return
        changed: list[int] = []
        for index, key in enumerate(self._order):
            signature = self._signature(key)
            if signature is not None and self._signatures.get(key) == signature:
                continue  # nothing this row shows has changed: don't even make its cells
            self._signatures[key] = signature
            cells = self._render_row(key)
            if not all(map(same_cell, self._cells[key], cells)):
                self._cells[key] = cells
                self._strips.pop(key, None)
                changed.append(index)
        self._refresh_rows(changed)
        self._highlight()  # the cursor's register may have changed verdict

    def _refresh_rows(self, indices: list[int]) -> None:
        """Repaint these rows (ascending), those on screen: a run of neighbours as one
        region. A host-call exit changes the 31 GPRs' verdicts, and a refresh a line was a
        fifth of the grid's drawing; a row scrolled away is drawn when it scrolls back."""
        top = round(self.scroll_y)
        bottom = top + self.size.height  # a line or two past the rows shown: harmless
        start = end = -1
        for index in indices:
            if not top <= index < bottom:
                continue
            if index != end:
                if end > start:
                    self.refresh_lines(start + HEADER, end - start)
                start = index
            end = index + 1
        if end > start:
            self.refresh_lines(start + HEADER, end - start)

    def _signature(self, key: str) -> tuple[object, ...] | None:
        """What a row's cells depend on; None when that is not known cheaply (a group row
        under a filter, whose counts depend on every member): then it is always redrawn."""
        assert self.view is not None
        if key.startswith(GROUP_PREFIX):
            if self.filter.active:
                return None
            return (key[len(GROUP_PREFIX):] in self.collapsed, len(self.view.regs))
        reg = self._by_id[int(key, 16)]
        return (reg.value, reg.rec, reg.verdict.access, reg.read_errno,
                reg.id in self.view.changed, reg.id in self.view.edits, self.radix)

    def set_filter(self, flt: GridFilter) -> None:
        self.filter = flt
        self._refilter()

    def set_compact(self, compact: bool) -> None:
        if compact != self.compact:
            self.compact = compact
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
        if key not in self._index:
            self.collapsed.discard(reg.info.group)
            if self.filter.active:
                self.filter = GridFilter()
            self._refilter()
        if key in self._index:
            self.move_cursor(self._index[key])
            return True
        return False

    # --- building rows ------------------------------------------------------------------------
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
        groups_ok = self.filter.groups_match(self.view)
        for reg in self.view.regs:
            if self.filter.keeps(reg, self.view, groups_ok):
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
        """Make every visible row again, keeping the cursor on the same register."""
        assert self.view is not None
        current = self._cursor_key()
        self._column_list = column_specs(self.view, self.compact)
        self.columns = {c.key: c for c in self._column_list}
        self._columns_width = sum(c.span for c in self._column_list)
        self._order = list(self._visible_keys())
        self._index = {key: i for i, key in enumerate(self._order)}
        self._cells = {key: self._render_row(key) for key in self._order}
        self._signatures = {key: self._signature(key) for key in self._order}
        self._strips.clear()
        self._header = None
        self.virtual_size = Size(self._columns_width, len(self._order) + HEADER)
        self.refresh()
        if current in self._index:
            self.move_cursor(self._index[current])
        else:
            # First start, or the register went away: the first register, not a header.
            self.move_cursor(1 if len(self._order) > 1 else 0)
        # Again once the new height is laid out: scrolling now is clamped to the old one
        # (a cleared filter left the view at the top and the cursor far below it).
        self.call_after_refresh(self._scroll_to_cursor)

    def _render_row(self, key: str) -> tuple[Text, ...]:
        if key.startswith(GROUP_PREFIX):
            return self._render_group(Group(key[len(GROUP_PREFIX):]))
        return self._render_reg(self._by_id[int(key, 16)])

    def _render_group(self, group: Group) -> tuple[Text, ...]:
        assert self.view is not None
        p = self.palette
        members = [r for r in self.view.regs if r.info.group is group]
        groups_ok = self.filter.groups_match(self.view)
        shown = sum(1 for r in members if self.filter.keeps(r, self.view, groups_ok))
        plural = "" if len(members) == 1 else "s"
        count = f"{len(members)} register{plural}" if shown == len(members) else (
            f"{shown} of {len(members)} shown"
        )
        arrow = "▸" if group in self.collapsed else "▾"
        cells = [Text(arrow, style=p.group), Text(str(group), style=p.group),
                 Text(count, style=p.muted), Text("")]
        if "real" in self.columns:
            cells.append(Text(""))
        return tuple(cells)

    def _render_reg(self, reg: RegView) -> tuple[Text, ...]:
        assert self.view is not None
        p = self.palette
        edited = reg.id in self.view.edits
        changed = reg.id in self.view.changed
        style = p.edited if edited else p.changed if changed else ""
        mark = Text(EDITED_MARK if edited else CHANGED_MARK if changed else " ", style=style)
        name = Text(fit(reg.info.name, self.columns["name"].width), style=style)
        if reg.value is None:
            value = Text(fit(f"read: {reg.read_errno}", VALUE_WIDTH), style=p.error)
        else:
            value = Text(self.format(reg.value, reg.info.bits, VALUE_WIDTH), style=style)
        cells = [mark, name, value, self._badge(reg.verdict.access)]
        if "real" in self.columns:
            cells.append(self._render_real(reg))
        return tuple(cells)

    def _badge(self, access: Access) -> Text:
        """The verdict badge: one shared cell per verdict (cells are never changed in place)."""
        badge = self._badges.get(access)
        if badge is None:
            badge = self._badges[access] = self.palette.badge(access)
        return badge

    def _render_real(self, reg: RegView) -> Text:
        p = self.palette
        cell = reg.rec
        if cell is None or cell.value is None:
            return Text("—", style=p.muted)
        if cell.mark is RecMark.SAME:
            return Text("= KVM", style=p.muted)
        style = p.stale if cell.mark is RecMark.STALE else ""
        return Text(f"{cell.mark} " + self.format(cell.value, reg.info.bits,
                                                  self.columns["real"].width - 2),
                    style=style)

    def format(self, value: int, bits: int, width: int | None = None) -> str:
        """The value as the grid shows it; within `width`, the full-width form if it fits,
        else without leading zeros, else its low digits (the whole value is in the detail
        panel): a 128-bit v0 holding 3 reads 0x3, not 0x0000000000000000…"""
        text = format_value(value, bits, self.radix)
        if width is None or len(text) <= width:
            return text
        if self.radix == "hex":
            text = f"{value:#x}"
        return fit_value(text, width)

    # --- drawing ------------------------------------------------------------------------------
    def render_lines(self, crop: Region) -> list[Strip]:
        # The grid's own style is a walk up the DOM: worked out once a frame, and the strips
        # made on the old one dropped when it changed (focus tints it, a theme recolours it).
        base = self.rich_style
        if base != self._base or self.size.width != self._width:
            self._base, self._width = base, self.size.width
            self._strips.clear()
            self._header = None
            self._cursor_style = None
        return render_plain(self, crop)  # no box of its own: skip Textual's styling pass

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        if y < HEADER:
            strip = self._header_strip()
        else:
            index = y - HEADER + scroll_y
            if index >= len(self._order):
                if index == 0:  # nothing to show: say why, and how to get back
                    text = fit(self.empty_text(), self._columns_width - 3 - 2 * PAD)
                    return self._line((Text(""), Text(text,
                                                      style=self.palette.warning)),
                                      self._base, empty=True).crop_extend(0, width, self._base)
                return Strip.blank(width, self._base)
            strip = self._cursor_strip() if index == self._cursor else self._row_strip(index)
        if scroll_x == 0 and strip.cell_length == width:
            return strip  # the usual case: nothing scrolled sideways
        return strip.crop_extend(scroll_x, scroll_x + width, self._base)

    def _row_strip(self, index: int) -> Strip:
        key = self._order[index]
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = self._line(self._cells[key], self._base)
        return strip

    def _cursor_strip(self) -> Strip:
        if self._cursor_style is None:
            self._cursor_style = self._readable(
                self.get_component_rich_style("register-grid--cursor"))
        return self._line(self._cells[self._order[self._cursor]],
                          self._base + self._cursor_style, cursor=True)

    def _readable(self, style: Style) -> Style:
        """The cursor's (or header's) colours as the theme gives them, the text moved towards
        white or black if it does not read on its background (textual-dark's cursor is
        3.8:1, atom-one-dark's header 3.5:1)."""
        full = self._base + style
        if full.color is None or full.bgcolor is None or "ansi" in self.app.theme:
            return style
        fg = Color.from_rich_color(full.color)
        better = readable(fg, [Color.from_rich_color(full.bgcolor)])
        return style if better == fg else style + Style(color=better.rich_color)

    def _header_strip(self) -> Strip:
        if self._header is None:
            style = self._base + self._readable(
                self.get_component_rich_style("register-grid--header"))
            labels = tuple(Text(fit(c.label, c.width)) for c in self.columns.values())
            self._header = self._line(labels, style)
        return self._header

    def _line(self, cells: tuple[Text, ...], under: Style, empty: bool = False,
              cursor: bool = False) -> Strip:
        """A row, as wide as its columns or, if wider, the grid (a repaint copies it).
        `empty`: the one line of an empty grid, its text across the columns."""
        columns = self._column_list
        if empty:
            columns = [columns[0], Column("text", "", self._columns_width - columns[0].span
                                          - 2 * PAD)]
        segments = line_segments(cells, columns, under, self._drawn, cursor)
        width = self._columns_width
        if self._width > width:
            segments.append(Segment(" " * (self._width - width), self._base))
            width = self._width
        return Strip(segments, width)

    def _drawn(self, cell: Text) -> list[Segment]:
        """A cell with spans (a badge), drawn by Rich: once for each of the shared badges."""
        segments = self._spans_drawn.get(id(cell))
        if segments is None or segments[0] is not cell:
            segments = (cell, drawn(cell, self.app.console))
            self._spans_drawn[id(cell)] = segments
        return segments[1]

    def on_resize(self, event: events.Resize) -> None:
        if self._scroll_pending:
            self._scroll_to_cursor()

    def on_focus(self, event: events.Focus) -> None:
        self._restyle_cursor()

    def on_blur(self, event: events.Blur) -> None:
        self._restyle_cursor()

    def _restyle_cursor(self) -> None:
        self._cursor_style = None
        self.refresh()  # focus tints the background: every line

    # --- the cursor ---------------------------------------------------------------------------
    def move_cursor(self, row: int) -> None:
        """Put the cursor on a row (clamped), scroll it into view and say what it is on."""
        row = max(0, min(row, len(self._order) - 1))
        old, self._cursor = self._cursor, row
        if old != row:
            self.refresh_line(old + HEADER)
            self.refresh_line(row + HEADER)
        self._scroll_to_cursor()
        self._highlight()

    def _scroll_to_cursor(self) -> None:
        rows = self.scrollable_content_region.height - HEADER
        if rows <= 0:
            # Not laid out yet, or a terminal too short for any row (3 lines): scrolled when
            # the grid gets a size (on_resize). Asking again after every refresh instead kept
            # a 3-row terminal busy forever.
            self._scroll_pending = True
            return
        self._scroll_pending = False
        top = round(self.scroll_y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False)
        elif self._cursor >= top + rows:
            self.scroll_to(y=self._cursor - rows + 1, animate=False)

    def _highlight(self) -> None:
        """Tell the app when the cursor lands on another row, and dim or light the footer's e
        when what is under the cursor changes verdict."""
        reg = self.selected
        editable = reg is not None and reg.verdict.access.accepted
        if editable != self._editable:
            # Only when that changes: a refresh rebuilds the footer (costly on a slow host).
            self._editable = editable
            self.refresh_bindings()
        key = self._cursor_key()
        if key != self._highlighted_key:
            self._highlighted_key = key
            self.post_message(self.RegisterHighlighted(reg))

    @property
    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - HEADER)

    def action_cursor(self, delta: int) -> None:
        self.move_cursor(self._cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self._cursor + direction * self._page)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self._order) - 1)

    # --- keys and the mouse -------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit", "edit_refused"):
            if not self.OFFERS_EDIT:
                return action == "edit_refused"
            reg = self.selected
            accepted = reg is not None and reg.verdict.access.accepted
            if action == "edit":
                return True if accepted else None  # None: shown in the footer, dimmed
            return reg is not None and not accepted
        return True

    def action_select(self) -> None:
        """enter: fold or unfold a group row, edit a register row."""
        if (group := self.selected_group) is not None:
            self.toggle_group(group)
        else:
            self.action_edit()

    def action_edit(self) -> None:
        if (reg := self.selected) is not None:
            self.post_message(self.EditRequested(reg.id))

    def action_edit_refused(self) -> None:
        self.action_edit()

    def on_click(self, event: events.Click) -> None:
        """A click puts the cursor on a row; a click on the cursor row selects it."""
        offset = event.get_content_offset(self)
        if offset is None or offset.y < HEADER:
            return
        index = offset.y - HEADER + round(self.scroll_y)
        if not 0 <= index < len(self._order):
            return
        event.stop()
        if index == self._cursor:
            self.action_select()
        else:
            self.move_cursor(index)
