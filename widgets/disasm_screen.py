"""`p`: the instructions around pc (realmtui/disasm.py), the current one marked, with the
ELF guest's symbol names; where the bytes came from on top ("sim only" for a realm's
protected memory, which no real host can read)."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from realmtui.disasm import SIM_ONLY, Disassembly
from widgets.key_footer import KeyFooter


def disasm_text(d: Disassembly) -> Text:
    out = Text()
    if d.note:
        out.append(d.note, style="bold")
        return out
    out.append(d.source + "\n", style="bold reverse" if d.source == SIM_ONLY else "dim")
    function = None
    for line in d.lines:
        # objdump's way: the function's name where it (or the window) starts, then each
        # line's offset into it.
        name, _, offset = (line.symbol or "").partition("+")
        if name and name != function:
            out.append(f"<{name}>:\n", style="bold")
        function = name or None
        where = f"<+{offset or '0x0'}>" if name else ""
        style = "bold reverse" if line.current else ""
        mark = "=>" if line.current else "  "
        out.append(f"{mark} {line.address:#012x} {where:>8}  {line.encoding:08x}  {line.text}\n",
                   style=style)
    return out


class DisasmScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    DisasmScreen { align: center middle; background: $background 40%; }
    DisasmScreen > Vertical {
        width: 84;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $accent;
        border-title-style: bold;
        background: $panel;
    }
    DisasmScreen VerticalScroll { height: auto; max-height: 30; padding: 0 1; }
    """

    BINDINGS = [Binding("escape,p", "close", "Close")]

    def __init__(self, disassembly: Disassembly, title: str) -> None:
        super().__init__()
        self.disassembly = disassembly
        self.title_text = title

    def compose(self):  # noqa: ANN201
        with Vertical() as box:
            box.border_title = self.title_text
            with VerticalScroll():
                yield Static(disasm_text(self.disassembly), id="disasm-body")
        yield KeyFooter(compact=True)

    def action_close(self) -> None:
        self.dismiss(None)
