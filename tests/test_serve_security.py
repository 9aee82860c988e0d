"""`realmtui serve` (issue 12 items 1-4): the port, host and backend are checked before the
banner; a page needs the run's token and its own Origin; a session ends with its websocket."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

import aiohttp
import pytest

from tests.serve_process import Served, alive, gone_within, serving


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
def server() -> Iterator[Served]:
    with serving("--max-sessions", "1") as served:
        yield served


async def _status(url: str, origin: str | None) -> int:
    headers = {"Origin": origin} if origin else {}
    async with aiohttp.ClientSession() as s:
        try:
            async with s.ws_connect(url, headers=headers) as ws:
                await ws.close()
                return 101
        except aiohttp.WSServerHandshakeError as e:
            return e.status


def test_the_websocket_needs_the_token_and_the_pages_origin(server: Served) -> None:
    ws = server.base.replace("http", "ws")
    assert asyncio.run(_status(server.socket, "http://evil.example.com")) == 403
    assert asyncio.run(_status(f"{ws}/ws/wrong", server.base)) == 403
    assert asyncio.run(_status(server.socket, None)) == 403


def test_the_app_ends_with_its_websocket(server: Served) -> None:
    async def visit() -> None:
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(server.socket, headers={"Origin": server.base}) as ws:
                await ws.receive(timeout=20)

    asyncio.run(visit())
    pid = int(server.wait_for(r"app pid (\d+)").group(1))
    assert gone_within(pid, 10), "the app outlived its websocket"


# --- issue 12 items 2 and 3, the rest: help, --public, the cap, SIGTERM, the offline page ---


def test_serve_help_shows_the_default_port_and_the_session_cap() -> None:
    out = _serve("--help")
    assert out.returncode == 0
    text = " ".join(out.stdout.split())
    assert "--port PORT" in text and "(default: 8000)" in text
    assert "(default: 4)" in text and "--public" in text


def test_a_public_host_warns_with_the_token_and_serves_a_usable_page() -> None:
    with serving("--host", "0.0.0.0", "--public") as served:
        warning = served.wait_for(r"warning: --public.*")
        assert served.token in warning.group(0)
        # The banner names this machine, never 0.0.0.0, and the page's websocket is the
        # address the page was asked under (it was ws://0.0.0.0:PORT/ws).
        assert "0.0.0.0" not in served.banner
        port = served.base.rsplit(":", 1)[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/?token={served.token}",
                                    timeout=20) as r:
            page = r.read().decode()
        assert f'data-session-websocket-url="ws://127.0.0.1:{port}/ws/{served.token}"' in page


def test_the_page_needs_the_token_and_loads_nothing_from_the_internet() -> None:
    with serving() as served:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{served.base}/", timeout=20)
        assert refused.value.code == 403
        with urllib.request.urlopen(served.page, timeout=20) as r:
            page = r.read().decode()
        refs = re.findall(r'(?:src|href)="([^"]*)"|url\("([^"]*)"\)', page)
        refs = [a or b for a, b in refs]
        assert refs, page
        # Every reference is a file of this server (a classroom may have no internet).
        assert not [u for u in refs if "//" in u or ":" in u], refs
        assert not re.search(r"https?://(?!127\.0\.0\.1)", page)
        for ref in refs:
            with urllib.request.urlopen(f"{served.base}/{ref}", timeout=20) as r:
                assert r.status == 200 and r.read(), ref


async def _hold(served: Served, count: int) -> list[int]:
    """Open `count` websockets at once from the served page; the handshake status of each."""
    statuses: list[int] = []
    async with aiohttp.ClientSession() as s:
        sockets = []
        for _ in range(count):
            try:
                sockets.append(await s.ws_connect(served.socket, headers={"Origin": served.base}))
                statuses.append(101)
            except aiohttp.WSServerHandshakeError as e:
                statuses.append(e.status)
        for ws in sockets:
            await ws.close()
    return statuses


def test_sessions_past_the_cap_are_refused_and_a_closed_one_frees_its_place() -> None:
    with serving("--max-sessions", "2") as served:
        assert asyncio.run(_hold(served, 3)) == [101, 101, 503]
        served.wait_for(r"refused a session .*2 sessions are running \(--max-sessions\)")
        ended = [served.wait_for(rf"session {n} ended") for n in (1, 2)]
        assert all(ended)
        assert asyncio.run(_hold(served, 1)) == [101]


def test_sigterm_ends_a_served_app_and_the_server_ends_the_rest() -> None:
    with serving() as served:
        async def two_sessions() -> tuple[str | None, int]:
            async with aiohttp.ClientSession() as s:
                first = await s.ws_connect(served.socket, headers={"Origin": served.base})
                second = await s.ws_connect(served.socket, headers={"Origin": served.base})
                app = int(served.wait_for(r"session 1 from \S+: app pid (\d+)").group(1))
                await first.receive(timeout=30)  # it has started drawing
                os.kill(app, signal.SIGTERM)
                assert gone_within(app, 3.0), "the served app did not end on SIGTERM"
                # The browser's page is told: its websocket closes ("Session ended").
                while (await first.receive(timeout=10)).type not in (
                        aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    pass
                status = served.wait_for(r"session 1 ended: app exit status (-?\d+)").group(1)
                other = int(served.wait_for(r"session 2 from \S+: app pid (\d+)").group(1))
                assert alive(other), "SIGTERM to one app ended another"
                # The server's own SIGTERM ends the sessions still open, then the server.
                served.proc.send_signal(signal.SIGTERM)
                assert served.proc.wait(timeout=20) == 0
                await second.close()
                return status, other

        status, other = asyncio.run(two_sessions())
        assert status in ("143", "-15"), status
        assert not alive(other), "the other app outlived the server"
        assert not any("Traceback" in line for line in served.log), served.log


def test_a_port_in_use_and_a_host_without_kvm_are_refused_before_the_banner() -> None:
    with serving() as served:
        port = served.base.rsplit(":", 1)[1]
        taken = _serve("--port", port)
    assert taken.returncode == 3 and "cannot listen on" in taken.stderr
    assert "serving at" not in taken.stdout and "Traceback" not in taken.stderr
    if os.path.exists("/dev/kvm") and os.uname().machine == "aarch64":
        pytest.skip("this host may have arm64 KVM: the kvm refusal needs one without")
    # Without arm64 KVM every visit would get a blank page: refused up front, as the TUI does.
    kvm = _serve("--backend", "kvm", "--port", "0")
    assert kvm.returncode == 3 and kvm.stderr.startswith("realmtui: ")
    assert "serving at" not in kvm.stdout and "Traceback" not in kvm.stderr
