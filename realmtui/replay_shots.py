"""`realmtui screenshot --replay FILE --out DIR`: one SVG per step of a recording, drawn by
the replay app headless (step-000.svg is the start)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from realmtui.replay import Recording, ReplayError, load
from realmtui.screenshots import SIZE


def shot_name(position: int) -> str:
    return f"step-{position:03d}.svg"


async def take_all(recording: Recording, out: Path,
                   size: tuple[int, int] = SIZE) -> list[Path]:
    from realmtui.app import ReplayApp

    out.mkdir(parents=True, exist_ok=True)
    app = ReplayApp(recording, cursor_blink=False)
    written = []
    async with app.run_test(size=size) as pilot:
        for position in range(len(recording.steps)):
            app.show_step(position)
            await pilot.pause()
            step = recording.steps[position]
            svg = app.export_screenshot(
                title=f"realmtui — replay of {recording.name}, step {position}: {step.action}")
            path = out / shot_name(position)
            path.write_text(svg, encoding="utf-8")
            written.append(path)
    return written


def main(file: str, out_dir: str, force: bool = False) -> int:
    try:
        recording = load(file)
    except ReplayError as e:
        print(f"realmtui: {e}", file=sys.stderr)
        return 2
    out = Path(out_dir)
    names = [out / shot_name(i) for i in range(len(recording.steps))]
    existing = [str(p) for p in names if p.exists()]
    if existing and not force:
        print(f"realmtui: {len(existing)} screenshot(s) already exist ({existing[0]}, ...): "
              "--force overwrites them, or choose another --out", file=sys.stderr)
        return 2
    try:
        written = asyncio.run(take_all(recording, out))
    except OSError as e:
        print(f"realmtui: cannot write screenshots to {out_dir}: {e.strerror or e}",
              file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0
