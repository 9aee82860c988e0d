"""Host side of the agent tier: stdin/stdout to the Unix socket behind the emulated machine's
second UART, so that `--backend agent:"python3 tools/arm64vm/uart_bridge.py SOCKET"` reaches
the agent in the guest. Ends when stdin ends or the socket closes. Stdlib only."""

from __future__ import annotations

import os
import socket
import sys
import threading


def main(path: str) -> int:
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.connect(path)
    except OSError as e:
        print(f"uart_bridge: cannot connect to {path}: {e.strerror}", file=sys.stderr)
        return 1

    def to_stdout() -> None:
        while data := sock.recv(65536):
            os.write(1, data)
        os._exit(0)  # the machine went away: so does the connection

    threading.Thread(target=to_stdout, daemon=True).start()
    while data := os.read(0, 65536):
        sock.sendall(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
