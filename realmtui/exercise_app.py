"""`realmtui exercise FILE`: the app with the verdict column hidden, asking the exercise's
questions (realmtui/exercise.py). For each one the student answers r / i / e or an errno; the
write then goes through the kernel in the vCPU worker, and a box shows what happened, with
the rule and its source. The score comes at the end."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message

from realmtui.app import RealmApp, VcpuFailed
from realmtui.exercise import Ask, Exercise, ExerciseError, ExerciseRun, Result, open_session
from realmtui.model import RegView, SessionView
from realmtui.regs import parse_register
from realmtui.values import format_value
from widgets.banner import Banner
from widgets.exercise_widgets import HiddenVerdictGrid, InfoBox
from widgets.register_grid import RegisterGrid

# The exercise drives the VM; and what would show a verdict before the answer is off.
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
