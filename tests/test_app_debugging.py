"""The debugging kit in the app (issue 10): `l` the ioctl log, `p` the code at pc, `D` compare
exits, `y` copy the value, ctrl+e export the grid -- each driven with Pilot as a user would."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from textual.widgets import DataTable, Input, Select

from realmtui.context import VmKind
from realmtui.disasm import NO_PROTECTED, SIM_ONLY
from realmtui.screenshots import run_to, select, settle
from realmtui.session import Session, SessionConfig
from widgets.disasm_screen import DisasmScreen
from widgets.exit_diff_screen import ExitDiffScreen
from widgets.ioctl_log_screen import IoctlLogScreen

SIZE = (140, 42)


def make(config: SessionConfig | None = None):  # noqa: ANN201
    from realmtui.app import RealmApp

    return RealmApp(Session(config or SessionConfig()), cursor_blink=False)


def rows(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_l_shows_every_ioctl_decoded_and_filters_and_copies() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await run_to(pilot, 1)
        await select(pilot, "x5")
        await pilot.press("e", *"0x77", "enter")  # a write the log must show, by name
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, IoctlLogScreen)
        table = screen.query_one(DataTable)
        all_rows = rows(table)
        names = {r[1] for r in all_rows}
        assert {"KVM_CREATE_VM", "KVM_ARM_VCPU_INIT", "KVM_RUN", "KVM_SET_ONE_REG",
                "KVM_GET_ONE_REG"} <= names
        assert table.cursor_row == table.row_count - 1  # the newest in sight, as strace ends
        runs = [r for r in all_rows if r[1] == "KVM_RUN"]
        assert runs and "-> MMIO addr=0x9000000" in runs[-1][4] and runs[-1][2] == "0"
        # Filter as you type: only the x5 write and its read-back remain.
        await pilot.press("slash", *"x5 = 0x77")
        await pilot.pause()
        shown = rows(table)
        assert shown and all("x5 = 0x77" in r[4] for r in shown), shown
        assert any(r[1] == "KVM_SET_ONE_REG" for r in shown)
        assert len(shown) < len(all_rows)
        await pilot.press("enter", "y")  # back in the table; copy the line
        assert app.clipboard.startswith(f"#{shown[0][0]} {shown[0][1]}(")
        assert "x5 = 0x77" in app.clipboard
        await pilot.press("Y")
        copied = [json.loads(t) for t in app.clipboard.splitlines()]
        assert len(copied) == len(shown) and copied[0]["reg"] == "x5"
        await pilot.press("escape")
        assert app.screen is app.screen_stack[0]


async def test_l_shows_a_refused_write_with_its_errno_and_esc_clears_the_filter() -> None:
    app = make()
    assert not app.session.set("sp", "0x1000").ok  # a realm's sp: KVM says EINVAL
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await settle(pilot)
        screen = app.screen
        await pilot.press("slash", *"EINVAL")
        await pilot.pause()
        refused = rows(screen.query_one(DataTable))
        assert [(r[1], r[2]) for r in refused] == [("KVM_SET_ONE_REG", "-1 EINVAL")]
        assert "sp = 0x1000" in refused[0][4]
        await pilot.press("ctrl+a", "backspace")
        await pilot.press("slash", *"EINVAL-nothing")
        await pilot.pause()
        assert screen.query_one(DataTable).row_count == 0
        assert "0 of" in str(screen.query_one("#ioctl-count").content)
        await pilot.press("escape")  # clears the filter, stays open
        await pilot.pause()
        assert app.screen is screen and screen.query_one(Input).value == ""
        assert screen.query_one(DataTable).row_count == len(screen.lines)


async def test_p_shows_the_realms_code_at_pc_labelled_sim_only() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await run_to(pilot, 1)
        await pilot.press("p")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DisasmScreen)
        d = screen.disassembly
        assert d.source == SIM_ONLY and d.note is None
        current = [ln for ln in d.lines if ln.current]
        # The REC's pc, which KVM's copy of a realm's pc is not: the store to the UART.
        pc = next(r for r in app.view.regs if r.info.name == "pc")
        assert pc.real != pc.value
        assert len(current) == 1 and current[0].address == pc.real
        assert current[0].text.startswith("str")
        text = str(screen.query_one("#disasm-body").render())
        assert SIM_ONLY in text and f"=> {current[0].address:#012x}" in text
        await pilot.press("escape")
        assert app.screen is app.screen_stack[0]


async def test_p_on_a_realm_without_the_sim_says_the_host_cannot_read_it() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await run_to(pilot, 1)
        app.session.inspector = None  # what a real kernel's backend bundle carries
        await pilot.press("p")
        await settle(pilot)
        assert str(app.screen.query_one("#disasm-body").render()) == NO_PROTECTED


async def test_p_on_a_normal_vm_reads_guest_ram() -> None:
    app = make(SessionConfig(vm=VmKind.NORMAL))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        d = app.screen.disassembly
        assert d.source != SIM_ONLY and any(ln.current for ln in d.lines)
        assert next(ln for ln in d.lines if ln.current).text.startswith("str")  # the UART store


async def test_D_compares_two_exits_and_now_with_verdicts_at_each() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await run_to(pilot, 3)  # E3: the host call fills x0-x30 from the RMM's struct
        await pilot.press("D")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ExitDiffScreen)
        table = screen.query_one("#diff-table", DataTable)
        by_name = {r[0]: r for r in rows(table)}
        assert "x0" in by_name and "x1" in by_name  # E2 -> now (E3)
        x1 = by_name["x1"]
        assert x1[2] and x1[4]  # a verdict on each side
        assert x1[1] != x1[3]
        # Pick the start as A: the realm's whole run so far.
        await pilot.press("tab")  # the focus goes to the first picker
        screen.query_one("#diff-a", Select).value = 0
        await pilot.pause()
        assert "A = start" in str(screen.query_one("#diff-summary").content)
        assert rows(table) and all(r[1] != r[3] or r[2] != r[4] for r in rows(table))
        # The same point on both sides: nothing differs, and it says why.
        screen.query_one("#diff-b", Select).value = 0
        await pilot.pause()
        assert table.row_count == 0
        assert "the same point" in str(screen.query_one("#diff-summary").content)


async def test_D_before_any_exit_says_there_is_nothing_to_compare() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("D")
        await settle(pilot)
        assert app.screen is app.screen_stack[0]
        assert "nothing to compare yet" in app.message.text


async def test_y_copies_the_selected_value_as_shown() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await run_to(pilot, 1)
        await select(pilot, "x20")
        await pilot.press("y")
        await pilot.pause()
        reg = app.grid.selected
        assert app.clipboard == f"0x{reg.value:016x}"
        assert any("x20" in n.message and "copied" in n.message for n in app._notifications)
        await pilot.press("x", "y")  # decimal view: the decimal text
        await pilot.pause()
        assert app.clipboard == str(reg.value)


async def test_ctrl_e_exports_the_grid_as_json_and_csv_and_says_where(tmp_path: Path) -> None:
    app = make()
    app.screenshot_dir = str(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await run_to(pilot, 1)
        await pilot.press("ctrl+e")
        await pilot.pause()
        files = sorted(tmp_path.iterdir())
        assert [f.suffix for f in files] == [".csv", ".json"]
        data = json.loads(files[1].read_text())
        assert data["at"] == app.view.snapshot.label
        x20 = next(r for r in data["regs"] if r["name"] == "x20")
        grid_x20 = next(r for r in app.view.regs if r.info.name == "x20")
        assert int(x20["value"], 16) == grid_x20.value
        with files[0].open() as f:
            assert len(list(csv.DictReader(f))) == len(app.view.regs)
        note = [n.message for n in app._notifications][-1]
        assert str(files[1]) in note and files[0].name in note
        await pilot.press("ctrl+e")  # a second export never overwrites the first
        await pilot.pause()
        assert len(list(tmp_path.iterdir())) == 4


async def test_ctrl_e_into_an_unwritable_place_says_it_was_not_exported(tmp_path: Path) -> None:
    app = make()
    app.screenshot_dir = str(tmp_path / "missing")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+e")
        await pilot.pause()
        note = [n for n in app._notifications][-1]
        assert "NOT exported" in note.message and note.severity == "error"


async def test_a_long_log_shows_its_newest_rows_and_says_how_many_it_holds() -> None:
    from textual.app import App

    from realmtui.ioctl_view import IoctlLine
    from widgets.ioctl_log_screen import ROWS

    lines = tuple(IoctlLine(n, "KVM_GET_ONE_REG", f"fd 9, x{n % 31} = 0x0", "0", False, 1.0,
                            "", "{}") for n in range(4001, 7001))

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(IoctlLogScreen(lines, total=7000))

    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        table = screen.query_one(DataTable)
        assert table.row_count == ROWS
        assert str(table.get_row_at(ROWS - 1)[0]) == "7000"  # the newest at the end
        count = str(screen.query_one("#ioctl-count").content)
        assert "the newest 1000 shown" in count and "of the session's 7000" in count
        await pilot.press("slash", *"x30 ")
        await pilot.pause()
        assert 0 < table.row_count < ROWS
        assert all("x30 " in str(table.get_row_at(i)[4]) + " " for i in range(table.row_count))
