"""A `realmtui serve` run for the serve tests: started on a free port, its address and token
read from the banner, its log (stderr) read in the background so a test can wait for a line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Served:
    proc: subprocess.Popen[str]
    base: str  # http://127.0.0.1:PORT
    token: str
    banner: str
    log: list[str] = field(default_factory=list)

    @property
    def page(self) -> str:
        return f"{self.base}/?token={self.token}"

    @property
    def socket(self) -> str:
        return f"{self.base.replace('http', 'ws', 1)}/ws/{self.token}"

    def wait_for(self, pattern: str, timeout: float = 20.0, after: int = 0) -> re.Match[str]:
        """The first log line from index `after` on that matches, waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log[after:]:
                if m := re.search(pattern, line):
                    return m
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line /{pattern}/ in {timeout} s: {self.log}")
            time.sleep(0.05)


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting for its parent."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


@contextmanager
def serving(*args: str) -> Iterator[Served]:
    proc = subprocess.Popen([sys.executable, "-m", "realmtui", "serve", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    log: list[str] = []

    def read_log() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            log.append(line)

    threading.Thread(target=read_log, daemon=True).start()
    try:
        banner = proc.stdout.readline()
        m = re.search(r"(http://(?:\[[^\]]+\]|[^/:]+):(\d+))/\?token=(\S+)", banner)
        assert m and m.group(2) != "0", (banner, log)
        yield Served(proc, m.group(1), m.group(3), banner, log)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, 9)
                proc.wait()
        proc.stdout.close()
