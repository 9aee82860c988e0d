"""`realmtui screenshot [--out DIR]`: drive the app headless through named states and write
one SVG each. The same states back the snapshot tests, so the README's pictures are the
tested screens."""

from __future__ import annotations

import asyncio
import errno
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from realmtui.context import VmKind
from realmtui.regs import parse_register
from realmtui.session import Session, SessionConfig

if TYPE_CHECKING:  # the app brings Textual; this module only drives it
    from textual.pilot import Pilot

SIZE = (140, 42)  # wide enough for the side panels beside the grid

Steps = Callable[["Pilot"], Awaitable[None]]


async def settle(pilot: Pilot) -> None:
    """Let the vCPU worker finish and the screen catch up."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def run_to(pilot: Pilot, exit_number: int) -> None:
    """From the demo's start (before REC creation): finalize, activate, run to exit n."""
    await pilot.press("f")
    await settle(pilot)
    await pilot.press("a")
    await settle(pilot)
    for _ in range(exit_number):
        await pilot.press("r")
        await settle(pilot)


async def select(pilot: Pilot, name: str) -> None:
    pilot.app.jump_to(parse_register(name))  # type: ignore[attr-defined]
    await pilot.pause()


async def edit(pilot: Pilot, name: str, text: str, presses: int = 1) -> None:
    await select(pilot, name)
    for _ in range(presses):
        await pilot.press("e")
        await pilot.pause()
    await pilot.press(*text, "enter")  # the editor opens with the old value selected
    await settle(pilot)


async def start(pilot: Pilot) -> None:
    await pilot.pause()


async def after_e1(pilot: Pilot) -> None:
    await run_to(pilot, 1)


async def after_e3_x1_edit(pilot: Pilot) -> None:
    await run_to(pilot, 3)
    await edit(pilot, "x1", "0x1234")


async def einval_inline(pilot: Pilot) -> None:
    # sp is refused: the first e explains the rule, the second opens the editor anyway.
    await edit(pilot, "sp", "0x80001000", presses=2)


async def mmio_prompt_e5(pilot: Pilot) -> None:
    await run_to(pilot, 5)
    await pilot.press("r")
    await pilot.pause()
    await pilot.press(*"0x42")
    await pilot.pause()


async def normal_vm(pilot: Pilot) -> None:
    await pilot.press("r")
    await settle(pilot)


# --- the debugging kit (issue 10) -------------------------------------------------------------
async def code_at_pc(pilot: Pilot) -> None:
    await run_to(pilot, 1)
    await pilot.press("p")
    await settle(pilot)


async def compare_exits(pilot: Pilot) -> None:
    await run_to(pilot, 3)
    await pilot.press("D")
    await settle(pilot)


async def ioctl_log(pilot: Pilot) -> None:
    await run_to(pilot, 1)
    await edit(pilot, "x5", "0x77")
    await pilot.press("l")
    await settle(pilot)


async def copy_and_export(pilot: Pilot) -> None:
    import tempfile

    await run_to(pilot, 1)
    await select(pilot, "x20")
    pilot.app.screenshot_dir = tempfile.mkdtemp(prefix="realmtui-export-")  # type: ignore[attr-defined]
    await pilot.press("y", "ctrl+e")
    await pilot.pause(0.5)  # the toasts slide in over a few frames


async def guest_after_e1(pilot: Pilot) -> None:
    """Your own guest: through the lifecycle (a v9 realm) and to its first exit."""
    if pilot.app.view.realm:  # type: ignore[attr-defined]
        await run_to(pilot, 1)
    else:
        await normal_vm(pilot)


async def guest_code_at_pc(pilot: Pilot) -> None:
    await guest_after_e1(pilot)
    await pilot.press("p")
    await settle(pilot)


@dataclass(frozen=True)
class Shot:
    name: str
    config: SessionConfig
    steps: Steps
    title: str
    size: tuple[int, int] = SIZE
    toasts: bool = False  # Textual's tests show no notifications unless asked


SHOTS: tuple[Shot, ...] = (
    Shot("start", SessionConfig(), start, "realm demo, before REC creation"),
    Shot("after-E1", SessionConfig(), after_e1, "after E1: an MMIO write"),
    Shot("after-E3-x1-edit", SessionConfig(), after_e3_x1_edit,
         "after E3 (host call): x1 edited, effective"),
    Shot("einval-inline", SessionConfig(), einval_inline, "sp is refused: EINVAL inline"),
    Shot("mmio-prompt-E5", SessionConfig(), mmio_prompt_e5, "E5: the MMIO read asks for data"),
    Shot("normal-vm", SessionConfig(vm=VmKind.NORMAL), normal_vm, "a normal VM after E1"),
    # 100x30: the compact grid with the last exit and the register beside it.
    Shot("compact-100x30", SessionConfig(), after_e1, "100x30: grid and last exit together",
         size=(100, 30)),
)

# Written by `realmtui screenshot` too, but not snapshot-tested: the ioctl log shows how long
# each call took, and the export's toast a new file's name.
DEBUG_SHOTS: tuple[Shot, ...] = (
    Shot("code-at-pc", SessionConfig(), code_at_pc, "p: the realm's code at pc, sim only"),
    Shot("compare-exits", SessionConfig(), compare_exits, "D: E2 against now (E3)"),
    Shot("ioctl-log", SessionConfig(), ioctl_log, "l: the ioctl log after E1 and an x5 edit"),
    Shot("copy-export", SessionConfig(), copy_and_export, "y copies x20, ctrl+e exports",
         toasts=True),
)


def guest_shots(config: SessionConfig) -> tuple[Shot, ...]:
    """`screenshot --guest FILE`: your own guest at its start, its first exit, its code."""
    kind = str(config.vm)
    return (
        Shot("guest-start", config, start, f"your guest ({kind}) at its start"),
        Shot("guest-after-E1", config, guest_after_e1, f"your guest ({kind}) after E1"),
        Shot("guest-code-at-pc", config, guest_code_at_pc, f"your guest ({kind}): code at pc"),
    )


def make_app(config: SessionConfig):  # noqa: ANN201 - RealmApp, imported late on purpose
    from realmtui.app import RealmApp

    return RealmApp(Session(config), cursor_blink=False)


async def take(shot: Shot, size: tuple[int, int] | None = None) -> str:
    size = size or shot.size
    app = make_app(shot.config)
    async with app.run_test(size=size, notifications=shot.toasts) as pilot:
        await shot.steps(pilot)
        svg = app.export_screenshot(title=f"realmtui — {shot.title}")
    app.session.close()
    return svg


async def take_all(out: Path, shots: tuple[Shot, ...] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for shot in SHOTS + DEBUG_SHOTS if shots is None else shots:
        path = out / f"{shot.name}.svg"
        path.write_text(await take(shot), encoding="utf-8")
        written.append(path)
    return written


def _writable_dir(out: Path) -> None:
    """Make the directory and prove a file can be made in it, before driving the app for a
    minute (OSError naming the path otherwise)."""
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "a file is there, not a directory", str(out))
    out.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:  # the probe's own name would only confuse
        raise OSError(e.errno, e.strerror) from None


def main(out_dir: str, force: bool = False, guest: SessionConfig | None = None) -> int:
    """Write the SVGs (of `guest`'s states when given); one clear line and status 1 when the
    directory cannot take them, or when they exist and `force` is not given (status 2)."""
    out = Path(out_dir)
    shots = SHOTS + DEBUG_SHOTS if guest is None else guest_shots(guest)
    existing = [str(out / f"{s.name}.svg") for s in shots if (out / f"{s.name}.svg").exists()]
    if existing and not force:
        print(f"realmtui: {len(existing)} screenshot(s) already exist ({existing[0]}, ...): "
              "--force overwrites them, or choose another --out", file=sys.stderr)
        return 2
    try:
        _writable_dir(out)
        written = asyncio.run(take_all(out, shots))
    except OSError as e:
        where = e.filename if e.filename and str(e.filename) != out_dir else None
        print(f"realmtui: cannot write screenshots to {out_dir}: {e.strerror or e}"
              + (f" ({where})" if where else ""), file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "screenshots"))
