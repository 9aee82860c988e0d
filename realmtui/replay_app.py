"""`realmtui replay FILE`: the app on a recording, with no kernel behind it.

The same grid, panels and verdicts as the live app (they draw the views realmtui/replay.py
rebuilt from the recording); n / → and p / ← move between the recorded steps, g jumps to an
exit; every key that would ask a kernel for something says it cannot."""

from __future__ import annotations

from collections.abc import Iterable

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from realmtui.app import RealmApp
from realmtui.replay import Recording, ReplayDriver
from widgets.banner import Banner
from widgets.register_grid import RegisterGrid

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
