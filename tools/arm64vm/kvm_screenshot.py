"""The app on a real arm64 vCPU: run realmtui headless on the kvm backend (a normal VM, run to
its first exit) and write the SVG screenshot to the path given. differential.py runs this in a
child process and sends the picture back.

    python3.11 kvm_screenshot.py OUT.svg

Exit status: 0 with the SVG written; 2 when the app module is missing or broken (the message
says so); 3 when the kvm backend refused (the CLI's own message).
"""

from __future__ import annotations

import asyncio
import sys
import time

from realmtui.backend import BackendUnavailable
from realmtui.context import VmKind
from realmtui.session import Session, SessionConfig, SessionError

SIZE = (120, 40)


# What the grid shows once it has caught up with the first exit: pc still on N1's store (KVM
# steps over an MMIO access only at the next KVM_RUN), and x20 holding the UART address.
AFTER_N1 = ("0x0000000080000004", "0x0000000009000000")
TITLE = "realmtui on a real arm64 KVM (Linux 6.1, QEMU TCG)"


async def shoot(session: Session) -> str:
    from realmtui.app import RealmApp  # the Textual layer, loaded last

    app = RealmApp(session, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("r")  # KVM_RUN to the first exit: the guest's MMIO write of x0
        svg = ""
        # Under TCG the worker's result can take a few refreshes to reach the grid: wait for
        # the values the real vCPU reported, not for a fixed time.
        for _ in range(15):
            await pilot.app.workers.wait_for_complete()
            await pilot.pause(0.2)
            svg = app.export_screenshot(title=TITLE)
            if all(value in svg for value in AFTER_N1):
                break
        return svg


def main(out: str) -> int:
    t0 = time.monotonic()
    try:
        session = Session(SessionConfig(backend="kvm", vm=VmKind.NORMAL))
    except (BackendUnavailable, SessionError) as e:
        print(f"kvm_screenshot: {e}", file=sys.stderr)
        return 3
    try:
        try:
            import realmtui.app  # noqa: F401
        except Exception as e:  # the app is another helper's work in progress
            print(f"kvm_screenshot: realmtui.app cannot be imported ({e!r}); no screenshot",
                  file=sys.stderr)
            return 2
        svg = asyncio.run(shoot(session))
    finally:
        session.close()
    with open(out, "w", encoding="utf-8") as f:
        f.write(svg)
    print(f"kvm_screenshot: {len(svg)} characters in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
