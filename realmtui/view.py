"""Reading a Session for the UI: `capture` takes a SessionView (realmtui/model.py), the
Driver makes the calls the UI asks for.

The app reads the session only inside its vCPU worker (a thread), so that no ioctl runs on
the UI thread and no half-updated state is ever drawn. `capture` is that read: after each
write, run or lifecycle step the worker takes a SessionView and hands it to the UI, which
draws only from it. Pure data: no Textual here (the domain runs without it).
"""

from __future__ import annotations

from types import MappingProxyType

from realmtui.model import RunOutcome, SessionConfig, SessionView, SetOutcome, Stage
from realmtui.session import Session, SessionError

__all__ = ["Driver", "SessionView", "capture"]


def capture(session: Session, changed: frozenset[int] = frozenset()) -> SessionView:
    """Everything the UI draws, read from the session now (call it off the UI thread)."""
    try:
        next_step = session.next_step()
    except SessionError:
        next_step = ""
    return SessionView(
        config=session.config,
        backend=session.backend_name,
        simulated=session.simulated,
        stage=session.stage,
        context=session.context,
        snapshot=session.current,
        last_exit=session.exits[-1] if session.exits else None,
        exit_count=len(session.exits),
        next_step=next_step,
        changed=changed,
        edits=MappingProxyType(dict(session.edits)),
        pending_mmio=session.pending_mmio,
        mmio_data=session.mmio_data,
    )


class Driver:
    """The session calls the UI makes, each answered with its outcome and a fresh view.

    It runs in the app's vCPU worker thread, one call at a time, and is the only thing that
    touches the session there. It remembers which registers changed at the last exit, which
    the session reports once (RunOutcome.changed) but the grid marks until the next exit.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.changed: frozenset[int] = frozenset()

    def view(self) -> SessionView:
        return capture(self.session, self.changed)

    def write(self, reg_id: int, value: int) -> tuple[SetOutcome, SessionView]:
        outcome = self.session.set(reg_id, value)
        return outcome, self.view()

    def run(self, mmio_data: int | None = None) -> tuple[RunOutcome, SessionView]:
        if mmio_data is not None:
            given = self.session.provide_mmio(mmio_data)
            if not given.ok:
                return RunOutcome(False, given.message), self.view()
        outcome = self.session.run()
        if outcome.ok:
            self.changed = outcome.changed
        return outcome, self.view()

    def advance(self, target: Stage) -> tuple[RunOutcome, SessionView]:
        return self.session.advance(target), self.view()

    def restart(self) -> SessionView:
        self.session.restart()
        self.changed = frozenset()
        return self.view()

    def replace(self, config: SessionConfig) -> SessionView:
        """A new session with another profile or VM kind; the old one is closed only once
        the new one is built, so a failure leaves the user where they were."""
        session = Session(config)
        self.session.close()
        self.session = session
        self.changed = frozenset()
        return self.view()
