"""A seeded storm of realistic keys and resizes: whatever the user mashes, and however the
terminal is resized, the app must not crash, and must still answer at the end.

Issue 12: several thousand keys with resizes at 80x24, 40x12, 200x60 and 20x5. Each run is
bounded by a key count, not by time, so it is the same run on every machine (seeded).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from realmtui.context import VmKind
from realmtui.session import Session, SessionConfig, Stage

KEYS = (
    ["enter"] * 6 + ["escape"] * 6 + ["r"] * 10 + ["e"] * 6 + ["slash"] * 2
    + ["up", "down"] * 8 + ["pageup", "pagedown", "home", "end", "left", "right", "tab"]
    + ["question_mark", "ctrl+p", "backspace", "ctrl+u", "space", "y", "n", "ctrl+r"]
    + ["left_square_bracket", "right_square_bracket", "left_curly_bracket",
       "right_curly_bracket", "ctrl+s", "shift+tab"]
    + list("0123456789") + list("abcdfiwxvpsz") + ["G", "g"]
    # The debugging and teaching keys: the ioctl log, compare exits, undo, export.
    + ["l", "D", "u", "ctrl+e"]
)
SIZES = [(80, 24), (40, 12), (200, 60), (20, 5), (100, 30), (140, 42), (1, 1), (97, 28)]
PRESSES = 625  # x4 runs: 2,500 keys, about 90 s of CPU


@pytest.mark.parametrize(
    ("seed", "config", "size"),
    [
        (1, SessionConfig(), (80, 24)),
        (2, SessionConfig(start=Stage.REALM_NEW), (40, 12)),
        (3, SessionConfig(vm=VmKind.NORMAL), (200, 60)),
        (4, SessionConfig(sve=True, pmu=True), (20, 5)),
    ],
)
async def test_random_keys_and_resizes_never_crash(
        seed: int, config: SessionConfig, size: tuple[int, int], tmp_path: Path) -> None:
    from realmtui.app import RealmApp

    rng = random.Random(seed)
    app = RealmApp(Session(config), cursor_blink=False)
    app.screenshot_dir = str(tmp_path)  # ctrl+s writes here, not into the checkout
    async with app.run_test(size=size) as pilot:
        for i in range(PRESSES):
            if rng.random() < 0.02:
                await pilot.resize_terminal(*rng.choice(SIZES))
            await pilot.press(rng.choice(KEYS))
            if i % 50 == 0:
                await app.workers.wait_for_complete()
            assert app.is_running, f"the app stopped after key {i}"
        # It still answers: back to the grid, at a sane size, x flips the radix.
        await pilot.resize_terminal(*size)
        await app.workers.wait_for_complete()
        for _ in range(4):
            await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.screen_stack[0], app.screen
        app.grid.focus()
        radix = app.grid.radix
        await pilot.press("x")
        await pilot.pause()
        assert app.grid.radix != radix
        assert app.return_code in (None, 0)
