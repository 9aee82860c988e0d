"""Guest side of the agent tier: `realmtui agent` on the real /dev/kvm, spoken over the
machine's second UART (/dev/ttyAMA1; run.py's `second_uart` puts a host socket behind it).
differential.py serves it after its own report when the machine has that UART; by hand:

    python tools/arm64vm/run.py --script tools/arm64vm/agent_uart.py --second-uart /tmp/a.sock \
        --arg 600   # then: realmtui --vm normal --backend agent:"python3 \
                    #       tools/arm64vm/uart_bridge.py /tmp/a.sock"

A UART has no end of file: the agent stops at a `{"op": "bye"}` line (the tier sends one when
its walk is done), when no request came for `idle_s` seconds after the first one, or when
nobody asked anything within `wait_s`.
"""

from __future__ import annotations

import os
import select
import sys
import time
import tty

from realmtui import agent_protocol as proto
from realmtui.agent import Agent

UART = "/dev/ttyAMA1"
READY = "==RTUI-AGENT-READY=="
WAIT_S = 240.0
IDLE_S = 30.0  # a walk's requests come well within this of each other, even under TCG


def wired() -> bool:
    """The machine has a second UART (QEMU was given a second -serial)."""
    return os.path.exists(UART)


def serve_uart(idle_s: float = IDLE_S, wait_s: float = WAIT_S) -> int:
    """Serve until bye or a silence; the number of requests answered."""
    fd = os.open(UART, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)  # bytes as they are: no echo, no line editing, no CR/LF translation
    agent = Agent("kvm")
    print(READY, flush=True)
    buf, served, last, done = b"", 0, time.monotonic(), False
    try:
        while not done:
            limit = (idle_s if served else wait_s) - (time.monotonic() - last)
            if limit <= 0 or not select.select([fd], [], [], limit)[0]:
                break
            buf += os.read(fd, 65536)
            while b"\n" in buf and not done:
                line, buf = buf.split(b"\n", 1)
                if not line.strip():
                    continue
                if _op(line) == "bye":
                    done = True
                    answer = proto.encode({"id": None, "ok": True, "served": served})
                else:
                    answer = proto.encode(agent.answer(line))
                    served += 1
                while answer:
                    answer = answer[os.write(fd, answer):]
                last = time.monotonic()
    finally:
        agent.shutdown()
        os.close(fd)
    print(f"agent: served {served} requests", flush=True)
    return served


def _op(line: bytes) -> object:
    try:
        return proto.decode(line).get("op")
    except ValueError:
        return None


def main(idle_s: float = IDLE_S) -> int:
    return 0 if serve_uart(idle_s) else 1


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]) if len(sys.argv) > 1 else IDLE_S))
