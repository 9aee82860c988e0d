"""Finding your way: filter, toggles, radix, help, palette, switching, screenshots, and the
80x24 layout."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.color import Color

from realmtui.context import Profile, VmKind
from realmtui.regs import parse_register
from realmtui.screenshots import run_to, select, settle
from realmtui.session import Session, SessionConfig

SIZE = (140, 42)


def make(config: SessionConfig | None = None):  # noqa: ANN201
    from realmtui.app import RealmApp

    return RealmApp(Session(config or SessionConfig()), cursor_blink=False)


def names(app) -> list[str]:  # noqa: ANN001
    """Register rows on screen, in order (group rows left out)."""
    return [app.grid.get_cell(k, "name").plain for k in app.grid._order if not k.startswith("g:")]


async def test_slash_filters_as_you_type_and_escape_clears() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        total = len(app.view.regs)
        await pilot.press("slash", "s", "p")
        await pilot.pause()
        shown = names(app)
        assert "sp" in shown and "x0" not in shown
        by_name = {r.info.name: r for r in app.view.regs}
        assert all("sp" in n or "sp" in str(by_name[n].info.group).lower() for n in shown)
        await pilot.press("enter")  # keep it, back to the grid
        await pilot.pause()
        assert app.focused is app.grid
        assert names(app) == shown
        await pilot.press("slash", "escape")
        await pilot.pause()
        assert len(names(app)) == total


async def test_filter_matches_a_group_name() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"fp/simd", "enter")
        await pilot.pause()
        shown = names(app)
        assert "v0" in shown and "fpcr" in shown and "x0" not in shown


async def test_writable_and_changed_toggles() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w")
        await pilot.pause()
        shown = names(app)
        assert "x0" in shown and "x8" in shown  # effective and ignored both reach KVM
        assert "sp" not in shown and "v0" not in shown
        await pilot.press("w")
        await run_to(pilot, 3)
        await pilot.press("d")
        await pilot.pause()
        assert set(names(app)) == {app.grid._by_id[i].info.name for i in app.view.changed}
        await pilot.press("d")
        await pilot.pause()
        assert len(names(app)) == len(app.view.regs)


async def test_radix_toggle_shows_decimal() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        x0 = f"{parse_register('x0'):#x}"
        value = app.session.read(parse_register("x0"))[0]
        await pilot.press("x")
        await pilot.pause()
        assert app.grid.get_cell(x0, "value").plain == str(value)
        await pilot.press("x")
        await pilot.pause()
        assert app.grid.get_cell(x0, "value").plain == f"0x{value:016x}"


async def test_wide_registers_show_their_low_digits() -> None:
    # Issue 8 item 4: a u128 (v0-v31) or the 512-bit SVE_VLS was cut at its low end
    # ("0x000000000000000…"), so writing 0x3 changed only the edit mark.
    from realmtui.screenshots import edit

    app = make(SessionConfig(vm=VmKind.NORMAL))
    async with app.run_test(size=SIZE) as pilot:
        assert cell_text(app, "v0", "value") == "0x0"
        await edit(pilot, "v0", "0x3")
        assert cell_text(app, "v0", "value") == "0x3"
        big = (1 << 127) | 0xABCF
        await edit(pilot, "v0", hex(big))
        shown = cell_text(app, "v0", "value")
        assert len(shown) == 18 and shown.startswith("0x…") and shown.endswith("abcf"), shown
        assert app.grid.selected.info.name == "v0"
        # the detail panel has the whole u128
        assert "0x8000000000000000_000000000000abcf" in app.export_screenshot()


async def test_help_explains_keys_and_verdicts() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause(0.3)
        from widgets.help_screen import HELP, HelpScreen

        assert isinstance(app.screen, HelpScreen)
        for word in ("effective", "ignored", "refused", "writable", "read-only", "ctrl+p"):
            assert word in HELP
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_palette_jumps_to_a_register() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"go to pstate")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.grid.selected is not None
        assert app.grid.selected.info.name == "pstate"


async def test_jumping_to_a_filtered_out_register_clears_the_filter() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"zzz", "enter")
        await pilot.pause()
        assert names(app) == []
        app.jump_to(parse_register("x5"))
        await pilot.pause()
        assert app.grid.selected.info.name == "x5"
        assert len(names(app)) == len(app.view.regs)
        assert app.query_one("#filter").value == ""


async def test_palette_switches_profile_and_vm() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        app.switch(profile=Profile.SEED)
        await settle(pilot)
        assert app.view.context.profile is Profile.SEED
        assert "switched" in app.message.text
        app.switch(vm=VmKind.NORMAL)
        await settle(pilot)
        assert not app.view.realm
        assert "real" not in app.grid.columns
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "VM: realm" in titles and "Restart the VM" in titles


async def test_ctrl_s_writes_an_svg_in_the_cwd(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause(0.5)
        svgs = list(tmp_path.glob("realmtui-*.svg"))
        assert len(svgs) == 1
        assert svgs[0].read_text().startswith("<svg")
        assert str(tmp_path) in app.message.text


@pytest.mark.parametrize("vm", [VmKind.REALM, VmKind.NORMAL])
async def test_80x24_keeps_name_value_and_verdict_visible(vm: VmKind) -> None:
    app = make(SessionConfig(vm=vm))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        grid = app.grid
        assert app.has_class("-narrow")
        assert not app.query_one("#side").display or app.query_one("#side").region.width == 0
        assert grid.region.width <= 80
        x = grid.region.x
        for key in ("name", "value", "verdict"):
            index = list(grid.columns).index(key)
            right = x + sum(c.span for c in list(grid.columns.values())[: index + 1])
            assert right <= grid.region.right, key
        text = app.export_screenshot()
        assert "effective" in text or "writable" in text
        # every key the footer shows fits, the view toggles as one entry
        from textual.widgets._footer import FooterLabel

        from widgets.textual_private import FooterKey

        keys = list(app.query(FooterKey)) + list(app.query(FooterLabel))
        assert {k.key for k in app.query(FooterKey)} >= {"r", "w", "d", "x", "question_mark"}
        assert all(0 < k.region.right <= 80 for k in keys), [
            (getattr(k, "key", "label"), k.region) for k in keys]
        # i shows the panels in place of the grid, and brings the grid back
        await pilot.press("i")
        await pilot.pause()
        assert app.query_one("#side").display and not app.query_one("#main").display
        await pilot.press("i")
        await pilot.pause()
        assert app.query_one("#main").display and app.focused is grid


async def test_wide_layout_shows_panels_beside_the_grid() -> None:
    app = make()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert not app.has_class("-narrow")
        side = app.query_one("#side")
        assert side.display and side.region.x >= app.grid.region.right


@pytest.mark.parametrize("theme", ["ansi-dark", "ansi-light", "textual-light", "nord"])
async def test_every_theme_draws_the_badges(theme: str) -> None:
    # ansi-* themes name colours (ansi_green), not hex: the badges must still be drawn
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        app.theme = theme
        await pilot.pause()
        assert app.grid.row_count == len(app.grid._order) > 0
        assert cell_text(app, "x0", "verdict").strip() == "effective"
        assert app.grid.get_cell(f"{parse_register('x0'):#x}", "verdict").spans


def cell_text(app, name: str, column: str) -> str:  # noqa: ANN001
    return app.grid.get_cell(f"{parse_register(name):#x}", column).plain


async def test_message_bar_colours_follow_the_severity_and_the_theme() -> None:
    # The bar is coloured with inline styles taken from the theme (no CSS class restyle).
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        bar = app.message
        calm = bar.rich_style
        bar.say("the kernel said no", "error")
        await pilot.pause()
        variables = app.get_css_variables()
        assert bar.styles.background == Color.parse(variables["error-muted"])
        assert bar.rich_style.color.triplet.hex.lower() == variables["text-error"].lower()
        app.theme = "textual-light"
        await pilot.pause()
        light = app.get_css_variables()
        assert bar.styles.background == Color.parse(light["error-muted"])
        bar.say("all well")
        await pilot.pause()
        app.theme = "textual-dark"
        await pilot.pause()
        assert bar.rich_style == calm  # back to the CSS look


async def test_side_panels_are_drawn_again_only_when_what_they_show_changed() -> None:
    app = make()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        body = app.query_one("#detail-body")
        realm = app.query_one("#realm-body")
        detail_before, realm_before = body.renderable, realm.renderable
        app._draw(app.view)  # the same view again: nothing to draw
        assert body.renderable is detail_before and realm.renderable is realm_before
        await pilot.press("f")
        await settle(pilot)
        assert realm.renderable is not realm_before  # the stage changed


async def test_side_panels_keep_their_height_while_stepping_and_refit_for_another_vm() -> None:
    # The exit decoding changes length at every exit: the realm panel grows to the longest
    # yet and stays, so the register panel under it does not jump up and down. A restart
    # builds the same VM, whose exits decode as before: the panel keeps its height (shrunk,
    # it grew back at the first exit, laying the whole screen out). Another VM refits it.
    app = make()
    async with app.run_test(size=(160, 48)) as pilot:
        await run_to(pilot, 1)
        realm = app.query_one("#realm")
        body = app.query_one("#realm-body")
        heights, lines = [realm.region.height], [len(body._render(body.size.width))]
        for _ in range(4):
            await pilot.press("r")
            await settle(pilot)
            heights.append(realm.region.height)
            lines.append(len(body._render(body.size.width)))
        assert len(set(lines)) > 1  # the decodings differ in length...
        assert heights == sorted(heights)  # ...the panel never shrank
        assert "last&#160;exit" in app.export_screenshot()  # the heading is still in sight
        app._restart()
        await settle(pilot)
        assert realm.region.height == heights[-1]  # the same VM again: no jump
        await run_to(pilot, 1)
        assert realm.region.height == heights[-1]
        app.switch(vm=VmKind.NORMAL)
        await settle(pilot)
        assert realm.region.height < heights[-1]  # another VM: fitted to its text again


def test_detail_header_separates_the_name_from_its_group() -> None:
    from rich.console import Console
    from textual.app import App

    from widgets.detail_panel import detail_renderable
    from widgets.palette import Palette

    session = Session(SessionConfig())
    try:
        reg = session.current.regs[0]
        palette = Palette.from_app(App())
        console = Console(width=60, color_system=None)
        with console.capture() as out:
            console.print(detail_renderable(reg, palette, True))
        first = out.get().splitlines()[0]
        assert first.startswith(f"{reg.info.name} · {reg.info.group} · u64 · id 0x")
    finally:
        session.close()


async def test_r_is_a_letter_in_the_filter_and_the_editor_not_a_run() -> None:
    """`r` runs from anywhere in the grid (a priority binding), but where text is typed it is
    just a letter: no KVM_RUN may happen behind the user's back."""
    from realmtui.session import Stage

    app = make(SessionConfig(start=Stage.ACTIVE))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", "e", "l", "r")
        await settle(pilot)
        assert names(app) == ["elr_el1"] and not app.session.exits
        await pilot.press("escape", "escape")
        await settle(pilot)
        await pilot.press("home", "down", "e")  # x0: the editor opens on it
        await settle(pilot)
        await pilot.press("ctrl+a", "ctrl+k", "r")
        await settle(pilot)
        assert app.editor.is_open and not app.session.exits
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("r")  # back in the grid: now it runs
        await settle(pilot)
        assert len(app.session.exits) == 1


async def test_ctrl_s_saves_a_new_file_each_time_and_says_when_it_cannot(tmp_path) -> None:  # noqa: ANN001
    # Issue 12 item 16: three presses in a second overwrote one file (1-second names), and
    # an unwritable directory still got "screenshot saved"; issue 8 item 6: the toast of one
    # screenshot was in the next.
    app = make()
    app.screenshot_dir = str(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(3):
            await pilot.press("ctrl+s")
            await pilot.pause()
        files = sorted(tmp_path.glob("realmtui-*.svg"))
        assert len(files) == 3, files
        assert "screenshot saved to" in app.message.text
        assert str(files[-1]) in app.message.text or any(str(f) in app.message.text
                                                         for f in files)
        assert not app.screen.query("Toast"), "a toast would be in the next screenshot"
        assert "Saved" not in files[-1].read_text()
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        for unwritable in (blocker / "sub", "/proc/no-such-dir"):
            app.screenshot_dir = str(unwritable)
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert "NOT saved" in app.message.text, app.message.text
            assert app.message.severity == "error"
        assert len(list(tmp_path.glob("realmtui-*.svg"))) == 3


@pytest.mark.parametrize("vm", [VmKind.REALM, VmKind.NORMAL])
@pytest.mark.parametrize("size", [(97, 28), (100, 30), (120, 36), (128, 40)])
async def test_grid_and_last_exit_side_by_side_from_100_columns(
        vm: VmKind, size: tuple[int, int]) -> None:
    # Issue 8 item 1: below ~129 columns the panels folded away, and i replaced the grid
    # with them. From ~97 columns the grid (compact) and the last exit show together.
    app = make(SessionConfig(vm=vm))
    async with app.run_test(size=size) as pilot:
        if vm is VmKind.REALM:
            await run_to(pilot, 1)
        else:
            await pilot.press("r")
            await settle(pilot)
        grid, realm = app.grid, app.query_one("#realm")
        assert grid.region.width > 0 and realm.region.width >= 33
        assert grid.region.right <= realm.region.x  # beside it, not over it
        assert realm.region.right <= size[0]
        screen = app.export_screenshot()
        assert "KVM_EXIT_MMIO" in screen  # the decoded exit, in the panel
        for column in ("name", "value", "verdict"):  # the grid keeps its columns
            c = grid.columns[column]
            assert c.width >= 8
        if vm is VmKind.REALM:
            assert "REC" in grid.columns["real"].label
        # i hides the panels and the grid takes the whole width (no empty third)
        await pilot.press("i")
        await pilot.pause()
        assert not app.query_one("#side").display
        assert app.query_one("#main").region.width == size[0]


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
@pytest.mark.parametrize("vm", [VmKind.REALM, VmKind.NORMAL])
async def test_the_top_line_and_the_line_under_the_grid_fit_or_say_they_are_cut(
        size: tuple[int, int], vm: VmKind) -> None:
    # Issue 8 item 3: at 80 columns the top line lost the guest's next step and the two
    # lines under the grid stopped mid-citation; at 100 the hint ended with no ellipsis.
    app = make(SessionConfig(vm=vm))
    async with app.run_test(size=size) as pilot:
        await pilot.press("r")
        await settle(pilot)
        status = app.query_one("#status")
        top = status.render_line(0).text.rstrip()
        assert len(top) <= size[0]
        assert "next E" in top or "MMIO read waits" in top, top  # the hint starts in sight
        full = status.text.plain.rstrip()
        assert top == full or top.endswith("…"), top
        if vm is VmKind.NORMAL:  # no realm series, so no profile; exits and steps both E
            assert "normal VM · sim" in top and "v9" not in top
            assert "N1" not in app.view.next_step and "N2" not in app.message.text
        await select(pilot, "x0")
        bar = app.message
        lines = [bar.render_line(y).text.rstrip() for y in range(bar.size.height)]
        assert all(len(line) <= size[0] for line in lines)
        shown = " ".join(lines).replace("…", "")
        if len(shown) < len(bar.text) - 4:  # cut: the last line says so
            assert lines[-1].endswith("…"), lines


async def test_an_empty_grid_says_why_and_esc_brings_every_register_back() -> None:
    # Issue 8 item 5: `d` before any exit, or `/timers` on a realm (no timers listed), gave
    # an empty grid and "a group row: enter folds or unfolds it".
    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert app.grid.shown_count == 0
        assert "nothing changed yet" in app.message.text
        assert "group row" not in app.message.text
        assert "nothing changed yet" in app.grid.render_line(1).text  # in the grid itself
        assert "d✓" in app.export_screenshot()  # the footer says d is on
        await pilot.press("escape")
        await pilot.pause()
        assert app.grid.shown_count == len(app.view.regs)
        assert "d✓" not in app.export_screenshot()
        await pilot.press("slash", *"timers", "enter")
        await pilot.pause()
        assert app.grid.shown_count == 0
        assert "no register matches" in app.message.text and "esc" in app.message.text
        await pilot.press("escape")  # the kept filter: esc on the grid clears it
        await pilot.pause()
        assert app.grid.shown_count == len(app.view.regs)
        assert not app.grid.filter.active


async def test_clearing_a_filter_keeps_the_cursor_row_in_sight() -> None:
    # Issue 8 item 8: after clearing a filter the view was at the top, the cursor far below.
    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("slash", *"spsr", "enter")
        await pilot.pause()
        await pilot.press("end")
        await pilot.pause()
        assert app.grid.selected.info.name == "spsr_fiq"
        await pilot.press("escape")
        await pilot.pause()
        await pilot.pause()
        assert app.grid.selected.info.name == "spsr_fiq"
        assert app.grid.cursor_screen_row() is not None


async def test_a_register_name_filter_does_not_pull_in_a_group_named_alike() -> None:
    # Issue 8 item 8: `/sp` matched the group "PC/SP/PSTATE", so pc and pstate showed.
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"sp", "enter")
        await pilot.pause()
        names = {r.info.name for r in app.view.regs
                 if f"{r.id:#x}" in app.grid._index}
        assert "sp" in names and "sp_el1" in names
        assert "pc" not in names and "pstate" not in names
        await pilot.press("escape", "slash", *"gpr", "enter")  # a group by its name still
        await pilot.pause()
        assert app.grid.shown_count == 31
