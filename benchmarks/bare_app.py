"""The yardstick for start-up: a bare Textual app that shows a DataTable of the same rows as
realmtui's grid (read from a JSON file the benchmark writes) and nothing else."""

from __future__ import annotations

import json
import sys

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer


class BareApp(App[None]):
    def __init__(self, rows: list[list[str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Δ", "register", "value", "write now", "REC")
        table.add_rows(self.rows)
        table.focus()


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        BareApp(json.load(f)).run()
