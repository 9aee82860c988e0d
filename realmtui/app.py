"""The Textual app: composes the widgets and runs every session call in one vCPU worker.

Flow: a key becomes a job; jobs run one at a time, in order, in a thread worker (so no ioctl
blocks the screen and no two touch the session at once); each job answers with its outcome
and a fresh SessionView, posted back as a message; the widgets draw only from that view.
So the grid shows only values the kernel returned, never what the user typed.

Start-up: the first frame needs the status line, the grid, the line under it and the footer.
The side panels, the filter bar and the inline editor are imported, built and mounted right
after it (`_after_first_frame`), as are the command palette's register commands.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen

from realmtui.context import Profile, VmKind
from realmtui.profiles import ProfileInfo, Step, info
from realmtui.regs import parse_register
from realmtui.session import RegView, RunOutcome, Session, SetOutcome, Stage
from realmtui.values import format_value
from realmtui.verdict import Access
from realmtui.view import Driver, SessionView
from widgets.banner import Banner
from widgets.exercise_widgets import HiddenVerdictGrid, InfoBox
from widgets.key_footer import KeyFooter
from widgets.message_bar import MessageBar
from widgets.palette import Palette
from widgets.register_grid import GridFilter, RegisterGrid, grid_width
from widgets.rich_lines import RichLines
from widgets.status_bar import StatusBar
from widgets.textual_private import paint_by_spans

if TYPE_CHECKING:  # imported when first needed, after the first frame
    from textual.command import Provider

    from realmtui.exercise import Ask, Exercise, Result
    from realmtui.replay import Recording
    from widgets.filter_bar import FilterBar
    from widgets.inline_editor import Anchor, InlineEditor

VIEW_TOGGLES = Binding.Group("Show")
PANEL_SCROLL = Binding.Group("Scroll")
SIDE_MIN = 52  # the side panels need this much beside the full grid, or the grid is compact
# A click this soon after the app gets the focus (a browser page or a terminal window
# clicked into) is the click that gave it: it focuses, and does nothing else.
FOCUS_CLICK = 0.5  # seconds
SIDE_COMPACT_MIN = 33  # and this much beside the compact grid, or they fold away


# --- what the worker posts back ---------------------------------------------------------------
# Plain classes rather than dataclasses: building a dataclass costs about a millisecond of
# start-up each.
class WriteDone(Message):
    def __init__(self, outcome: SetOutcome, view: SessionView) -> None:
        super().__init__()
        self.outcome = outcome
        self.view = view


class StepDone(Message):
    def __init__(self, what: str, outcome: RunOutcome, view: SessionView) -> None:
        super().__init__()
        self.what = what  # "run", "create", "finalize", "activate"
        self.outcome = outcome
        self.view = view


class SessionReady(Message):
    """A restart or a switch of profile / VM: a new VM, maybe a new register list."""

    def __init__(self, view: SessionView, message: str, same_vm: bool = False) -> None:
        """`same_vm`: the same VM built again (a restart): its exits will be the ones seen."""
        super().__init__()
        self.view = view
        self.message = message
        self.same_vm = same_vm


class VcpuFailed(Message):
    def __init__(self, what: str, error: str) -> None:
        super().__init__()
        self.what = what
        self.error = error


class Fetched(Message):
    """Something read off the session in the vCPU worker, for `then` on the UI thread."""

    def __init__(self, then: Callable[[Any], None], data: object) -> None:
        super().__init__()
        self.then = then
        self.data = data


Job = Callable[[], Message]


def write_new_file(directory: Path, stem: str, suffix: str, text: str) -> Path:
    """Write `text` to stem+suffix in `directory`, or stem-2, stem-3... if taken: never over
    an existing file (exclusive create, so two writers can't pick the same name)."""
    for n in range(1, 1000):
        path = directory / f"{stem}{'' if n == 1 else f'-{n}'}{suffix}"
        try:
            with path.open("x", encoding="utf-8") as f:
                try:
                    f.write(text)
                except OSError:  # a full disk: no half-written picture left behind
                    path.unlink(missing_ok=True)
                    raise
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{directory / stem}-*{suffix}: 999 files already")


def register_commands() -> type[Provider]:
    """The palette's `Go to <register>` commands, imported when the palette first opens."""
    from widgets.commands import RegisterCommands

    return RegisterCommands


class RealmApp(App[int]):
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute: subclasses elsewhere
    GRID: type[RegisterGrid] = RegisterGrid  # exercise mode hides the verdicts
    TITLE = "realmtui"
    COMMANDS = App.COMMANDS | {register_commands}

    BINDINGS = [
        # Priority: `r` is the key pressed most, and a priority binding is checked before the
        # key travels down to the focused grid and back up. check_action passes it on to an
        # Input (the editor, the filter) or a dialog, where `r` is just a letter.
        Binding("r", "run", "Run", priority=True),
        Binding("r", "run_anyway", "Run", show=False, priority=True),
        Binding("r", "restart_offer", "Restart", priority=True),
        Binding("c", "lifecycle('create')", "Create realm"),
        Binding("f", "lifecycle('finalize')", "Create REC"),
        Binding("a", "lifecycle('activate')", "Activate"),
        Binding("question_mark", "help", "Help"),
        Binding("i", "toggle_panels", "Panels"),
        Binding("slash", "filter", "Filter"),
        # One footer entry for the three view toggles, so the footer fits in 80 columns; each
        # key's own description is its tooltip, and ? explains them.
        Binding("w", "toggle_writable", "writable now only", group=VIEW_TOGGLES),
        Binding("d", "toggle_changed", "changed only", group=VIEW_TOGGLES),
        Binding("x", "toggle_radix", "hex or decimal", group=VIEW_TOGGLES),
        # The side panels scroll without leaving the grid; shown only while they are.
        Binding("left_square_bracket", "scroll_panel('detail', -1)", "register panel up",
                group=PANEL_SCROLL),
        Binding("right_square_bracket", "scroll_panel('detail', 1)", "register panel down",
                group=PANEL_SCROLL),
        Binding("left_curly_bracket", "scroll_panel('realm', -1)", "exit panel up",
                show=False),
        Binding("right_curly_bracket", "scroll_panel('realm', 1)", "exit panel down",
                show=False),
        Binding("u", "undo", "Undo", show=False),
        Binding("ctrl+r", "restart", "Restart", show=False),
        Binding("ctrl+s", "screenshot", "Screenshot", show=False),
        # The debugging kit (issue 10): each opens a screen of its own (widgets/).
        Binding("l", "ioctl_log", "ioctl log", show=False),
        Binding("p", "disasm", "code at pc", show=False),
        Binding("D", "exit_diff", "compare exits", show=False),
        Binding("y", "copy_value", "copy value", show=False),
        Binding("ctrl+e", "export", "export grid", show=False),
        Binding("escape", "dismiss", "Close", show=False),
    ]

    def __init__(self, session: Session | None, *, cursor_blink: bool = True,
                 resume_gc: bool = False, driver: Driver | None = None) -> None:
        """`resume_gc`: the launcher paused Python's cyclic garbage collector for start-up
        (see cli); collect once, freeze what survived and resume it after the first frame.
        `driver`: another source of views than a live session (a replay, realmtui/replay.py)."""
        super().__init__()
        # Screenshots and snapshot tests turn the blink off, so a frame is deterministic.
        self.cursor_blink = cursor_blink
        self._resume_gc = resume_gc
        assert driver is not None or session is not None
        self.driver = driver or Driver(session)  # type: ignore[arg-type]
        self.view: SessionView = self.driver.view()
        self.last_write: SetOutcome | None = None
        self.armed: int | None = None  # a refused register the user was warned about once
        self.panels_flipped = False  # i: hide the panels (wide) or show them (narrow)
        self._editor: InlineEditor | None = None  # built and mounted after the first frame
        self._palette: Palette | None = None
        self._jobs: deque[tuple[str, Job]] = deque()
        self._jobs_lock = threading.Lock()
        self._draining = False
        self._highlighted_id: int | None = None  # the register the cursor is on
        self._panels_shown: bool | None = None  # as of the last layout
        self._focused_at = float("-inf")  # when the app last got the focus (monotonic)
        self._swallowing = False  # the rest of a focusing click (its mouse up)
        self.screenshot_dir: str | None = None  # ctrl+s writes here; None: the current dir
        # What the footer's keys depend on in the view (check_action); the first draw needs
        # no refresh: the footer is composed from this state.
        self._bindings_for: tuple[object, ...] | None = (self.view.stage, self.view.realm)

    @property
    def session(self) -> Session:
        return self.driver.session

    def get_default_screen(self) -> Screen:
        # The grid's screen paints a step's changed lines only (widgets/textual_private.py):
        # on a wide terminal that was a third of a step.
        return paint_by_spans(super().get_default_screen())

    # --- layout -----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # Classes first, so the widgets are styled once for this terminal's width, not
        # restyled right after the first frame.
        self._fit_layout(self.size.width)
        narrow = self.has_class("-narrow")
        yield StatusBar(id="status")
        with Horizontal(id="body"):
            with Vertical(id="main") as main:
                main.styles.width = self._main_width()
                grid = self.GRID(id="grid")
                grid.compact = self.has_class("-compact")
                yield grid
                yield MessageBar(id="message")
            if not narrow:
                yield self._side_panels()
        yield KeyFooter(compact=True)
        # What is hidden at start (the editor, the filter, the panels on a small terminal)
        # is mounted right after the first frame: a slow FVP host shows the grid sooner.

    def _side_panels(self) -> Vertical:
        from widgets.detail_panel import DetailPanel
        from widgets.realm_panel import RealmPanel

        return Vertical(RealmPanel(id="realm"), DetailPanel(id="detail"), id="side")

    def on_mount(self) -> None:
        if not self.query("#grid"):
            return  # asked to exit (a SIGINT) before the screen was composed: nothing to draw
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.grid.focus()
        self._draw(self.view)
        self._say_start()
        self.call_after_refresh(self._after_first_frame)

    async def _after_first_frame(self) -> None:
        await self._mount_hidden()  # nothing, if the first key was ctrl+q
        if self._resume_gc:
            self._resume_gc = False
            # One collection of what start-up left, then the survivors (modules, classes,
            # the session, the widgets) are frozen out of every later collection, so no
            # step pays for walking them.
            gc.collect()
            gc.freeze()
            # A step allocates some 5 000 short-lived containers (Rich segments, strips):
            # at the default threshold (700) that was 7 young collections a step, ~6 ms on
            # a wide terminal (benchmarks/bench_tui.py). Most die by refcount long before
            # 20 000 allocations, so a collection then walks few.
            gc.set_threshold(20_000, 10, 10)
            gc.enable()

    async def _mount_hidden(self) -> bool:
        """Mount what the first frame did without. Idempotent: also awaited before use.
        False when the app is already closing (ctrl+q as the very first key): nothing is
        mounted then, and the caller drops what it meant to show."""
        bodies = self.query("#body")
        if not bodies or not bodies.first().is_attached:
            return False
        if not self.query("#side"):
            await self.query_one("#body").mount(self._side_panels())
            if self.panels_visible:
                self._draw_panels()
        if not self.query("#filter"):
            from widgets.filter_bar import FilterBar

            await self.query_one("#main").mount(FilterBar(id="filter"), before="#grid")
        if not self.editor.is_attached:
            await self.mount(self.editor)
        return True

    @property
    def grid(self) -> RegisterGrid:
        return self.query_one("#grid", RegisterGrid)

    @property
    def editor(self) -> InlineEditor:
        if self._editor is None:
            from widgets.inline_editor import InlineEditor

            self._editor = InlineEditor(id="editor")
        return self._editor

    @property
    def editor_open(self) -> bool:
        """Whether the inline editor (or its note) shows; False before it is even built."""
        return self._editor is not None and self._editor.is_open

    @property
    def editing(self) -> bool:
        return self._editor is not None and self._editor.is_editing

    @property
    def message(self) -> MessageBar:
        return self.query_one("#message", MessageBar)

    @property
    def palette(self) -> Palette:
        if self._palette is None:
            self._palette = Palette.from_app(self)
        return self._palette

    def _theme_changed(self, _theme: object) -> None:
        self._palette = None
        self.grid.restyle()
        self._draw_panels()

    async def on_event(self, event: events.Event) -> None:
        """The first click into a browser page (or a terminal window) focuses the app and
        nothing else: it used to open the editor on the cursor row, or the palette from the
        footer, so the next keys typed went into them. Filtered here, before Textual makes
        the mouse up into a click, as the driver's events arrive."""
        if isinstance(event, events.AppFocus):
            self._focused_at = time.monotonic()
        elif isinstance(event, events.MouseDown) and not event.is_forwarded:
            if not self.app_focus or time.monotonic() - self._focused_at < FOCUS_CLICK:
                self.app_focus = True
                self._swallowing = True
                return
            self._swallowing = False
        elif isinstance(event, events.MouseUp) and not event.is_forwarded and self._swallowing:
            self._swallowing = False
            return
        await super().on_event(event)

    def on_resize(self, event: Resize) -> None:
        self._fit_layout(event.size.width)
        self._draw_panels()

    def _fit_layout(self, width: int) -> None:
        """Three layouts, by width: the full grid with the side panels beside it (from about
        129 columns on a sim realm); the compact grid (names and the REC column narrower)
        with compact panels (from about 96: 100x30, a 1024x768 browser); below that the grid
        alone, and i shows the panels in its place. The grid's name, value and verdict
        columns always show."""
        compact = width < grid_width(self.view) + SIDE_MIN
        narrow = compact and width < grid_width(self.view, compact=True) + SIDE_COMPACT_MIN
        # A class on the app restyles every widget: set only what changed (no-ops are free).
        self.set_class(narrow, "-narrow")
        self.set_class(compact and not narrow, "-compact")
        self.set_class(self.panels_flipped, "-flipped")
        for grid in self.query("#grid").results(RegisterGrid):  # none yet while composing
            grid.set_compact(self.has_class("-compact"))
        for main in self.query("#main"):
            main.styles.width = self._main_width()
        visible = self.panels_visible
        if visible != self._panels_shown:
            if self._panels_shown is not None:
                self.refresh_bindings()  # the footer's [ ] come and go with the panels
            self._panels_shown = visible
        if self.editor_open:
            # Follow the row after the layout settles; an open edit keeps its text.
            self.call_after_refresh(lambda: self.editor.move_to(self._anchor()))

    def _main_width(self) -> int | str:
        """The grid's column: as wide as its columns beside the panels, else all there is
        (a wide terminal with the panels hidden leaves no empty third)."""
        if self.has_class("-narrow") or not self.panels_visible:
            return "1fr"
        return grid_width(self.view, compact=self.has_class("-compact"))

    @property
    def panels_visible(self) -> bool:
        return self.panels_flipped == self.has_class("-narrow")

    # --- drawing ----------------------------------------------------------------------------
    def _draw(self, view: SessionView) -> None:
        self.view = view
        self.grid.show(view)
        self.query_one("#status", StatusBar).show(view, self.palette)
        self._draw_panels()
        bindings = (view.stage, view.realm)  # all that check_action reads from the view
        if bindings != self._bindings_for:
            # A refresh rebuilds the footer: only when a key's state can have changed.
            self._bindings_for = bindings
            self.refresh_bindings()

    def _draw_panels(self) -> None:
        # query_one is looked up in a cache; a query("#side") walked the whole DOM (~0.5 ms
        # of each step).
        if not self.panels_visible or self.query_one_optional("#side") is None:
            return  # folded away: drawn when they come back (i), not at every step
        from widgets.realm_panel import RealmPanel

        self.query_one("#realm", RealmPanel).show(self.view, self.palette,
                                                  compact=self.has_class("-compact"))
        self._draw_detail(self.grid.selected)

    def _draw_detail(self, reg: RegView | None) -> None:
        from widgets.detail_panel import DetailPanel, detail_parts

        panel = self.query_one("#detail", DetailPanel)
        if reg is None:
            group = self.grid.selected_group
            if group is None:
                panel.show(self.grid.empty_text(), "no register")
            else:
                panel.show("a group row: enter folds or unfolds it", str(group))
            return
        # Everything drawn comes with the view (the value history too): no call into the live
        # Session here, which the vCPU worker may be using.
        last_write = self.last_write
        if last_write is not None and (last_write.reg is None or last_write.reg.id != reg.id):
            last_write = None  # only this register's last write is shown
        panel.show(detail_parts(reg, self.palette, self.view.shows_rec, last_write),
                   reg.info.name)

    def _say_start(self) -> None:
        v = self.view
        step = self._next_step()
        if step is not None:
            self.message.say(
                f"{v.stage.label}: the badges say what a write does now. Edit with e or enter; "
                f"{step.key} takes the next lifecycle step; ? explains the keys and the "
                "verdicts.")
        else:
            self.message.say("r runs to the next exit; e edits; ? explains the keys and the "
                             "verdicts.")

    # --- the vCPU worker --------------------------------------------------------------------
    def submit(self, what: str, job: Job) -> None:
        """Queue a session call. Jobs run in order, one at a time, off the UI thread."""
        with self._jobs_lock:
            self._jobs.append((what, job))
            start = not self._draining
            self._draining = True
        if start:
            self._drain()

    @work(thread=True, exclusive=True, group="vcpu", exit_on_error=False)
    def _drain(self) -> None:
        while True:
            with self._jobs_lock:
                if not self._jobs:
                    self._draining = False
                    return
                what, job = self._jobs.popleft()
            try:
                message = job()
            except Exception as e:  # never a traceback: the user sees what failed and why
                message = VcpuFailed(what, f"{type(e).__name__}: {e}")
            self.post_message(message)

    # --- answers from the worker ------------------------------------------------------------
    @on(WriteDone)
    async def _write_done(self, event: WriteDone) -> None:
        o = event.outcome
        self.last_write = o
        self._draw(event.view)
        name = o.reg.name if o.reg else "?"
        if not o.ok:
            text = o.message if o.agrees else f"⚠ kernel ≠ prediction: {o.message}"
            self.message.say(f"{name}: {text}", "error")
            if self.editing:
                self.editor.show_error(text)
            else:
                await self._note(f"{name}: refused", text, "error")
            return
        back = format_value(o.value, o.reg.bits) if o.value is not None and o.reg else "?"
        severity = "success"
        if o.verdict is not None and o.verdict.access is Access.IGNORED:
            severity = "warning"
        text = f"read back {back} · {o.message}"
        if not o.agrees:
            severity = "warning"
            text = f"⚠ kernel ≠ prediction: {text}"
        self._close_editor()
        self.message.say(f"{name}: {text}", severity)
        await self._note(f"{name} written", text, severity)

    @on(StepDone)
    def _step_done(self, event: StepDone) -> None:
        o, view = event.outcome, event.view
        self._close_editor()
        self._draw(view)
        if not o.ok:
            if view.needs_mmio_data:
                self._ask_mmio()
                return
            hint = ""
            if event.what == "run" and view.realm and view.stage is not Stage.ACTIVE:
                hint = " — the realm is not active yet: " + self._lifecycle_hint(view)
            self.message.say(f"{event.what}: {o.message}{hint}", "error")
            self._offer_reconnect()
            return
        if event.what != "run":
            self.message.say(f"{o.message}. {self._lifecycle_hint(view)}", "success")
            return
        exit_info = o.exit
        assert exit_info is not None
        text = f"E{exit_info.number} KVM_EXIT_{exit_info.exit.name}"
        if exit_info.step:
            text += f" — {exit_info.step}"
        text += f" · {len(o.changed)} changed"
        if view.stage is Stage.OFF:
            self.message.say(f"{text}. The guest has powered off: r offers a restart.",
                             "warning")
            self.notify("The guest has powered off. Press r to restart it.",
                        title="KVM_EXIT_SHUTDOWN", severity="warning")
        elif view.needs_mmio_data:
            self.message.say(f"{text}. The guest waits for the data it reads: r asks for it.",
                             "warning")
        else:
            self.message.say(text, "information")

    @on(SessionReady)
    def _session_ready(self, event: SessionReady) -> None:
        self.last_write = None
        self.armed = None
        self._close_editor()
        if not event.same_vm:  # another VM: the panels fit its text afresh
            for body in self.query(RichLines):
                body.forget_height()
        # A restart keeps the panels' heights: its exits decode to what they did, and a panel
        # shrunk to "none yet" grew back at the first exit, laying the whole screen out
        # (20-30 ms at 140x42, benchmarks/bench_tui.py).
        self._draw(event.view)
        self._fit_layout(self.size.width)
        self.message.say(event.message, "success")

    @on(VcpuFailed)
    def _vcpu_failed(self, event: VcpuFailed) -> None:
        if self._editor is not None:
            self._editor.busy = False
        text = f"{event.what} failed: {event.error}"
        self.message.say(text, "error")
        if self.editing:
            self.editor.show_error(text)
        self.notify(text, title="error", severity="error")
        self._offer_reconnect()

    def _offer_reconnect(self) -> None:
        if self.session.backend.lost:  # the agent's connection dropped (realmtui/remote.py)
            self.action_restart("The connection to the agent is lost, and the VM with it. "
                                "Reconnect and build the VM again from the start?")

    @on(Fetched)
    def _fetched(self, event: Fetched) -> None:
        event.then(event.data)

    def fetch(self, what: str, read: Callable[[Session], object],
              then: Callable[[Any], None]) -> None:
        """Read from the session in the vCPU worker, in turn with the jobs (never while a run
        changes it), and hand what was read to `then` on the UI thread."""
        driver = self.driver
        self.submit(what, lambda: Fetched(then, read(driver.session)))

    def _lifecycle_hint(self, view: SessionView) -> str:
        return {
            Stage.REALM_NEW: "c creates the realm",
            Stage.REALM_CREATED: "f creates the REC (x0-x7 and pc go into it)",
            Stage.REC_CREATED: "a activates the realm",
            Stage.ACTIVE: "r runs to the first exit",
        }.get(view.stage, "")

    # --- editing ----------------------------------------------------------------------------
    @on(RegisterGrid.EditRequested)
    async def _edit_requested(self, event: RegisterGrid.EditRequested) -> None:
        reg = self.grid.selected
        if reg is None or reg.id != event.reg_id:
            return
        if reg.verdict.access.accepted or self.armed == reg.id:
            anyway = not reg.verdict.access.accepted
            self.armed = None
            await self._open_editor(reg, anyway)
            return
        # First press on a refused register: say why, and arm a second press to try anyway.
        self.armed = reg.id
        v = reg.verdict
        text = (f"{v.reason} ({v.source}). Press e again to send the write anyway and see what "
                "KVM answers.")
        self.message.say(f"{reg.info.name} is {v.access} now: {text}", "warning")
        await self._note(f"{reg.info.name}: {v.access} now", text, "warning")

    def _anchor(self) -> Anchor:
        """At the cursor row, across the grid; it may cover the grid and the line under it."""
        from widgets.inline_editor import Anchor

        grid = self.grid
        main = self.query_one("#main").region
        width = max(40, min(main.width - 2, 96))
        row = grid.cursor_screen_row()
        top = grid.region.y + 1  # keep the column headers in sight
        return Anchor(main.x + 1, top if row is None else row, width, top, main.bottom)

    async def _open_editor(self, reg: RegView, anyway: bool) -> None:
        if await self._mount_hidden():
            self.editor.edit(reg, self._anchor(), anyway=anyway)

    async def _note(self, title: str, text: str, severity: str) -> None:
        if await self._mount_hidden():
            self.editor.note(title, text, severity, self._anchor())
            self.grid.focus()

    def _close_editor(self) -> None:
        if self.editor_open:
            was_editing = self.editing
            self.editor.close()
            if was_editing:
                self.grid.focus()

    def on_inline_editor_submitted(self, event: InlineEditor.Submitted) -> None:
        driver = self.driver
        self.submit("write", lambda: WriteDone(*driver.write(event.reg_id, event.value)))

    def on_inline_editor_cancelled(self, _event: InlineEditor.Cancelled) -> None:
        self._close_editor()
        self.message.explain(self.grid.selected)

    @on(RegisterGrid.RegisterHighlighted)
    def _highlighted(self, event: RegisterGrid.RegisterHighlighted) -> None:
        reg_id = event.reg.id if event.reg is not None else None
        if reg_id == self._highlighted_id and reg_id is not None:
            return  # the same register again (the rows were rebuilt): keep the last answer
        self._highlighted_id = reg_id
        if event.reg is None or event.reg.id != self.armed:
            self.armed = None
        if self.editor_open and not self.editing:
            self.editor.close()
        if event.reg is None and self.grid.selected_group is None:
            self._say_filter()  # an empty grid: why, and how to get back
        else:
            self.message.explain(event.reg)
        if self.panels_visible:
            self._draw_detail(event.reg)

    # --- running and the lifecycle ----------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        v = self.view
        off = v.stage is Stage.OFF
        if action in ("run", "run_anyway", "restart_offer") and self._typing_or_dialog():
            return False
        match action:
            case "run":
                if off:
                    return False
                # Dimmed while a lifecycle step is still due (from v12 the first run itself
                # activates the realm, so a populated realm runs).
                return None if self._next_step() is not None else True
            case "run_anyway":
                return not off and self._next_step() is not None
            case "restart_offer":
                return off
            case "lifecycle":
                step = self._next_step()
                return step is not None and step.verb == parameters[0]
            case "scroll_panel":
                return self.panels_visible and not self._typing_or_dialog()
        return True

    def _typing_or_dialog(self) -> bool:
        """A text field has the keys, or a dialog is up (the priority `r` must not fire)."""
        from textual.widgets import Input  # loaded by then: the editor and filter use it

        return isinstance(self.focused, Input) or self.screen is not self.screen_stack[0]

    def action_run(self) -> None:
        if self.view.needs_mmio_data:
            self._ask_mmio()
            return
        driver = self.driver
        self.submit("run", lambda: StepDone("run", *driver.run()))

    def action_undo(self) -> None:
        """u: the last edit written back (realmtui/undo.py says what that does now)."""
        from realmtui.undo import undo

        driver = self.driver

        def job() -> Message:
            outcome = undo(driver.session)
            if outcome.input_error:
                return VcpuFailed("undo", outcome.message)
            return WriteDone(outcome, driver.view())

        self.submit("undo", job)

    def action_run_anyway(self) -> None:
        self.action_run()

    def _ask_mmio(self) -> None:
        from widgets.mmio_prompt import MmioPrompt

        pending = self.view.pending_mmio
        if pending is None or isinstance(self.screen, MmioPrompt):
            return
        label = f"E{self.view.exit_count}"
        self.message.say(f"{label}: the guest reads {pending.length} bytes at "
                         f"{pending.addr:#x}; give the data it reads", "warning")

        def answered(value: int | None) -> None:
            if value is None:
                self.message.say("no data given: the guest still waits (r asks again)",
                                 "warning")
                return
            driver = self.driver
            self.submit("run", lambda: StepDone("run", *driver.run(mmio_data=value)))

        self.push_screen(MmioPrompt(pending, label), answered)

    @property
    def series(self) -> ProfileInfo:
        """The view's series (profiles.py), a static table: the footer asks it at every key,
        so it is not read from the live Session."""
        return info(self.view.context.profile)

    def _next_step(self) -> Step | None:
        """The step the session's series offers from here (profiles.py): v12+ has no
        REC-creation or activation step, so f and a are never offered there."""
        if not self.view.realm:
            return None
        return self.series.step_from(self.view.stage)

    def action_lifecycle(self, verb: str) -> None:
        step = self.series.step(verb)
        if step is None:
            self.message.say(self.series.missing.get(verb, f"no {verb} step"),
                             "warning")
            return
        driver = self.driver
        target = step.after
        self.submit(verb, lambda: StepDone(verb, *driver.advance(target)))

    def action_restart_offer(self) -> None:
        self.action_restart(
            "The guest has powered off. Restart: throw this VM away and build it again from "
            "the start?")

    def action_restart(self, question: str | None = None) -> None:
        from widgets.confirm import Confirm

        def answered(yes: bool | None) -> None:
            if yes:
                self._restart()

        self.push_screen(Confirm("restart", question or (
            "Throw this VM away and build it again from the start? Edits and exits are lost.")),
            answered)

    def _restart(self) -> None:
        driver = self.driver
        self.submit("restart",
                    lambda: SessionReady(driver.restart(), "restarted: a fresh VM",
                                         same_vm=True))

    def switch(self, **changes: object) -> None:
        """Another profile or VM kind: a new session (the old one goes once it is built)."""
        config = replace(self.session.config, **changes)
        driver = self.driver
        what = ", ".join(f"{k} {v}" for k, v in changes.items())
        self.submit("switch", lambda: SessionReady(driver.replace(config), f"switched: {what}"))

    # --- finding your way -------------------------------------------------------------------
    async def action_filter(self) -> None:
        self._close_editor()
        if not await self._mount_hidden():
            return
        from widgets.filter_bar import FilterBar

        self.query_one("#filter", FilterBar).open()

    def on_filter_bar_updated(self, event: FilterBar.Updated) -> None:
        self.grid.set_filter(replace(self.grid.filter, text=event.text))
        self._say_filter()

    def on_filter_bar_done(self, _event: FilterBar.Done) -> None:
        self.grid.focus()

    def action_toggle_writable(self) -> None:
        flt = self.grid.filter
        self.grid.set_filter(replace(flt, writable_only=not flt.writable_only))
        self._say_filter()

    def action_toggle_changed(self) -> None:
        flt = self.grid.filter
        self.grid.set_filter(replace(flt, changed_only=not flt.changed_only))
        self._say_filter()

    def _say_filter(self) -> None:
        flt: GridFilter = self.grid.filter
        total = len(self.view.regs)
        shown = self.grid.shown_count
        if not shown and flt.active:
            self.message.say(self.grid.empty_text(), "warning")
        elif flt.active:
            self.message.say(f"showing {shown} of {total}: {flt.describe()} — esc shows all")
        else:
            self.message.say(f"showing all {total} registers")
        self.grid.border_subtitle = f"{shown}/{total}" if flt.active else ""
        self.refresh_bindings()  # the footer marks w and d when they are on

    def get_key_display(self, binding: Binding) -> str:
        """The footer's w and d carry a ✓ while they filter the grid."""
        shown = super().get_key_display(binding)
        if binding.action in ("toggle_writable", "toggle_changed") and self.query("#grid"):
            flt = self.grid.filter
            on = flt.writable_only if binding.action == "toggle_writable" else flt.changed_only
            if on:
                return shown + "✓"
        return shown

    def clear_filter(self) -> None:
        """Every register again: no text, no w, no d."""
        from widgets.filter_bar import FilterBar

        for bar in self.query(FilterBar):
            bar.reset()
        self.grid.set_filter(GridFilter())
        self._say_filter()

    def action_toggle_radix(self) -> None:
        self.grid.set_radix("dec" if self.grid.radix == "hex" else "hex")
        self.message.say("values in " + ("decimal" if self.grid.radix == "dec" else "hex"))

    async def action_toggle_panels(self) -> None:
        if not await self._mount_hidden():
            return
        self.panels_flipped = not self.panels_flipped
        self._fit_layout(self.size.width)
        if self.panels_visible:
            self._draw_panels()
        if self.has_class("-narrow") and self.panels_flipped:
            self.query_one("#realm").focus()  # the grid is folded away
        else:
            self.grid.focus()

    def action_scroll_panel(self, panel: str, direction: int) -> None:
        """[ ] (the register panel) and { } (the exit panel): most of a page at a time."""
        for widget in self.query(f"#{panel}"):
            height = max(1, widget.scrollable_content_region.height - 2)
            widget.scroll_relative(y=direction * height, animate=False)

    def action_help(self) -> None:
        from widgets.help_screen import HelpScreen

        self.push_screen(HelpScreen())

    def action_dismiss(self) -> None:
        """esc: close the editor or its note; else clear a kept filter."""
        self.armed = None
        if self.editor_open:
            self._close_editor()
            self.message.explain(self.grid.selected)
        elif self.grid.filter.active:
            self.clear_filter()

    def action_screenshot(self) -> None:
        """An SVG of the screen as it is: to the browser when served, else a new file in the
        current directory (never over an earlier one: two presses in a second get -2)."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        if self.is_web:
            self.deliver_screenshot(f"realmtui-{stamp}.svg")
            self.message.say("screenshot sent to the browser", "success")
            return
        svg = self.export_screenshot()
        try:
            path = write_new_file(Path(self.screenshot_dir or os.getcwd()), f"realmtui-{stamp}",
                                  ".svg", svg)
        except OSError as e:
            # Said here and not as a toast: a toast would be in the next screenshot.
            self.message.say(f"screenshot NOT saved: {e.strerror or e} ({e.filename or ''})",
                             "error")
            return
        self.message.say(f"screenshot saved to {path}", "success")

    # --- the debugging kit (widgets/ioctl_log_screen.py, disasm_screen.py, ...) --------------
    def action_ioctl_log(self) -> None:
        from realmtui.ioctl_view import SCREEN_LIMIT, lines
        from widgets.ioctl_log_screen import IoctlLogScreen

        self.fetch("ioctl log", lambda s: (lines(s.ioctl_log.newest(SCREEN_LIMIT)),
                                           len(s.ioctl_log)),
                   lambda got: self.push_screen(IoctlLogScreen(*got)))

    def action_disasm(self) -> None:
        from realmtui.disasm import at_pc
        from widgets.disasm_screen import DisasmScreen

        title = f"code at pc · {self.view.snapshot.label}"
        self.fetch("disassembly", at_pc, lambda got: self.push_screen(DisasmScreen(got, title)))

    def action_exit_diff(self) -> None:
        from widgets.exit_diff_screen import ExitDiffScreen

        def show(history: tuple[object, ...]) -> None:
            if len(history) < 2:
                self.message.say("nothing to compare yet: r runs to the first exit, then D "
                                 "compares it with the start or with now", "warning")
                return
            self.push_screen(ExitDiffScreen(history))  # type: ignore[arg-type]

        self.fetch("compare", lambda s: tuple(s.history), show)

    def action_copy_value(self) -> None:
        reg = self.grid.selected
        if reg is None or reg.value is None:
            self.notify("no value to copy here", severity="warning")
            return
        text = format_value(reg.value, reg.info.bits, self.grid.radix)
        self.copy_to_clipboard(text)
        self.notify(f"{reg.info.name} = {text} copied to the clipboard", title="copied")

    def action_export(self) -> None:
        from realmtui import export

        snap = self.view.snapshot
        stamp = time.strftime("%Y%m%d-%H%M%S")
        where = Path(self.screenshot_dir or os.getcwd())
        try:
            paths = [write_new_file(where, f"realmtui-grid-{stamp}", suffix, text)
                     for suffix, text in ((".json", export.as_json(snap)),
                                          (".csv", export.as_csv(snap)))]
        except OSError as e:
            self.notify(f"grid NOT exported: {e.strerror or e} ({e.filename or where})",
                        title="export", severity="error")
            return
        self.notify(f"the grid at {snap.label} went to {paths[0]} and {paths[1].name}",
                    title="exported")

    # --- the command palette ----------------------------------------------------------------
    def palette_registers(self) -> Sequence[RegView]:
        return self.view.regs

    def jump_to(self, reg_id: int) -> None:
        filtered = self.grid.filter.active
        if self.grid.reveal(reg_id):
            if filtered and not self.grid.filter.active:  # the filter hid it: cleared
                from widgets.filter_bar import FilterBar

                for bar in self.query(FilterBar):
                    bar.reset()
            self.grid.focus()
            self.message.explain(self.grid.selected)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # Textual's own, less its screenshot (ours saves to the current directory).
        yield from (c for c in super().get_system_commands(screen) if c.title != "Screenshot")
        cfg = self.session.config
        for profile in Profile:
            if profile is not cfg.profile:
                yield SystemCommand(f"Profile: {profile}", f"restart with the {profile} rules",
                                    lambda p=profile: self.switch(profile=p))
        for vm in VmKind:
            if vm is not cfg.vm:
                yield SystemCommand(f"VM: {vm}", f"restart as a {vm} VM",
                                    lambda k=vm: self.switch(vm=k))
        yield SystemCommand("Restart the VM", "throw it away and build it again",
                            self.action_restart)
        yield SystemCommand("Run to the next exit", "KVM_RUN (r)", self.action_run)
        yield SystemCommand("Hex / decimal", "toggle the radix (x)", self.action_toggle_radix)
        yield SystemCommand("Writable now only", "toggle (w)", self.action_toggle_writable)
        yield SystemCommand("Changed only", "toggle (d)", self.action_toggle_changed)
        yield SystemCommand("Save an SVG screenshot", "to the current directory (ctrl+s)",
                            self.action_screenshot)
        yield SystemCommand("Help: keys and verdicts", "(?)", self.action_help)


# --- `realmtui replay FILE` ---------------------------------------------------------------
# `realmtui replay FILE`: the app on a recording, with no kernel behind it.
#
# The same grid, panels and verdicts as the live app (they draw the views realmtui/replay.py
# rebuilt from the recording); n / → and p / ← move between the recorded steps, g jumps to an
# exit; every key that would ask a kernel for something says it cannot.


# What needs the live session: refused with a word in a replay.
KERNEL_ACTIONS = ("run", "run_anyway", "restart_offer", "lifecycle", "restart", "undo",
                  "ioctl_log", "disasm", "exit_diff", "export")


class RecordedGrid(RegisterGrid):
    """The grid of a recording: nothing to write to, so the footer offers no Edit."""

    OFFERS_EDIT = False


class ReplayApp(RealmApp):
    GRID = RecordedGrid
    BINDINGS = [
        Binding("n,right", "step(1)", "Next step", priority=True),
        Binding("p,left", "step(-1)", "Back", priority=True),
        Binding("g", "goto_exit", "Go to exit", priority=True),
        Binding("r", "refuse('run')", "Run", show=False, priority=True),
        Binding("c,f,a", "refuse('lifecycle step')", show=False),
        Binding("ctrl+r", "refuse('restart')", show=False),
        Binding("u", "refuse('undo')", show=False),
        Binding("l,D,ctrl+e", "refuse('this view')", show=False),
    ]

    def __init__(self, recording: Recording, **kwargs: object) -> None:
        from realmtui.replay import ReplayDriver

        self.replay = ReplayDriver(recording)
        super().__init__(None, driver=self.replay, **kwargs)  # type: ignore[arg-type]

    @property
    def recording(self) -> Recording:
        return self.replay.recording

    def compose(self) -> ComposeResult:
        yield Banner(self._banner_text(), id="banner")
        yield from super().compose()

    def _banner_text(self) -> str:
        r, d = self.recording, self.replay
        step = d.current
        # The step first: a narrow browser window cuts the end of the line.
        return (f"replay of {r.name} · step {d.position}/{d.last}: {step.action} · recorded on "
                f"{r.recorded_on}")

    def _say_start(self) -> None:
        note = f" ({self.recording.note})" if self.recording.note else ""
        self.message.say(f"replay: n or → steps forward, p or ← back, g jumps to an exit; "
                         f"edits are refused (no kernel){note}", "information")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in KERNEL_ACTIONS:
            return False
        if action == "step" and not self._typing_or_dialog():
            return True
        return super().check_action(action, parameters)

    def action_step(self, delta: int) -> None:
        self.show_step(self.replay.position + int(delta))

    def show_step(self, position: int) -> None:
        d = self.replay
        if not d.go(position):
            edge = "the last" if position > d.last else "the first"
            self.message.say(f"replay: this is {edge} step ({d.position}/{d.last})", "warning")
            return
        self._close_editor()
        self._draw(d.view())
        self.query_one("#banner", Banner).update(self._banner_text())
        step = d.current
        if step.number == 0 and step.action == "start":
            self.message.say(f"step 0: the start — {step.view.stage.label}", "information")
            return
        text = f"step {d.position}: {step.action} — {step.message}"
        if step.errno:
            text = f"step {d.position}: {step.action} — {step.errno}: {step.message}"
        self.message.say(text, "success" if step.ok else "error")

    def action_goto_exit(self) -> None:
        from widgets.line_prompt import LinePrompt

        numbers = sorted({s.view.exit_count for s in self.recording.steps if s.view.exit_count})
        if not numbers:
            self.message.say("replay: this recording has no exits", "warning")
            return

        def check(text: str) -> str | None:
            n = text.upper().removeprefix("E")
            if not n.isdigit() or self.recording.exit_step(int(n)) is None:
                return f"no exit {text!r} in this recording: E{numbers[0]}–E{numbers[-1]}"
            return None

        def answered(text: str | None) -> None:
            if text:
                step = self.recording.exit_step(int(text.upper().removeprefix("E")))
                if step is not None:
                    self.show_step(step)

        self.push_screen(LinePrompt(
            "go to exit", f"The exits of this recording: E{numbers[0]}–E{numbers[-1]}.",
            "a number, e.g. 5 or E5 · enter goes there · esc cancels", check, "E5"), answered)

    def action_refuse(self, what: str) -> None:
        self.message.say(self.replay.refused(what, "ask") + ": n/p move between the "
                         "recorded steps", "warning")

    @on(RegisterGrid.EditRequested)
    def _refuse_edit(self, event: RegisterGrid.EditRequested) -> None:
        event.prevent_default()  # not RealmApp's editor: there is no kernel to write to
        self.message.say(self.replay.refused("edit", "write to"), "warning")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from (c for c in App.get_system_commands(self, screen)
                    if c.title != "Screenshot")
        yield SystemCommand("Next step", "(n)", lambda: self.action_step(1))
        yield SystemCommand("Previous step", "(p)", lambda: self.action_step(-1))
        yield SystemCommand("Go to exit", "(g)", self.action_goto_exit)
        yield SystemCommand("Save an SVG screenshot", "(ctrl+s)", self.action_screenshot)


# --- `realmtui exercise FILE` -------------------------------------------------------------
# `realmtui exercise FILE`: the app with the verdict column hidden, asking the exercise's
# questions (realmtui/exercise.py). For each one the student answers r / i / e or an errno; the
# write then goes through the kernel in the vCPU worker, and a box shows what happened, with
# the rule and its source. The score comes at the end.


BLOCKED = ("run", "run_anyway", "restart_offer", "lifecycle", "restart", "toggle_writable",
           "undo", "exit_diff", "export")


class QuestionReady(Message):
    def __init__(self, ask: Ask | None, view: SessionView) -> None:
        super().__init__()
        self.ask = ask
        self.view = view


class Answered(Message):
    def __init__(self, result: Result, view: SessionView) -> None:
        super().__init__()
        self.result = result
        self.view = view


class ExerciseApp(RealmApp):
    GRID = HiddenVerdictGrid
    BINDINGS = [Binding("n", "ask_again", "Question", priority=True)]

    def __init__(self, exercise: Exercise, **kwargs: object) -> None:
        from realmtui.exercise import ExerciseRun, open_session

        super().__init__(open_session(exercise), **kwargs)  # type: ignore[arg-type]
        self.exercise = exercise
        self.walk = ExerciseRun(exercise, self.session)
        self.asking: Ask | None = None
        self.done = False

    def compose(self) -> ComposeResult:
        yield Banner(self._banner_text(), id="banner")
        yield from super().compose()

    def _banner_text(self) -> str:
        right, total = self.walk.score
        asked = len(self.walk.results)
        return (f"exercise: {self.exercise.title} · question {min(asked + 1, total)}/{total} · "
                f"score {right}/{asked} · the verdicts are hidden: you predict them")

    def _say_start(self) -> None:
        self.message.say("exercise: answer each question with r (refused), i (ignored), "
                         "e (effective) or the errno; the kernel then decides", "information")

    def on_mount(self) -> None:
        intro = "\n\n".join(self.exercise.intro) or self.exercise.title
        self.push_screen(InfoBox(f"exercise: {self.exercise.title}", intro + (
            f"\n\n{self.exercise.questions} questions. The grid's verdict column is hidden: "
            "for each question you say what KVM_SET_ONE_REG will do, then the app writes the "
            "value through the kernel and shows what happened."), "enter: the first question"),
            lambda _: self._next())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in BLOCKED:
            return False
        if action == "ask_again":
            return self.asking is not None and not self._typing_or_dialog()
        return super().check_action(action, parameters)

    # --- the walk, in the vCPU worker ------------------------------------------------------
    def _next(self) -> None:
        from realmtui.exercise import ExerciseError

        walk, driver = self.walk, self.driver

        def job() -> Message:
            try:
                ask = walk.next_question()
            except ExerciseError as e:
                return VcpuFailed("exercise", str(e))
            return QuestionReady(ask, driver.view())

        self.submit("exercise", job)

    @on(QuestionReady)
    def _question_ready(self, event: QuestionReady) -> None:
        self._draw(event.view)
        self.asking = event.ask
        self.query_one("#banner", Banner).update(self._banner_text())
        if event.ask is None:
            self._finish()
            return
        try:
            self.jump_to(parse_register(event.ask.reg))
        except ValueError:
            pass  # an unknown name: the answer's write says so
        self.action_ask_again()

    def action_ask_again(self) -> None:
        from widgets.line_prompt import LinePrompt

        ask = self.asking
        if ask is None:
            return
        from realmtui.exercise import parse_answer

        v = self.view
        exit_text = (f"E{v.last_exit.number} KVM_EXIT_{v.last_exit.exit.name}"
                     if v.last_exit else "no exit yet")
        say = "".join(f"{s}\n" for s in ask.say)
        number = len(self.walk.results) + 1
        self.message.say(f"question {number}: write {ask.value} to {ask.reg} — refused, "
                         "ignored or effective? (n asks again)", "warning")

        def check(text: str) -> str | None:
            parsed = parse_answer(text)
            return parsed if isinstance(parsed, str) else None

        def answered(text: str | None) -> None:
            if text is None:
                self.message.say("no answer yet: n asks the question again", "warning")
                return
            walk, driver = self.walk, self.driver
            self.asking = None
            self.submit("answer", lambda: Answered(walk.answer(ask, text), driver.view()))

        self.push_screen(LinePrompt(
            f"question {number} of {self.exercise.questions}",
            f"{say}The VM: {v.stage.label}, last exit {exit_text}.\n\n"
            f"Write {ask.value} to {ask.reg} now: what does KVM_SET_ONE_REG do?",
            "r refused · i ignored · e effective · or the errno the kernel gives (EINVAL, "
            "EBUSY, EPERM, ENOENT) · enter answers · esc looks at the grid first", check,
            "r, i, e or EINVAL"), answered)

    @on(Answered)
    def _answered(self, event: Answered) -> None:
        self._draw(event.view)
        self.query_one("#banner", Banner).update(self._banner_text())
        r = event.result
        self.message.say(r.text().splitlines()[0], "success" if r.right else "error")
        self.push_screen(InfoBox("right" if r.right else "not quite", r.text()),
                         lambda _: self._next())

    def _finish(self) -> None:
        self.done = True
        right, total = self.walk.score
        lines = [f"score: {right} of {total}", ""]
        lines += [f"{'✓' if r.right else '✗'} {r.ask.reg} {r.ask.value}: {r.truth}"
                  + (f" ({r.errno})" if r.errno else "") + f" — you said {r.answer}"
                  for r in self.walk.results]
        self.message.say(f"exercise done: score {right} of {total} (ctrl+q quits)", "success")
        self.push_screen(InfoBox(f"{self.exercise.title}: done", "\n".join(lines),
                                 "enter: back to the grid · ctrl+q quits"))

    # --- what the student may not do ---------------------------------------------------------
    @on(RegisterGrid.EditRequested)
    def _no_edit(self, event: RegisterGrid.EditRequested) -> None:
        event.prevent_default()
        self.message.say("exercise: the questions make the writes — n asks the question "
                         "again", "warning")

    @on(RegisterGrid.RegisterHighlighted)
    def _highlighted_hidden(self, event: RegisterGrid.RegisterHighlighted) -> None:
        event.prevent_default()  # RealmApp's would explain the verdict under the grid
        self._highlighted_id = event.reg.id if event.reg is not None else None
        if self.panels_visible:
            self._draw_detail(event.reg)

    def _draw_detail(self, reg: RegView | None) -> None:
        from widgets.detail_panel import DetailPanel

        panel = self.query_one("#detail", DetailPanel)
        if reg is None:
            panel.show("a group row", "no register")
            return
        value = (format_value(reg.value, reg.info.bits) if reg.value is not None
                 else f"read: {reg.read_errno}")
        history = "\n".join(f"  {label:<16} {'?' if v is None else format_value(v, reg.info.bits)}"
                            for label, v in (reg.history.items() if reg.history else ()))
        panel.show(f"{reg.info.name} · {reg.info.group} · u{reg.info.bits}\nKVM {value}\n\n"
                   f"verdict: hidden in an exercise\n\nvalue at each exit:\n{history}",
                   reg.info.name)
