"""`--start E5`: run the demo to an exit before the user takes over, answering the host's
part as the demo does by default -- every lifecycle step the profile has, and the data of an
MMIO read (DEFAULT_MMIO_DATA, the value the README's walk gives)."""

from __future__ import annotations

import re

from realmtui.model import Stage
from realmtui.session import Session, SessionError

DEFAULT_MMIO_DATA = 0x0123_4567_89AB_CDEF
EXIT_START = re.compile(r"[Ee](\d{1,4})$")


def exit_number(text: str) -> int | None:
    """5 for 'E5' (or 'e5'); None for anything else."""
    m = EXIT_START.match(text)
    return int(m.group(1)) if m else None


def run_to_exit(session: Session, number: int) -> None:
    """Take every lifecycle step left, then run until exit `number` has happened.
    SessionError (the message says where it stopped) when the guest cannot get there."""
    while session.realm and session.profile.step_from(session.stage) is not None:
        done = session.advance()
        if not done.ok:
            raise SessionError(f"--start E{number}: {done.message}")
    while len(session.exits) < number:
        if session.stage is Stage.OFF:
            raise SessionError(
                f"--start E{number}: the guest powered off at E{len(session.exits)}; "
                f"this demo has {len(session.exits)} exits")
        if session.pending_mmio is not None and session.mmio_data is None:
            session.provide_mmio(DEFAULT_MMIO_DATA & ((1 << 8 * session.pending_mmio.length)
                                                      - 1))
        result = session.run()
        if not result.ok:
            raise SessionError(f"--start E{number}: run {len(session.exits) + 1} failed: "
                               f"{result.message}")
