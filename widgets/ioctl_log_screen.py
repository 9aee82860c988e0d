"""`l`: every ioctl of the session, `strace -e ioctl` style, decoded for KVM
(realmtui/ioctl_view.py). Scrolls, filters as you type, copies a line or every shown one."""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from realmtui.ioctl_view import IoctlLine
from widgets.key_footer import KeyFooter

ROWS = 1000  # at most, the newest that match
# The arguments last: a memory region's are long, and the result must stay in sight.
COLUMNS = ("#", "ioctl", "result", "µs", "arguments -> exit")


class IoctlLogScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    IoctlLogScreen { align: center middle; background: $background 40%; }
    IoctlLogScreen > Vertical {
        width: 100%;
        height: 100%;
        border: round $accent;
        border-title-style: bold;
        background: $panel;
    }
    IoctlLogScreen Input { border: round $primary; height: 3; }
    IoctlLogScreen Input:focus { border: round $accent; }
    IoctlLogScreen DataTable { height: 1fr; }
    IoctlLogScreen #ioctl-count { color: $text-muted; height: 1; padding: 0 1; }
    """

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("y", "copy_line", "Copy line"),
        Binding("Y", "copy_shown", "Copy shown"),
    ]

    def __init__(self, lines: tuple[IoctlLine, ...], total: int | None = None) -> None:
        super().__init__()
        self.lines = lines
        self.total = len(lines) if total is None else total  # the session's, if more
        self.shown: tuple[IoctlLine, ...] = lines
        self.filter_text = ""

    def compose(self):  # noqa: ANN201
        with Vertical() as box:
            box.border_title = "ioctl log"
            yield Input(placeholder="filter: words every shown line contains (KVM_RUN, x0, "
                        "EINVAL...)", id="ioctl-filter")
            yield DataTable(id="ioctl-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="ioctl-count", markup=False)
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        table = self.table
        table.add_columns(*COLUMNS)
        self._fill()
        table.focus()
        table.move_cursor(row=max(0, table.row_count - 1))  # the newest, as strace ends

    @property
    def table(self) -> DataTable[str]:
        return self.query_one("#ioctl-table", DataTable)

    def _fill(self) -> None:
        table = self.table
        table.clear()
        matching = [ln for ln in self.lines if ln.matches(self.filter_text)]
        self.shown = tuple(matching[-ROWS:])  # a table of thousands of rows is slow to fill
        for ln in self.shown:
            call = ln.call + (f" -> {ln.exit}" if ln.exit else "")
            table.add_row(str(ln.seq), ln.name, ln.result, f"{ln.duration_us:.1f}", call,
                          key=str(ln.seq))
        total = len(self.lines)
        count = (f"{len(matching)} of {total} ioctls match {self.filter_text!r}"
                 if self.filter_text else f"{total} ioctls")
        if len(matching) > len(self.shown):
            count += f", the newest {len(self.shown)} shown"
        if self.total > total:
            count += (f" (the newest {total} of the session's {self.total}: "
                      "batch --ioctl-log writes them all)")
        if not self.total:
            count = "no ioctls yet"
        self.query_one("#ioctl-count", Static).update(
            f"{count} · / filter · y copies the line · Y every shown line (JSON) · esc closes")

    @on(Input.Changed, "#ioctl-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self._fill()

    @on(Input.Submitted, "#ioctl-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()

    def action_focus_filter(self) -> None:
        self.query_one("#ioctl-filter", Input).focus()

    def action_close(self) -> None:
        field = self.query_one("#ioctl-filter", Input)
        if field.has_focus and field.value:
            field.value = ""  # esc in the filter clears it first
            return
        self.dismiss(None)

    @property
    def selected(self) -> IoctlLine | None:
        row = self.table.cursor_row
        return self.shown[row] if 0 <= row < len(self.shown) else None

    def action_copy_line(self) -> None:
        line = self.selected
        if line is None:
            self.notify("no ioctl to copy", severity="warning")
            return
        self.app.copy_to_clipboard(line.text)
        self.notify(f"#{line.seq} {line.name} copied to the clipboard", title="copied")

    def action_copy_shown(self) -> None:
        text = "\n".join(ln.json for ln in self.shown)
        self.app.copy_to_clipboard(text)
        self.notify(f"{len(self.shown)} ioctls copied to the clipboard as JSON lines",
                    title="copied")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # y and Y are letters while the filter has the keys.
        if action in ("copy_line", "copy_shown", "focus_filter"):
            return not self.query_one("#ioctl-filter", Input).has_focus
        return True
