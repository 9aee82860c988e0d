"""Snapshot tests of the key screens (pytest-textual-snapshot). The states are the ones
`realmtui screenshot` writes for the README, so the pictures there are tested screens.

Deterministic by construction: the sim backend, a fixed terminal size, the default theme,
no cursor blink, and every step waits for the vCPU worker. Update with
`pytest tests/test_snapshots.py --snapshot-update` after looking at the diff report.
"""

from __future__ import annotations

import pytest

from realmtui.screenshots import SHOTS, Shot, make_app

BY_NAME = {shot.name: shot for shot in SHOTS}
WIDE = (140, 42)
SMALL = (80, 24)


@pytest.mark.parametrize("name", [shot.name for shot in SHOTS if shot.size == WIDE])
def test_wide(snap_compare, name: str) -> None:  # noqa: ANN001
    shot: Shot = BY_NAME[name]
    assert snap_compare(make_app(shot.config), run_before=shot.steps, terminal_size=WIDE)


@pytest.mark.parametrize("name", ["start", "after-E1", "normal-vm"])
def test_compact_100x30(snap_compare, name: str) -> None:  # noqa: ANN001
    # Issue 8 item 1: the compact grid and the side panels together at 100 columns.
    shot: Shot = BY_NAME[name]
    assert snap_compare(make_app(shot.config), run_before=shot.steps,
                        terminal_size=(100, 30))


@pytest.mark.parametrize("name", ["start", "einval-inline", "mmio-prompt-E5"])
def test_80x24(snap_compare, name: str) -> None:  # noqa: ANN001
    shot: Shot = BY_NAME[name]
    assert snap_compare(make_app(shot.config), run_before=shot.steps, terminal_size=SMALL)
