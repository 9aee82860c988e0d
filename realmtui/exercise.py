"""Exercises: the student predicts what a register write does now, then the write goes to the
kernel and the answer is what the kernel (and the rule behind the verdict) says.

An exercise file is the batch grammar (realmtui/batch.py: one command per line, `#` starts a
comment anywhere) with a few lines of its own:

    title TEXT        the exercise's name (once)
    intro TEXT        shown before the first question (may repeat: one paragraph each)
    profile NAME      the CCA series (seed, v9, v10, v12, v13, v14; default v9)
    start WHERE       where the realm starts: new, created (default), rec-created, active, E1-E9
    say TEXT          shown with the next question
    ask REG VALUE     a question: "write VALUE to REG -- refused, ignored or effective?"

Every other line is a batch command that sets the scene (`finalize`, `activate`, `run`,
`mmio 0x42`, `set x1 0x5`, `expect exit MMIO`...); if one fails, the exercise stops there and
says which line. TEXT is any text to the end of the line (a `#` still starts a comment).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realmtui.batch import COMMANDS, Batch, LineError, split_words
from realmtui.batch_input import read_lines
from realmtui.context import Profile
from realmtui.model import SetOutcome
from realmtui.session import Session
from realmtui.verdict import Access

BUNDLED = Path(__file__).with_name("exercises")
SUFFIX = ".ex"
TEXT_LINES = ("title", "intro", "say")
START_WORDS = ("new", "created", "rec-created", "active")
ANSWERS = {"r": Access.REFUSED, "refused": Access.REFUSED, "i": Access.IGNORED,
           "ignored": Access.IGNORED, "e": Access.EFFECTIVE, "effective": Access.EFFECTIVE}
ERRNOS = ("EINVAL", "EBUSY", "EPERM", "ENOENT", "EFAULT", "E2BIG", "ENXIO")


class ExerciseError(Exception):
    """The exercise file cannot be used; the message names the line."""


@dataclass(frozen=True)
class Ask:
    line: int
    reg: str
    value: str
    say: tuple[str, ...] = ()  # the `say` lines since the last question


@dataclass(frozen=True)
class Setup:
    line: int
    words: tuple[str, ...]


@dataclass
class Exercise:
    path: Path
    title: str = ""
    intro: list[str] = field(default_factory=list)
    profile: Profile = Profile.V9
    start: str = "created"
    items: list[Setup | Ask] = field(default_factory=list)

    @property
    def questions(self) -> int:
        return sum(isinstance(i, Ask) for i in self.items)


def bundled() -> list[Path]:
    return sorted(BUNDLED.glob(f"*{SUFFIX}"))


def find(name: str) -> Path:
    """A file, or a bundled exercise by name (`after-mmio`)."""
    path = Path(name)
    if path.exists() or path.suffix:
        return path
    # By name, with or without its number: `after-mmio` or `2-after-mmio`.
    found = sorted(BUNDLED.glob(f"{name}{SUFFIX}")) or sorted(BUNDLED.glob(f"*-{name}{SUFFIX}"))
    return found[0] if found else path


def load(name: str) -> Exercise:
    path = find(name)
    try:
        stream = path.open("rb")
    except OSError as e:
        raise ExerciseError(f"cannot read {name}: {e.strerror or e} (realmtui exercise --list "
                            "names the bundled ones)") from None
    ex = Exercise(path)
    says: list[str] = []
    with stream:
        for line in read_lines(stream):
            if line.text is None:
                raise ExerciseError(f"{path.name}: {line.error}")
            _line(ex, line.number, line.text, says)
    if not ex.questions:
        raise ExerciseError(f"{path.name}: no `ask REG VALUE` line: an exercise needs a question")
    if not ex.title:
        ex.title = path.stem
    return ex


def _line(ex: Exercise, n: int, text: str, says: list[str]) -> None:
    body = text.split("#", 1)[0].strip()
    if not body:
        return
    head, _, rest = body.partition(" ")
    head, rest = head.lower(), rest.strip()
    where = f"{ex.path.name} line {n}"
    if head in TEXT_LINES:
        if not rest:
            raise ExerciseError(f"{where}: `{head}` needs its text")
        if head == "title":
            ex.title = rest
        elif head == "intro":
            ex.intro.append(rest)
        else:
            says.append(rest)
        return
    words = split_words(body)
    if isinstance(words, LineError):
        raise ExerciseError(f"{where}: {words.message}")
    head, args = words[0].lower(), words[1:]
    if head == "profile":
        try:
            (ex.profile,) = (Profile(a) for a in args)
        except ValueError:
            raise ExerciseError(f"{where}: profile is one of "
                                + ", ".join(p.value for p in Profile)) from None
    elif head == "start":
        from realmtui.walk import exit_number

        if len(args) != 1 or (args[0] not in START_WORDS and exit_number(args[0]) is None):
            raise ExerciseError(f"{where}: start is one of {', '.join(START_WORDS)}, or an "
                                "exit such as E5")
        ex.start = args[0]
    elif head == "ask":
        if len(args) != 2:
            raise ExerciseError(f"{where}: expected `ask REG VALUE`, e.g. ask x0 0x1234")
        ex.items.append(Ask(n, args[0], args[1], tuple(says)))
        says.clear()
    elif head in {c.split()[0] for c in COMMANDS} and head != "help":
        ex.items.append(Setup(n, tuple(words)))
    else:
        raise ExerciseError(f"{where}: unknown line {head!r}: expected title, intro, profile, "
                            "start, say, ask or a batch command")


def parse_answer(text: str) -> tuple[Access, str | None] | str:
    """('refused', 'EINVAL') for EINVAL, ('ignored', None) for i...; or why it is not one."""
    word = text.strip()
    if word.lower() in ANSWERS:
        return ANSWERS[word.lower()], None
    if word.upper() in ERRNOS:
        return Access.REFUSED, word.upper()
    return (f"{word!r} is not an answer: r (refused), i (ignored), e (effective), or the "
            f"errno the kernel gives ({', '.join(ERRNOS[:4])})")


@dataclass(frozen=True)
class Result:
    ask: Ask
    answer: str
    right: bool
    truth: Access
    errno: str | None
    outcome: SetOutcome

    def text(self) -> str:
        o = self.outcome
        mark = "✓ right" if self.right else "✗ not quite"
        what = f"{self.truth}" + (f" ({self.errno})" if self.errno else "")
        reg = o.reg.name if o.reg else self.ask.reg
        out = [f"{mark}: you said {self.answer}; writing {self.ask.value} to {reg} was {what}.",
               f"the kernel: {o.message}"]
        if o.verdict is not None:
            out += [f"rule: {o.verdict.reason}", f"source: {o.verdict.source}"]
        return "\n".join(out)


class ExerciseRun:
    """Walks an exercise on a session: scene-setting lines, then each question."""

    def __init__(self, exercise: Exercise, session: Session) -> None:
        self.exercise = exercise
        self.session = session
        self.batch = Batch(session)
        self.position = 0
        self.results: list[Result] = []

    def next_question(self) -> Ask | None:
        """Run the scene up to the next question; None when the exercise is done.
        ExerciseError when a scene line fails (the exercise is broken there)."""
        items = self.exercise.items
        while self.position < len(items):
            item = items[self.position]
            self.position += 1
            if isinstance(item, Ask):
                return item
            answer: dict[str, Any] | None = self.batch.handle(" ".join(item.words))
            if answer is not None and not answer.get("ok"):
                raise ExerciseError(
                    f"{self.exercise.path.name} line {item.line}: `{' '.join(item.words)}` "
                    f"failed: {answer.get('error')}")
        return None

    def answer(self, ask: Ask, text: str) -> Result:
        """Grade `text`, then write the value through the kernel: the kernel decides."""
        parsed = parse_answer(text)
        if isinstance(parsed, str):
            raise ValueError(parsed)
        said, said_errno = parsed
        o = self.session.set(ask.reg, ask.value)
        if o.input_error:
            raise ExerciseError(f"{self.exercise.path.name} line {ask.line}: {o.message}")
        if not o.ok:
            truth, errno = Access.REFUSED, o.errno
        else:
            # The kernel took it: whether the guest sees it is what the rule says (the
            # agreement test checks the rules against the sim's REC for every register).
            truth = Access.IGNORED if o.verdict is not None and (
                o.verdict.access is Access.IGNORED) else Access.EFFECTIVE
            errno = None
        right = said is truth and (said_errno is None or said_errno == errno)
        result = Result(ask, text.strip(), right, truth, errno, o)
        self.results.append(result)
        return result

    @property
    def score(self) -> tuple[int, int]:
        return sum(r.right for r in self.results), self.exercise.questions


def open_session(exercise: Exercise) -> Session:
    """The VM the exercise starts on: its profile, at its start (an exit: the demo run there
    with its default host answers, as --start does)."""
    from realmtui.model import Stage
    from realmtui.session import SessionConfig
    from realmtui.walk import exit_number, run_to_exit

    stages = {"new": Stage.REALM_NEW, "created": Stage.REALM_CREATED,
              "rec-created": Stage.REC_CREATED, "active": Stage.ACTIVE}
    session = Session(SessionConfig(profile=exercise.profile,
                                    start=stages.get(exercise.start, Stage.REALM_CREATED)))
    if (number := exit_number(exercise.start)) is not None:
        try:
            run_to_exit(session, number)
        except BaseException:
            session.close()
            raise
    return session
