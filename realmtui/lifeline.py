"""The served app's hold on life: a browser session of `realmtui serve` ends with its server
and on SIGTERM, whatever the app is doing.

The app runs with the server's pipes for a terminal. If the app's event loop is busy (a
redraw storm, a stuck screen), Textual's own SIGTERM handler -- a message posted to that loop
-- is never read, and a process nobody can see would keep a CPU and grow. So the two ways out
do not go through the loop:

* the kernel ends the process when its parent (the server) dies (Linux PR_SET_PDEATHSIG;
  elsewhere a thread watches the parent pid);
* SIGTERM is blocked in every thread and taken by a thread of its own with sigwait, which
  ends the process at once: the served app has no terminal to restore, and the server sees
  the end of its output and closes the browser's websocket.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_PARENT_POLL_S = 0.5


def hold_to_server(server_pid: int) -> None:
    """Call in the main thread before any other thread starts (they inherit the mask)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    threading.Thread(target=_end_on_sigterm, name="realmtui-sigterm", daemon=True).start()
    if not _die_with_parent():
        threading.Thread(target=_watch_parent, args=(server_pid,), name="realmtui-parent",
                         daemon=True).start()
    if os.getppid() != server_pid:  # the server was gone before the hold took effect
        os._exit(0)


def _end_on_sigterm() -> None:
    signal.sigwait({signal.SIGTERM})
    os._exit(128 + signal.SIGTERM)


def _die_with_parent() -> bool:
    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(server_pid: int) -> None:
    while os.getppid() == server_pid:
        time.sleep(_PARENT_POLL_S)
    os._exit(0)
