"""Recordings for the record/replay tests, made through the Session as the CLI makes them."""

from __future__ import annotations

from pathlib import Path

from realmtui import record
from realmtui.batch import Batch
from realmtui.session import Session, SessionConfig

# The demo to E6: edits before REC creation, after the host call and during the MMIO read.
DEMO_WALK = [
    "set x0 0x1111", "set sp 0x10", "finalize", "activate", "run", "run", "run",
    "set x1 0xfeedface", "run", "run", "set x0 0xbad", "mmio 0x42", "run",
]


def record_walk(path: Path, commands: list[str],
                config: SessionConfig | None = None) -> Path:
    config = config or SessionConfig()
    session = Session(config)
    recorder = record.start(session, str(path), "batch")
    try:
        batch = Batch(session)
        for line in commands:
            batch.handle(line)
    finally:
        recorder.close()
        session.close()
    return path
