"""The UI draws from plain values (realmtui/model.py): moving the cursor reads nothing from the
live Session, and a register's value history comes with its view."""

from __future__ import annotations

from typing import Any

from realmtui.model import ValueHistory
from realmtui.screenshots import run_to, settle
from realmtui.session import Session, SessionConfig

SIZE = (140, 42)  # wide enough for the side panels, where the detail panel follows the cursor


class _Watched:
    """Stands in for the Session while the cursor moves: records every attribute the UI
    asks of it, and hands the request on so that nothing else changes."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.asked: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.asked.append(name)
        return getattr(self._session, name)


async def test_cursor_moves_draw_the_history_without_asking_the_session() -> None:
    from realmtui.app import RealmApp

    app = RealmApp(Session(SessionConfig()), cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await run_to(pilot, 2)
        session = app.driver.session
        watched = _Watched(session)
        app.driver.session = watched  # type: ignore[assignment]
        try:
            app.grid.focus()
            for key in ["home", "down", "down", "down", "up", "pagedown", "end", "home", "down"]:
                await pilot.press(key)
                await pilot.pause()
            body = app.query_one("#detail-body")
            text = "\n".join(s.text for s in body._render(body.size.width))
        finally:
            app.driver.session = session
        assert watched.asked == [], sorted(set(watched.asked))
        reg = app.grid.selected
        assert reg is not None and reg.history is not None
        # The panel shows the history the view carries: the start and both exits.
        assert "at each exit" in text
        for label, _ in reg.history.items():
            assert label in text
        assert [label for label, _ in reg.history.items()][-2:] == ["E1 MMIO", "E2 MMIO"]
        await settle(pilot)


def test_a_long_history_compares_and_hashes_without_recursing_per_exit() -> None:
    """The detail panel compares the register it drew with the one under the cursor; a chain
    compared link by link recursively overflowed Python's stack after ~330 exits."""
    a = b = None
    for i in range(5000):
        a = ValueHistory(f"E{i}", i, a)
        b = ValueHistory(f"E{i}", i, b)
    assert a == b and hash(a) == hash(b)
    assert a != ValueHistory("E4999", 4999, ValueHistory("E4998", 0, a.earlier.earlier))
    assert ValueHistory("x", 1) != ValueHistory("x", 1, ValueHistory("start", 1))
