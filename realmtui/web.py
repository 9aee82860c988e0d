"""The web server of `realmtui serve`: the page, and one app process per browser session.

The browser side is textual-serve's client (its textual.js, xterm.js and fonts, served from
the installed package); the server side is here, because a session must not outlive its
browser and the app must not be open to every page the user visits:

* the page and the websocket both need the run's token (`/?token=...`, `/ws/<token>`);
* the websocket's Origin must be the page's own (the Host it was asked for), and on a
  loopback bind that Host must be a loopback name (a DNS-rebound page is refused);
* at most `max_sessions` app processes run at once;
* when the websocket goes away the app is asked to quit, then sent SIGTERM, then SIGKILL;
  the app itself ends with the server (realmtui/lifeline.py).

The app speaks Textual's web-driver protocol on its stdin/stdout: a `__GANGLION__` line, then
packets of one type byte (D data, M JSON meta, P packed), a 4-byte big-endian length and the
payload.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

QUIT_GRACE_S = 2.0  # after the quit message, before SIGTERM
TERM_GRACE_S = 2.0  # after SIGTERM, before SIGKILL
HEARTBEAT_S = 10.0  # a browser that vanished without closing is noticed within 2x this
MAX_BROWSER_MESSAGE = 1 << 20  # keystrokes and resizes: far below this
TERMINAL_LIMITS = (1, 1000)  # cells: a page asking for a billion columns gets 1000
PRELUDE = b"__GANGLION__\n"
DRIVER = "textual.drivers.web_driver:WebDriver"
SERVER_PID_ENV = "REALMTUI_SERVER_PID"  # realmtui/cli.py reads it in the app
FONT = "RobotoMono-VariableFont_wght.ttf"  # in textual-serve's static/fonts

Log = Callable[[str], None]


def static_dir() -> Path:
    """textual-serve's browser client; ImportError when textual-serve is not installed.
    Found, not imported: this server only hands out its files (Textual runs in each visit's
    app process)."""
    spec = importlib.util.find_spec("textual_serve")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("textual-serve is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


@dataclass(frozen=True)
class Access:
    token: str
    # Acceptable Host headers, lower-case "host:port"; None: any (a public wildcard bind,
    # whose names are not known; the token guards it).
    hosts: frozenset[str] | None

    def host_ok(self, request: web.Request) -> bool:
        host = _with_port(request.host.lower())
        return self.hosts is None or host in self.hosts

    def token_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def origin_ok(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        return origin is not None and _with_port(origin.lower()) == _with_port(
            "http://" + request.host.lower())


def _with_port(host: str) -> str:
    """'127.0.0.1' -> '127.0.0.1:80' (a browser leaves the default port out of Host/Origin)."""
    tail = host.rsplit("]", 1)[-1] if "[" in host else host.split("//", 1)[-1]
    return host if ":" in tail else host + ":80"


class WebServer:
    def __init__(self, argv: Sequence[str], access: Access, max_sessions: int,
                 log: Log) -> None:
        self.argv = list(argv)
        self.access = access
        self.max_sessions = max_sessions
        self.log = log
        self.sessions: set[BrowserSession] = set()
        self._started = 0

    def application(self) -> web.Application:
        app = web.Application()
        app.add_routes([
            web.get("/", self.index),
            web.get("/ws/{token}", self.websocket),
            web.static("/static", static_dir()),
        ])
        app.on_shutdown.append(self._end_all)
        return app

    async def index(self, request: web.Request) -> web.Response:
        if not self.access.host_ok(request):
            raise web.HTTPMisdirectedRequest(text="realmtui: not served under this name\n")
        if not self.access.token_ok(request.query.get("token")):
            raise web.HTTPForbidden(
                text="realmtui: this page needs the token in the address printed by "
                "`realmtui serve` (http://HOST:PORT/?token=...)\n")
        size = _clamp(request.query.get("fontsize"), 16, (6, 96))
        socket_url = f"ws://{request.host}/ws/{self.access.token}"
        return web.Response(text=page(socket_url, size), content_type="text/html",
                            headers={"Referrer-Policy": "no-referrer",
                                     "Cache-Control": "no-store"})

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        peer = request.remote or "?"
        if not self.access.host_ok(request):
            return self._refuse(peer, f"Host {request.host!r} is not this server's name", 421)
        if not self.access.token_ok(request.match_info.get("token")):
            return self._refuse(peer, "wrong token", 403)
        if not self.access.origin_ok(request):
            origin = request.headers.get("Origin", "none")
            return self._refuse(peer, f"Origin {origin} is not this server's page", 403)
        if len(self.sessions) >= self.max_sessions:
            return self._refuse(peer, f"{self.max_sessions} sessions are running "
                                "(--max-sessions)", 503)
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_BROWSER_MESSAGE)
        await ws.prepare(request)
        self._started += 1
        width = _clamp(request.query.get("width"), 80, TERMINAL_LIMITS)
        height = _clamp(request.query.get("height"), 24, TERMINAL_LIMITS)
        session = BrowserSession(self._started, ws, self.argv, self.log)
        self.sessions.add(session)
        try:
            await session.run(width, height, peer)
        finally:
            self.sessions.discard(session)
        return ws

    def _refuse(self, peer: str, why: str, status: int) -> web.Response:
        self.log(f"refused a session from {peer}: {why}")
        return web.Response(status=status, text=f"realmtui: {why}\n")

    async def _end_all(self, _app: web.Application) -> None:
        await asyncio.gather(*(s.end() for s in list(self.sessions)))


class BrowserSession:
    """One websocket and the app process behind it."""

    def __init__(self, number: int, ws: web.WebSocketResponse, argv: list[str],
                 log: Log) -> None:
        self.number, self.ws, self.argv, self.log = number, ws, argv, log
        self.process: asyncio.subprocess.Process | None = None
        self.sent = 0  # bytes of screen output passed to the browser
        self._ending: asyncio.Future[None] | None = None

    async def run(self, width: int, height: int, peer: str) -> None:
        env = os.environ | {
            "TEXTUAL_DRIVER": DRIVER, "TEXTUAL_FPS": "60", "TEXTUAL_COLOR_SYSTEM": "truecolor",
            "COLUMNS": str(width), "ROWS": str(height), SERVER_PID_ENV: str(os.getpid()),
        }
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env=env)
        self.log(f"session {self.number} from {peer}: app pid {self.process.pid}")
        output = asyncio.create_task(self._app_to_browser())
        try:
            await self._browser_to_app()
        finally:
            await self.end()
            output.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await output
            self.log(f"session {self.number} ended: app exit status "
                     f"{self.process.returncode}, {self.sent} bytes sent")

    async def end(self) -> None:
        """Quit, then SIGTERM, then SIGKILL: the process is gone when this returns (whoever
        calls it, the websocket's handler or the server's shutdown, and however often)."""
        if self._ending is None:
            self._ending = asyncio.ensure_future(self._end())
        await asyncio.shield(self._ending)

    async def _end(self) -> None:
        process = self.process
        if process is not None and process.returncode is None:
            await self._send(b"M", json.dumps({"type": "quit"}).encode())
            for grace, stop in ((QUIT_GRACE_S, process.terminate),
                                (TERM_GRACE_S, process.kill)):
                try:
                    await asyncio.wait_for(process.wait(), grace)
                    break
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        stop()
            await process.wait()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.close()

    async def _send(self, kind: bytes, payload: bytes) -> bool:
        stdin = self.process.stdin if self.process else None
        if stdin is None or stdin.is_closing():
            return False
        try:
            stdin.write(kind + len(payload).to_bytes(4, "big") + payload)
            await stdin.drain()
        except (ConnectionError, RuntimeError):
            return False
        return True

    async def _browser_to_app(self) -> None:
        async for message in self.ws:
            if message.type is not WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
            except ValueError:
                continue
            if not isinstance(envelope, list) or not envelope:
                continue
            kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
            if kind == "stdin" and isinstance(data, str):
                ok = await self._send(b"D", data.encode("utf-8", "replace"))
            elif kind == "resize" and isinstance(data, dict):
                ok = await self._meta({
                    "type": "resize",
                    "width": _clamp(data.get("width"), 80, TERMINAL_LIMITS),
                    "height": _clamp(data.get("height"), 24, TERMINAL_LIMITS),
                })
            elif kind in ("focus", "blur"):
                ok = await self._meta({"type": kind})
            elif kind == "ping":
                await self.ws.send_json(["pong", data])
                ok = True
            else:
                ok = True
            if not ok:
                break  # the app has gone

    async def _meta(self, meta: dict[str, Any]) -> bool:
        return await self._send(b"M", json.dumps(meta).encode())

    async def _app_to_browser(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        out = self.process.stdout
        try:
            for _ in range(20):  # anything before the prelude is not the protocol
                line = await out.readline()
                if not line or line == PRELUDE:
                    break
            while True:
                head = await out.readexactly(5)
                payload = await out.readexactly(int.from_bytes(head[1:], "big"))
                if head[:1] == b"D":
                    await self.ws.send_bytes(payload)
                    self.sent += len(payload)
                elif head[:1] == b"M":
                    meta = json.loads(payload)
                    if meta.get("type") == "exit":
                        break
                    if meta.get("type") == "open_url":
                        await self.ws.send_json(["open_url", {"url": meta.get("url"),
                                                             "new_tab": meta.get("new_tab")}])
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        # The app ended (or broke the protocol): the page shows "Session ended".
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.close()


def _clamp(text: object, default: int, limits: tuple[int, int]) -> int:
    try:
        value = int(str(text), 10) if text is not None else default
    except ValueError:
        return default
    return min(max(value, limits[0]), limits[1])


def app_argv(options: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "realmtui", *options]


def page(socket_url: str, font_size: int) -> str:
    """The page: textual-serve's client on local files only -- no web font or script from
    the internet, so it works in a classroom without one."""
    url = html.escape(socket_url, quote=True)
    return f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>realmtui</title>
<link rel="preload" href="static/fonts/{FONT}" as="font" type="font/ttf" crossorigin>
<link rel="stylesheet" href="static/css/xterm.css">
<script src="static/js/textual.js"></script>
<style>
@font-face {{ font-family: "Roboto Mono"; src: url("static/fonts/{FONT}") format("truetype"); }}
html, body {{ margin: 0; height: 100%; background: #0c181f; color: #e8e8e8;
  font-family: "Roboto Mono", monospace; }}
.textual-terminal {{ width: 100vw; height: 100vh; }}
.closed {{ display: none; position: absolute; inset: 0; align-items: center;
  justify-content: center; flex-direction: column; background: #0c181fe0; z-index: 10; }}
body.-closed .closed {{ display: flex; }}
.closed button {{ font: inherit; padding: 12px 28px; margin: 16px; border: none;
  background: #5e0ba7; color: #fff; cursor: pointer; }}
#start {{ display: none; }}
</style>
</head>
<body>
<div class="closed"><div>Session ended.</div>
<button type="button" onclick="window.location.reload()">Restart</button></div>
<button type="button" id="start"></button>
<div id="terminal" class="textual-terminal" data-session-websocket-url="{url}"
  data-font-size="{font_size}"></div>
</body>
</html>
"""
