"""A Ctrl-C while the program loads always ends it with status 130.

A SIGINT raises KeyboardInterrupt wherever Python is. While modules load, that can be inside a
callback of the import machinery (`_get_module_lock`'s weakref callback), where Python prints
"Exception ignored ... Traceback" and carries on: the app then came up as if nothing had been
pressed, and a script waiting for it to end waited forever (seen in CI,
tests/test_cli_hardening.py). An interrupt swallowed like that is remembered here instead,
without the traceback, and the launcher ends with 130 at its next check (realmtui/cli.py).
"""

from __future__ import annotations

import sys
from typing import Any

_default_hook = sys.unraisablehook
_pending = False


def _unraisable(info: Any) -> None:
    global _pending
    if info.exc_type is not None and issubclass(info.exc_type, KeyboardInterrupt):
        _pending = True
        return
    _default_hook(info)


def watch() -> None:
    """From now on, remember a KeyboardInterrupt that Python could not raise."""
    sys.unraisablehook = _unraisable


def pending() -> bool:
    """Whether a Ctrl-C was swallowed since `watch()`."""
    return _pending
