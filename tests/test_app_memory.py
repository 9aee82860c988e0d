"""Memory stays flat however long the app is used (issue 12 item 13).

Each footer rebuild (a lifecycle step changes its keys) used to leave the old keys alive, bound
to the footer: 64 FooterKey widgets a walk of the demo, RSS 46 -> 106 MB over 40 restarts.

200 real walk-and-restart cycles cost about 150 s of CPU here (each repaints the screen four
times), so the test measures instead what one cycle keeps, exactly: it counts every live
Python object by type after a few cycles and again after several more. Textual's caches that
are bounded (its LRU and FIFO caches, `functools.lru_cache` with a maxsize) and the session's
ioctl log (the newest 100,000 ioctls, ~330 a cycle) are emptied before each count: they fill up
to their bound and then stop, so past it they are a constant.
Their bound is checked, so an unbounded cache is counted like any other growth. The counts
are taken three times, a few cycles apart: a type whose count rises in both spans by one object
a cycle (for widgets: by one at all) is kept by each cycle, and fails the test. (Growth in one
span only is a first use -- a style or colour built the first time a screen shows it, which
comes a little earlier or later with the machine's load.) Then 200 cycles keep fewer than 200
objects more than 10 do.
"""

from __future__ import annotations

import functools
import gc
from collections import Counter

from realmtui.screenshots import settle
from realmtui.session import Session, SessionConfig, Stage

SIZE = (140, 42)  # the size the leak was measured at
WARM_UP = 3  # cycles before the first count
SPAN = 3  # cycles between counts


def _live_objects() -> Counter[str]:
    from textual.cache import FIFOCache, LRUCache

    from backends.ioctl_log import IoctlLog

    gc.collect()
    for obj in gc.get_objects():
        if isinstance(obj, IoctlLog):  # the session's ioctl log keeps the newest `limit`
            assert 0 < obj.limit <= 100_000
            obj.clear()
        elif isinstance(obj, (LRUCache, FIFOCache)):
            assert obj._maxsize > 0, f"an unbounded {type(obj).__name__}"  # noqa: SLF001
            obj.clear()
        elif isinstance(obj, functools._lru_cache_wrapper):  # noqa: SLF001
            if obj.cache_parameters()["maxsize"] is not None:
                obj.cache_clear()
    gc.collect()
    return Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())


async def test_walk_and_restart_cycles_keep_nothing() -> None:
    from textual.widget import Widget

    from realmtui.app import RealmApp

    app = RealmApp(Session(SessionConfig()), cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        counts = []
        for cycle in range(1, WARM_UP + 2 * SPAN + 1):
            for key in ("f", "a", "ctrl+r", "y"):  # each changes the footer's keys
                await pilot.press(key)
                await settle(pilot)
            assert app.view.stage is Stage.REALM_CREATED
            if cycle in (WARM_UP, WARM_UP + SPAN, WARM_UP + 2 * SPAN):
                counts.append(_live_objects())
        widgets = {f"{c.__module__}.{c.__qualname__}" for c in _subclasses(Widget)}
    first, second, third = counts
    kept = {name: (second[name] - first[name], third[name] - second[name]) for name in third}
    leaks = {name: spans for name, spans in kept.items()
             if min(spans) >= (1 if name in widgets else SPAN)}
    assert not leaks, f"objects kept by each span of {SPAN} walk-and-restart cycles: {leaks}"


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found | {cls}
