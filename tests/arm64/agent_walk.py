"""The tier's agent part, host side: while the booted machine serves `realmtui agent` on its
second UART (tools/arm64vm/agent_uart.py, after differential.py's own report), this x86 host
drives the machine's real KVM through it -- the differential's demos through the Session,
`realmtui batch` walking the normal demo, a realm asked of a kernel without CCA -- then says
bye. tools/arm64vm/uart_bridge.py joins the UART's socket to the agent: backend's pipes.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from realmtui.backend import BackendUnavailable, open_backend
from realmtui.context import Profile
from tests.test_agent import NORMAL_SCRIPT
from tools.arm64vm import agent_uart, differential

REPO = Path(__file__).resolve().parents[2]
BRIDGE = REPO / "tools" / "arm64vm" / "uart_bridge.py"
GUEST_FILE = REPO / "tools" / "arm64vm" / "agent_uart.py"  # included beside differential.py
DEMOS = {"base": (False, False), "pmu": (True, False), "sve": (False, True)}


def batch(script: str, *args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "realmtui", "batch", *args], input=script, text=True,
        capture_output=True, timeout=300, check=False, cwd=REPO,
        env=os.environ | {"REALMTUI_AGENT_TIMEOUT": "120"},
    )
    return {"answers": [json.loads(line) for line in proc.stdout.splitlines()],
            "stderr": proc.stderr, "status": proc.returncode}


class AgentWalk:
    """Hand `socket` to boot_and_run's second_uart and `stream` to its stream; `result`
    holds what came back once the boot is over (empty if the agent never served)."""

    def __init__(self, tmp: Path) -> None:
        self.socket = tmp / "agent.sock"
        self.backend = f"agent:{shlex.quote(sys.executable)} {shlex.quote(str(BRIDGE))} " \
                       f"{self.socket}"
        self.result: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._walk, daemon=True)

    def stream(self, line: str) -> None:
        if line.strip() == agent_uart.READY and not self._thread.is_alive() \
                and not self.result:
            self._thread.start()

    def join(self, timeout: float = 30) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _walk(self) -> None:
        t0 = time.monotonic()
        try:
            self.result["demos"] = self._demos()
            self.result["batch"] = batch(NORMAL_SCRIPT, "--vm", "normal", "--backend",
                                         self.backend)
            # The kernel's refusal crosses too: Debian's 6.1 has no realm series.
            self.result["realm"] = batch("state\n", "--vm", "realm", "--backend", self.backend)
        except Exception as e:  # reported by the tests, not lost in a thread
            self.result["error"] = f"{type(e).__name__}: {e}"
        finally:
            self.result["walk_s"] = round(time.monotonic() - t0, 1)
            self.result["bye"] = self._bye()

    def _demos(self) -> dict[str, Any]:
        """differential.demo, each on the real kernel through one agent connection."""
        try:
            opened = open_backend(self.backend, Profile.V9)
        except BackendUnavailable as e:
            return {"error": str(e)}
        try:
            return {name: differential.demo(None, self.backend, pmu, sve, opened=opened)
                    for name, (pmu, sve) in DEMOS.items()}
        finally:
            opened.kernel.close_connection()

    def _bye(self) -> str:
        """A UART has no end of file: tell the guest's agent the walk is over."""
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(30)
                s.connect(str(self.socket))
                s.sendall(b'{"id":0,"op":"bye"}\n')
                answer = b""
                while b"\n" not in answer:  # a UART hands it over a few bytes at a time
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
                return answer.decode(errors="replace").strip()
        except OSError as e:
            return f"no bye: {e}"
