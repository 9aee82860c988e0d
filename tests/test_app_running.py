"""Running in the app: lifecycle keys, exits and changed markers, the MMIO prompt, shutdown and
restart, and errors from the session that must end inline, not as a traceback."""

from __future__ import annotations

from realmtui.context import VmKind
from realmtui.regs import parse_register
from realmtui.screenshots import run_to, settle
from realmtui.session import Session, SessionConfig, Stage
from widgets.textual_private import FooterKey

SIZE = (140, 42)


def make(config: SessionConfig | None = None):  # noqa: ANN201
    from realmtui.app import RealmApp

    return RealmApp(Session(config or SessionConfig()), cursor_blink=False)


def cell(app, name: str, column: str) -> str:  # noqa: ANN001
    return app.grid.get_cell(f"{parse_register(name):#x}", column).plain


async def test_run_marks_what_changed_and_keeps_the_cursor() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await run_to(pilot, 2)
        await pilot.press("down", "down")  # from x0 to x2
        row_before = app.grid.cursor_row
        await pilot.press("r")  # E3: the host call puts the struct's gprs in x0-x30
        await settle(pilot)
        assert app.view.last_exit.number == 3
        changed = app.view.changed
        assert {parse_register("x0"), parse_register("x1")} <= changed
        assert cell(app, "x0", "mark") == "●"
        assert cell(app, "x2", "mark") == " "
        assert app.grid.cursor_row == row_before
        assert "E3 KVM_EXIT_HYPERCALL" in app.message.text
        # every GPR is effective after a forwarded host call
        assert cell(app, "x30", "verdict").strip() == "effective"
        x1 = f"{parse_register('x1'):#x}"
        assert app.grid.get_cell(x1, "value").style  # drawn as changed
        await pilot.press("r")  # E4 changes x0 only: x1 loses its colour, not just its mark
        await settle(pilot)
        assert cell(app, "x1", "mark") == " "
        assert not app.grid.get_cell(x1, "value").style


async def test_a_step_updates_cells_in_place_without_rebuilding() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await run_to(pilot, 1)
        grid = app.grid
        rebuilt = []
        original_rebuild = grid._rebuild
        grid._rebuild = lambda: rebuilt.append(1) or original_rebuild()
        updated = []
        original = grid._refresh_rows
        grid._refresh_rows = lambda rows: updated.extend(rows) or original(rows)
        await pilot.press("r")
        await settle(pilot)
        assert rebuilt == []
        assert updated  # and only the rows that changed
        assert len(updated) < len(app.view.regs)
        # What is drawn is the new value, not a cached picture of the old one.
        x0 = app.session.read(parse_register("x0"))[0]
        assert f"0x{x0:016x}" in app.export_screenshot()
        assert cell(app, "x0", "value") == f"0x{x0:016x}"


async def test_rec_column_shows_confidential_state_and_staleness() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        assert app.grid.columns["real"].label == "REC (sim only)"
        assert cell(app, "x0", "real") == "—"  # no REC before KVM_ARM_VCPU_FINALIZE(REC)
        await run_to(pilot, 1)
        # KVM's pc is what the VMM set; the REC's has moved on: KVM's copy is stale.
        assert cell(app, "pc", "real").startswith("≠ 0x")
        assert cell(app, "x1", "real") == "= KVM"


async def test_mmio_read_prompt_data_reaches_the_guest() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await run_to(pilot, 5)
        assert app.view.needs_mmio_data
        await pilot.press("r")
        await pilot.pause()
        from widgets.mmio_prompt import MmioPrompt

        assert isinstance(app.screen, MmioPrompt)
        await pilot.press(*"0x1_0000_0000_0000_0000", "enter")  # 65 bits: refused in place
        await pilot.pause()
        assert isinstance(app.screen, MmioPrompt)
        assert "holds u64" in app.screen.error_text
        await pilot.press("ctrl+u", *"0xfeed", "enter")
        await settle(pilot)
        assert app.view.last_exit.number == 6
        assert app.view.last_exit.exit.data == 0xFEED  # E6 writes back what the guest read


async def test_mmio_prompt_escape_runs_nothing() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await run_to(pilot, 5)
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("escape")
        await settle(pilot)
        assert app.view.last_exit.number == 5
        assert "still waits" in app.message.text


async def test_shutdown_says_so_and_restart_brings_a_fresh_vm() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await run_to(pilot, 5)
        await pilot.press("r")
        await pilot.pause()
        await pilot.press(*"7", "enter")
        await settle(pilot)
        for _ in range(3):  # E7, E8, E9
            await pilot.press("r")
            await settle(pilot)
        assert app.view.stage is Stage.OFF
        assert "powered off" in app.message.text
        bindings = app.screen.active_bindings
        assert bindings["r"].binding.action == "restart_offer"
        await pilot.press("r")
        await pilot.pause()
        from widgets.confirm import Confirm

        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        await settle(pilot)
        assert app.view.stage is Stage.REALM_CREATED
        assert app.view.exit_count == 0
        assert "restarted" in app.message.text


async def test_lifecycle_keys_from_a_new_realm() -> None:
    app = make(SessionConfig(start=Stage.REALM_NEW))
    async with app.run_test(size=SIZE) as pilot:
        bindings = app.screen.active_bindings
        assert bindings["c"].binding.action == "lifecycle('create')"
        assert "f" not in bindings and "a" not in bindings
        for key, stage in (("c", Stage.REALM_CREATED), ("f", Stage.REC_CREATED),
                           ("a", Stage.ACTIVE)):
            await pilot.press(key)
            await settle(pilot)
            assert app.view.stage is stage
        assert app.view.context.rec_created


async def test_v14_offers_only_its_own_steps_and_the_first_run_activates() -> None:
    """Issue 15 item 6: v12+ has no REC-creation or activation step; f and a are not offered,
    and the first r creates the REC and activates the realm."""
    from realmtui.context import Profile

    app = make(SessionConfig(profile=Profile.V14, start=Stage.REALM_NEW))
    async with app.run_test(size=SIZE) as pilot:
        assert app.screen.active_bindings["c"].binding.action == "lifecycle('create')"
        await pilot.press("c")
        await settle(pilot)
        assert app.view.stage is Stage.REALM_CREATED
        bindings = app.screen.active_bindings
        assert "f" not in bindings and "a" not in bindings
        assert bindings["r"].enabled
        await pilot.press("r")
        await settle(pilot)
        assert app.view.stage is Stage.ACTIVE and app.view.context.rec_created
        assert app.view.exit_count == 1


async def test_run_before_activation_shows_the_kernel_answer_and_the_way_on() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        assert app.screen.active_bindings["r"].enabled is False  # dimmed: not active yet
        await pilot.press("r")
        await settle(pilot)
        assert "EPERM" in app.message.text
        assert "f creates the REC" in app.message.text


async def test_errors_from_the_session_end_inline_not_as_a_traceback() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await run_to(pilot, 0)

        def boom(*_a: object, **_k: object) -> None:
            raise RuntimeError("the vCPU fd went away")

        app.session.run = boom
        await pilot.press("r")
        await settle(pilot)
        assert app.is_running and app.return_code is None
        assert "the vCPU fd went away" in app.message.text
        assert app.message.severity == "error"


async def test_normal_vm_runs_with_writable_badges() -> None:
    app = make(SessionConfig(vm=VmKind.NORMAL))
    async with app.run_test(size=SIZE) as pilot:
        assert "real" not in app.grid.columns  # no REC to show
        assert cell(app, "x0", "verdict").strip() == "writable"
        await pilot.press("r")
        await settle(pilot)
        assert app.view.last_exit.number == 1


async def test_the_launchers_gc_pause_ends_after_the_first_frame() -> None:
    # realmtui's command line pauses the cyclic GC for start-up; the app resumes it (after one
    # collection, with the survivors frozen) once the first frame is up.
    import gc

    from realmtui.app import RealmApp

    gc.disable()
    try:
        app = RealmApp(Session(SessionConfig()), cursor_blink=False, resume_gc=True)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.pause()
            assert gc.isenabled()
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()


async def test_a_verdict_flip_under_the_cursor_lights_or_dims_the_edit_key() -> None:
    # The cursor stays on x8 while the exits change what a write to it does: the footer's
    # e follows, without the cursor moving.
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await run_to(pilot, 2)  # E2: an MMIO write; x8 is ignored
        app.jump_to(parse_register("x8"))
        await pilot.pause()
        assert cell(app, "x8", "verdict").strip() == "ignored"
        await pilot.press("r")  # E3, a host call: every GPR is effective
        await settle(pilot)
        assert cell(app, "x8", "verdict").strip() == "effective"
        assert app.grid.selected.info.name == "x8"
        assert app.screen.active_bindings["e"].enabled is True
        app.jump_to(parse_register("sp"))  # refused: the footer's e is dimmed, in place
        await pilot.pause()
        await pilot.pause()
        edit_key = next(k for k in app.query(FooterKey) if k.action == "edit")
        assert edit_key.has_class("-disabled")
        app.jump_to(parse_register("x8"))
        await pilot.pause()
        await pilot.pause()
        assert not edit_key.has_class("-disabled") and edit_key.is_attached


async def test_the_cursor_keeps_in_view_while_it_walks_the_grid() -> None:
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        grid = app.grid
        await pilot.press("end")
        await pilot.pause()
        assert grid.cursor_row == grid.row_count - 1
        assert grid.cursor_screen_row() is not None  # scrolled to it
        last = app.view.regs[-1].info.name
        assert last in app.export_screenshot()
        await pilot.press("home")
        await pilot.pause()
        assert grid.cursor_row == 0 and grid.scroll_y == 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert grid.cursor_row > 10 and grid.cursor_screen_row() is not None


async def test_a_click_moves_the_cursor_and_a_second_click_edits() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        grid = app.grid
        x2_row = grid._order.index(f"{parse_register('x2'):#x}")
        y = x2_row + 1 - round(grid.scroll_y)  # below the header line
        assert await pilot.click("#grid", offset=(6, y))
        await pilot.pause()
        assert grid.selected.info.name == "x2"
        assert not app.editing
        assert await pilot.click("#grid", offset=(6, y))
        await pilot.pause()
        assert app.editing and app.editor.border_title.startswith("edit x2 ")


async def test_a_resized_terminal_resizes_the_grid_and_its_scrolling() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        grid = app.grid
        assert not app.has_class("-narrow")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.has_class("-narrow") and grid.region.width == 80
        await pilot.press("end")  # fewer rows fit: the grid scrolls further to the last one
        await pilot.pause()
        assert grid.scroll_y == grid.max_scroll_y > 0
        assert grid.cursor_screen_row() == grid.content_region.bottom - 1
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        assert not app.has_class("-narrow")
        assert grid.cursor_screen_row() is not None
        assert app.view.regs[-1].info.name in app.export_screenshot()


async def test_ctrl_q_as_the_very_first_key_quits_cleanly() -> None:
    # Issue 12 item 11: the panels mounted after the first frame met a screen already going
    # away, and the app ended in a MountError traceback instead of quitting.
    for size in ((80, 24), (140, 42)):
        app = make()
        async with app.run_test(size=size) as pilot:
            await pilot.press("ctrl+q")
        assert app.return_code == 0


async def test_the_restart_dialog_footer_says_what_its_buttons_say() -> None:
    # Issue 8 item 8: the footer said "⏎ Yes n No" under a "Restart (y)" button.
    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+r")
        await pilot.pause(0.3)
        keys = {(k.key_display, k.description) for k in app.screen.query(FooterKey)}
        assert ("y", "Restart") in keys and ("n", "Cancel") in keys, keys
        screen = app.export_screenshot()
        assert "Restart&#160;(y)" in screen or "Restart (y)" in screen
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]
