"""`realmtui serve` (issue 12 items 1-4): the port, host and backend are checked before the
banner; a page needs the run's token and its own Origin; a session ends with its websocket."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import aiohttp
import pytest


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "realmtui", "serve", *args],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("args,needle", [
    (("--port", "-1"), "not a TCP port"),
    (("--port", "70000"), "not a TCP port"),
    (("--host", ""), "--host is empty"),
    (("--host", "0.0.0.0", "--port", "0"), "needs --public"),
])
def test_bad_addresses_are_refused_before_serving(args: tuple[str, ...], needle: str) -> None:
    out = _serve(*args)
    assert out.returncode == 2 and needle in out.stderr
    assert "Traceback" not in out.stderr and "serving at" not in out.stdout


@pytest.fixture
def server() -> Iterator[tuple[str, str, subprocess.Popen[str]]]:
    proc = subprocess.Popen([sys.executable, "-m", "realmtui", "serve", "--port", "0",
                             "--max-sessions", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = re.search(r"(http://127\.0\.0\.1:(\d+))/\?token=(\S+)", line)
    assert m and m.group(2) != "0", line
    yield m.group(1), m.group(3), proc
    proc.terminate()
    proc.wait(timeout=15)


async def _status(url: str, origin: str | None) -> int:
    headers = {"Origin": origin} if origin else {}
    async with aiohttp.ClientSession() as s:
        try:
            async with s.ws_connect(url, headers=headers) as ws:
                await ws.close()
                return 101
        except aiohttp.WSServerHandshakeError as e:
            return e.status


def test_the_websocket_needs_the_token_and_the_pages_origin(server) -> None:  # noqa: ANN001
    base, token, _ = server
    ws = base.replace("http", "ws")
    assert asyncio.run(_status(f"{ws}/ws/{token}", "http://evil.example.com")) == 403
    assert asyncio.run(_status(f"{ws}/ws/wrong", base)) == 403
    assert asyncio.run(_status(f"{ws}/ws/{token}", None)) == 403


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_app_ends_with_its_websocket(server) -> None:  # noqa: ANN001
    base, token, proc = server

    async def visit() -> None:
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(f"{base.replace('http', 'ws')}/ws/{token}",
                                    headers={"Origin": base}) as ws:
                await ws.receive(timeout=20)

    asyncio.run(visit())
    assert proc.stderr is not None
    # The server's log may carry other lines (warnings under load) before the session's.
    found = None
    for _ in range(50):
        found = re.search(r"app pid (\d+)", proc.stderr.readline())
        if found:
            break
    assert found, "the server never logged the session's app pid"
    pid = int(found.group(1))
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "the app outlived its websocket"
    assert os.getpid() != pid
