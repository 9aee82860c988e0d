"""Guest side of the agent tier: `realmtui agent` on the real /dev/kvm, spoken over the
machine's second UART (/dev/ttyAMA1; run.py's `second_uart` puts a host socket behind it).

A UART has no end of file: the agent stops when no request came for IDLE_S seconds (or the
script's first argument: by hand, `--arg 600`) after the first one, or when nobody asked
anything within WAIT_S.
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
WAIT_S = 240.0
IDLE_S = 6.0  # a walk's requests come milliseconds apart


def main(idle_s: float = IDLE_S) -> int:
    fd = os.open(UART, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)  # bytes as they are: no echo, no line editing, no CR/LF translation
    agent = Agent("kvm")
    print("==RTUI-AGENT-READY==", flush=True)
    buf, served, last = b"", 0, time.monotonic()
    try:
        while True:
            limit = (idle_s if served else WAIT_S) - (time.monotonic() - last)
            if limit <= 0 or not select.select([fd], [], [], limit)[0]:
                break
            buf += os.read(fd, 65536)
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    answer = proto.encode(agent.answer(line))
                    while answer:
                        answer = answer[os.write(fd, answer):]
                    served += 1
                last = time.monotonic()
    finally:
        agent.shutdown()
    print(f"agent: served {served} requests", flush=True)
    return 0 if served else 1


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]) if len(sys.argv) > 1 else IDLE_S))
