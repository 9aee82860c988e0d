"""The README's pictures of replay and exercise mode:
`python -m realmtui.teaching_shots screenshots/` writes replay-E3.svg and
exercise-question.svg (drawn headless, as `realmtui screenshot` draws the others)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from realmtui.screenshots import SIZE, settle

# The walk the replay picture is taken from: to E3, then an edit of x1 (step 7).
WALK = ["set x0 0x1111", "finalize", "activate", "run", "run", "run", "set x1 0xfeedface",
        "run"]
REPLAY_STEP = 7


def record_demo(path: Path) -> Path:
    from realmtui import record
    from realmtui.batch import Batch
    from realmtui.session import Session, SessionConfig

    config = SessionConfig()
    session = Session(config)
    recorder = record.start(session, str(path), "app")
    batch = Batch(session)
    for line in WALK:
        batch.handle(line)
    recorder.close()
    session.close()
    return path


async def replay_svg(directory: Path) -> str:
    from realmtui.app import ReplayApp
    from realmtui.replay import load

    app = ReplayApp(load(record_demo(directory / "walk.jsonl")), cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        app.show_step(REPLAY_STEP)
        await pilot.pause()
        return app.export_screenshot(title="realmtui replay walk.jsonl — step 7")


async def exercise_svg() -> str:
    from realmtui import exercise
    from realmtui.app import ExerciseApp

    app = ExerciseApp(exercise.load("after-mmio"), cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("i")
        await pilot.pause()
        svg = app.export_screenshot(title="realmtui exercise after-mmio — question 1")
    app.session.close()
    return svg


async def take_all(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        shots = {"replay-E3.svg": await replay_svg(Path(tmp)),
                 "exercise-question.svg": await exercise_svg()}
    written = []
    for name, svg in shots.items():
        (out / name).write_text(svg, encoding="utf-8")
        written.append(out / name)
    return written


if __name__ == "__main__":
    for p in asyncio.run(take_all(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots"))):
        print(p)
