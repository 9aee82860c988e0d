"""A seeded storm of realistic keys: whatever the user mashes, the app must not crash."""

from __future__ import annotations

import random

import pytest

from realmtui.context import VmKind
from realmtui.session import Session, SessionConfig, Stage

KEYS = (
    ["enter"] * 6 + ["escape"] * 6 + ["r"] * 10 + ["e"] * 6 + ["slash"] * 2
    + ["up", "down"] * 8 + ["pageup", "pagedown", "home", "end", "left", "right", "tab"]
    + ["question_mark", "ctrl+p", "backspace", "ctrl+u", "space", "y", "n"]
    + list("0123456789") + list("abcdfiwxvpsz") + ["ctrl+s"] * 0  # no files from a test
)


@pytest.mark.parametrize(
    ("seed", "config", "size"),
    [
        (1, SessionConfig(), (100, 30)),
        (2, SessionConfig(start=Stage.REALM_NEW), (80, 24)),
        (3, SessionConfig(vm=VmKind.NORMAL), (140, 42)),
    ],
)
async def test_random_keys_never_crash(seed: int, config: SessionConfig,
                                       size: tuple[int, int]) -> None:
    from realmtui.app import RealmApp

    rng = random.Random(seed)
    app = RealmApp(Session(config), cursor_blink=False)
    async with app.run_test(size=size) as pilot:
        for i in range(200):
            await pilot.press(rng.choice(KEYS))
            if i % 25 == 0:
                await app.workers.wait_for_complete()
            assert app.is_running, f"the app stopped after key {i}"
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.return_code in (None, 0)
