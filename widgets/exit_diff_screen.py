"""`D`: compare two points of the session -- two exits, or an exit and now -- side by side:
the registers whose value or verdict differs, with the verdict at each
(realmtui/exit_diff.py, the batch's `diff N M`)."""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Select, Static

from realmtui.exit_diff import RegDiff, diff
from realmtui.model import RegView, Snapshot
from realmtui.values import format_value
from widgets.key_footer import KeyFooter


def point_label(snap: Snapshot, last: bool) -> str:
    return f"now ({snap.label})" if last else snap.label


def side(row: RegView | None) -> tuple[str, str]:
    """(value, verdict) of one side; a register the kernel did not list there says so."""
    if row is None:
        return "not listed", ""
    value = (format_value(row.value, row.info.bits) if row.value is not None
             else f"read: {row.read_errno}")
    return value, str(row.verdict.access)


class ExitDiffScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    ExitDiffScreen { align: center middle; background: $background 40%; }
    ExitDiffScreen > Vertical {
        width: 100%;
        height: 100%;
        border: round $accent;
        border-title-style: bold;
        background: $panel;
    }
    ExitDiffScreen Horizontal { height: auto; }
    ExitDiffScreen Select { width: 1fr; }
    ExitDiffScreen DataTable { height: 1fr; }
    ExitDiffScreen #diff-summary { height: auto; padding: 0 1; color: $text-muted; }
    """

    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, history: tuple[Snapshot, ...]) -> None:
        super().__init__()
        self.history = history
        # By default the exit before the last one against now: what the last run changed,
        # and what was written since.
        self.a = max(0, len(history) - 2)
        self.b = len(history) - 1
        self.diffs: list[RegDiff] = []

    def compose(self):  # noqa: ANN201
        options = [(point_label(s, i == len(self.history) - 1), i)
                   for i, s in enumerate(self.history)]
        with Vertical() as box:
            box.border_title = "compare exits"
            with Horizontal():
                yield Select(options, value=self.a, allow_blank=False, id="diff-a")
                yield Select(options, value=self.b, allow_blank=False, id="diff-b")
            yield DataTable(id="diff-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="diff-summary", markup=False)
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#diff-table", DataTable)
        table.add_columns("register", "value at A", "verdict at A", "value at B", "verdict at B")
        self._fill()
        table.focus()

    @on(Select.Changed)
    def _picked(self, event: Select.Changed) -> None:
        if not isinstance(event.value, int):
            return
        if event.select.id == "diff-a":
            self.a = event.value
        else:
            self.b = event.value
        self._fill()

    def _fill(self) -> None:
        table = self.query_one("#diff-table", DataTable)
        table.clear()
        a, b = self.history[self.a], self.history[self.b]
        self.diffs = diff(a, b)
        for d in self.diffs:
            table.add_row(d.name, *side(d.before), *side(d.after), key=d.name)
        last = len(self.history) - 1
        names = f"A = {point_label(a, self.a == last)}, B = {point_label(b, self.b == last)}"
        if self.a == self.b:
            text = f"{names}: the same point; pick another above (tab, then enter)"
        elif not self.diffs:
            text = f"{names}: every register has the same value and verdict"
        else:
            text = (f"{names}: {len(self.diffs)} registers differ in value or verdict · "
                    "tab moves to the pickers · esc closes")
        self.query_one("#diff-summary", Static).update(text)

    def action_close(self) -> None:
        self.dismiss(None)
