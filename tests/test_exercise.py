"""Issue 9 item 4: exercises. The bundled ones run start to finish in the app, answered right
and wrong (the kernel decides, and the score counts); the verdicts stay hidden; an exercise
written only from the README's example runs; a broken file is refused naming its line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from textual.pilot import Pilot

from realmtui import exercise
from realmtui.app import ExerciseApp
from realmtui.screenshots import settle
from widgets.exercise_widgets import HIDDEN
from widgets.textual_private import FooterKey

README = Path(__file__).resolve().parent.parent / "README.md"

# What the kernel answers to each question of the bundled exercises (README "Exercises").
KEYS = {
    "before-rec": ["e", "i", "e", "EINVAL", "EBUSY"],
    "after-mmio": ["i", "i", "EINVAL", "i", "i"],
    "after-host-call": ["e", "e", "i", "EINVAL"],
    "after-psci": ["i", "i", "EINVAL", "i"],
}
WRONG = {"e": "i", "i": "e", "EINVAL": "EBUSY", "EBUSY": "e"}


async def _answer_all(pilot: Pilot, app: ExerciseApp, answers: list[str]) -> None:
    await settle(pilot)
    await pilot.press("enter")  # the intro
    for answer in answers:
        await settle(pilot)
        assert app.asking is not None, app.message.text
        await pilot.press(*answer, "enter")
        await settle(pilot)
        await pilot.press("enter")  # the answer's box
    await settle(pilot)


def _given(key: list[str]) -> list[str]:
    """Right on even questions, wrong on odd ones; an errno typed, or `r` for "refused"."""
    given = [k if n % 2 == 0 else WRONG[k] for n, k in enumerate(key)]
    return ["r" if g == "EINVAL" and n == 2 else g for n, g in enumerate(given)]


@pytest.mark.parametrize("name", list(KEYS))
def test_every_bundled_exercise_runs_to_its_score(name: str) -> None:
    ex = exercise.load(name)
    walk = exercise.ExerciseRun(ex, exercise.open_session(ex))
    try:
        for answer in _given(KEYS[name]):
            ask = walk.next_question()
            assert ask is not None
            walk.answer(ask, answer)
        assert walk.next_question() is None
        assert [r.errno or str(r.truth)[0] for r in walk.results] == KEYS[name]
        assert walk.score == ((len(KEYS[name]) + 1) // 2, len(KEYS[name]))
    finally:
        walk.session.close()


# Two of them in the app (each costs some seconds of Pilot); the other two above only.
@pytest.mark.parametrize("name", ["before-rec", "after-psci"])
async def test_a_bundled_exercise_answered_right_and_wrong_in_the_app(name: str) -> None:
    key = KEYS[name]
    given = _given(key)
    app = ExerciseApp(exercise.load(name), cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        # The verdicts are hidden while the student predicts, and the footer gives none away:
        # a dimmed Edit under a refused register would be the answer.
        assert all(app.grid._render_reg(r)[3].plain == HIDDEN for r in app.view.regs)
        assert not any(k.action == "edit" for k in app.query(FooterKey))
        await _answer_all(pilot, app, given)
        assert app.done
        results = app.walk.results
        truths = [r.errno or str(r.truth)[0] for r in results]
        assert truths == key
        assert [r.right for r in results] == [n % 2 == 0 for n in range(len(key))]
        assert app.walk.score == ((len(key) + 1) // 2, len(key))
        assert f"score {(len(key) + 1) // 2} of {len(key)}" in app.message.text
        assert all(r.outcome.verdict is not None and r.outcome.verdict.source
                   for r in results)  # each answer shows its rule and source
    app.session.close()


def test_the_readme_example_runs_as_written(tmp_path: Path) -> None:
    block = re.search(r"<!-- exercise-example -->\n```text\n(.*?)```", README.read_text(),
                      re.S)
    assert block, "the README's example exercise"
    path = tmp_path / "my.ex"
    path.write_text(block.group(1))
    # Its comments say what the kernel answers; answered so, the score is full.
    answers = [m.group(1) if m.group(1).startswith("E") else m.group(1)[0]
               for m in re.finditer(r"# answer: (\w+)", block.group(1))]
    ex = exercise.load(str(path))
    walk = exercise.ExerciseRun(ex, exercise.open_session(ex))
    try:
        for answer in answers:
            ask = walk.next_question()
            assert ask is not None
            walk.answer(ask, answer)
        assert walk.next_question() is None
        assert walk.score == (len(answers), len(answers)) == (3, ex.questions)
    finally:
        walk.session.close()


def test_broken_exercises_name_their_line(tmp_path: Path) -> None:
    cases = {
        "title T\nfrobnicate x0\nask x0 1\n": "line 2: unknown line 'frobnicate'",
        "title T\nask x0\n": "line 2: expected `ask REG VALUE`",
        "title T\nprofile v99\nask x0 1\n": "line 2: profile is one of",
        "title T\nsay\nask x0 1\n": "line 2: `say` needs its text",
        "title T\nrun\n": "no `ask REG VALUE` line",
    }
    for text, needle in cases.items():
        path = tmp_path / "bad.ex"
        path.write_text(text)
        with pytest.raises(exercise.ExerciseError, match=re.escape(needle)):
            exercise.load(str(path))
    # A scene line that fails stops the exercise at that line.
    path = tmp_path / "scene.ex"
    path.write_text("title T\nrun   # not active yet\nask x0 1\n")
    walk = exercise.ExerciseRun(exercise.load(str(path)), exercise.open_session(
        exercise.load(str(path))))
    with pytest.raises(exercise.ExerciseError, match="scene.ex line 2: `run` failed"):
        walk.next_question()
    walk.session.close()
    proc = subprocess.run([sys.executable, "-m", "realmtui", "exercise", str(path.with_name(
        "bad.ex"))], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_list_names_the_bundled_exercises() -> None:
    proc = subprocess.run([sys.executable, "-m", "realmtui", "exercise", "--list"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for name in KEYS:
        assert name in proc.stdout
