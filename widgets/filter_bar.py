"""The `/` filter: narrows the grid as you type (a register name or a group name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import on
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class FilterBar(Input):
    DEFAULT_CSS = """
    FilterBar {
        display: none;
        height: 1;
        border: none;
        padding: 0 1;
        background: $boost;
    }
    FilterBar:focus { border: none; background: $primary-muted; }
    FilterBar.-shown { display: block; }
    """

    BINDINGS = [Binding("escape", "clear", "Clear filter", show=False)]

    @dataclass
    class Updated(Message):
        text: str

    @dataclass
    class Done(Message):
        """The user left the filter: kept (enter) or cleared (escape)."""

        kept: bool

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            **kwargs, placeholder="/ filter: a register (x1, sp) or a group (GPRs, EL1, timers) · "
            "enter keeps · esc clears",
        )

    def on_mount(self) -> None:
        self.cursor_blink = getattr(self.app, "cursor_blink", True)

    def open(self) -> None:
        self.add_class("-shown")
        self.focus()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input is self:
            event.stop()
            self.post_message(self.Updated(self.value))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input is self:
            event.stop()
            self.set_class(bool(self.value), "-shown")
            self.post_message(self.Done(kept=True))

    def reset(self) -> None:
        """Empty and hidden (the app cleared the filter itself, e.g. to show a register)."""
        self.value = ""
        self.remove_class("-shown")

    def action_clear(self) -> None:
        self.value = ""
        self.remove_class("-shown")
        self.post_message(self.Updated(""))
        self.post_message(self.Done(kept=False))
