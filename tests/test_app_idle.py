"""An app left alone uses no CPU, at every terminal size, down to 1x1.

Issue 12 item 14: a terminal 3 or 4 rows high left no room for a grid row, and the grid asked
to scroll its cursor into view again after every refresh, forever (40-50% of a core). This runs
the real program in pseudo-terminals of several sizes at once, as a user would, lets it start,
and then measures the CPU time each uses over three seconds of nobody touching anything.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time

import pytest

SIZES = [(1, 1), (10, 4), (80, 3), (80, 4), (20, 5), (40, 12), (80, 24), (200, 60)]
IDLE_SECONDS = 3.0
BUSY = 0.3  # CPU seconds over the idle window: a spinning app used 1.2 s on 2 busy cores


def _spawn(columns: int, rows: int) -> tuple[int, int]:
    winsize = struct.pack("HHHH", rows, columns, 0, 0)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal is the pty, of this size from the start
        fcntl.ioctl(0, termios.TIOCSWINSZ, winsize)
        env = dict(os.environ, TERM="xterm-256color")
        os.execve(sys.executable, [sys.executable, "-m", "realmtui"], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, winsize)
    return pid, fd


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _drain(fds: list[int], seconds: float) -> None:
    """Read what the apps write (a full pty would stall them, and stalled looks idle)."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        ready, _, _ = select.select(fds, [], [], min(left, 0.05))
        for fd in ready:
            try:
                os.read(fd, 1 << 16)
            except OSError:
                fds.remove(fd)  # it exited: its CPU time still tells


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads /proc")
def test_an_untouched_app_is_idle_at_every_size() -> None:
    procs = {size: _spawn(*size) for size in SIZES}
    fds = [fd for _pid, fd in procs.values()]
    try:
        # Started: each has stopped using CPU for half a second, or 20 s have passed (a
        # spinning one never stops, and is then caught below).
        last = {size: -1.0 for size in SIZES}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            _drain(fds, 0.5)
            now = {size: _cpu_seconds(pid) for size, (pid, _fd) in procs.items()}
            settled = all(now[s] - last[s] < 0.02 for s in SIZES)
            last = now
            if settled:
                break
        before = {size: _cpu_seconds(pid) for size, (pid, _fd) in procs.items()}
        _drain(fds, IDLE_SECONDS)
        used = {size: _cpu_seconds(pid) - before[size] for size, (pid, _fd) in procs.items()}
        running = {size: os.waitpid(pid, os.WNOHANG) == (0, 0)
                   for size, (pid, _fd) in procs.items()}
    finally:
        for pid, fd in procs.values():
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            os.close(fd)
    busy = {f"{w}x{h}": round(t, 2) for (w, h), t in used.items() if t > BUSY}
    assert not busy, f"CPU seconds used over {IDLE_SECONDS} s with no input: {busy}"
    gone = [f"{w}x{h}" for (w, h), alive in running.items() if not alive]
    assert not gone, f"the app exited on its own at {gone}"
