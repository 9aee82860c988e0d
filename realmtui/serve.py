"""`realmtui serve`: the same app in a browser.

Each browser visit runs `python -m realmtui` with the options given here, in a process of its
own (realmtui/web.py). The app can drive /dev/kvm, so the server checks the options as the
app would before it listens, binds before it prints the address it really has, stays on
loopback unless told `--public`, and hands out a per-run token that the page needs.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import secrets
import shlex
import signal
import socket
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from realmtui.session import SessionConfig

INSTALL_HINT = (
    "textual-serve is not installed: install it with "
    "`python -m pip install textual-serve` (in the environment realmtui runs in)"
)
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
LOOPBACK_NAMES = ("localhost",)


def app_options(args: argparse.Namespace) -> list[str]:
    """The options each browser session's app runs with: the ones given here (or, with
    --replay, the replay of that recording)."""
    if getattr(args, "replay", None):
        import os

        return ["replay", os.path.abspath(args.replay)]
    # An unset profile stays unset: the app detects the kvm host's series, or takes v9.
    profile = ["--profile", args.profile] if args.profile else []
    argv = ["--backend", args.backend, "--vm", args.vm, *profile, "--start", args.start]
    if args.pmu:
        argv.append("--pmu")
    if args.sve:
        argv.append("--sve")
    return argv


def app_command(args: argparse.Namespace) -> str:
    """The command each browser session runs, as a shell would show it."""
    from realmtui.web import app_argv

    return shlex.join(app_argv(app_options(args)))


def url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _say(message: str) -> None:
    print(f"realmtui: {message}", file=sys.stderr, flush=True)


class ServeError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def bind(host: str, port: int, public: bool) -> tuple[socket.socket, bool]:
    """A listening socket, and whether it is on loopback. Refuses what it must not serve."""
    if not host.strip():
        raise ServeError("--host is empty: give an address, e.g. 127.0.0.1", EXIT_USAGE)
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as e:
        raise ServeError(f"cannot use --host {host}: {e.strerror}", EXIT_USAGE) from None
    ip = ipaddress.ip_address(address[0].split("%", 1)[0])
    loopback = ip.is_loopback
    if not loopback and not public:
        raise ServeError(
            f"--host {host} is not loopback: the app can drive this machine's /dev/kvm, so "
            "offering it to the network needs --public (anyone who can reach it and has the "
            "printed token can use it)", EXIT_USAGE)
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise ServeError(
            f"cannot listen on {url(host, port)}: {e.strerror or e} — choose another with "
            "--port (0 picks a free one) or --host", EXIT_UNAVAILABLE) from None
    sock.setblocking(False)
    return sock, loopback


def allowed_hosts(host: str, port: int, loopback: bool, wildcard: bool) -> frozenset[str] | None:
    """The Host headers a page may be asked under (see web.Access)."""
    if wildcard:
        return None
    names = {url(host, port).removeprefix("http://").lower()}
    if loopback:
        names |= {f"{n}:{port}" for n in LOOPBACK_NAMES}
        names |= {f"127.0.0.1:{port}", f"[::1]:{port}"}
    return frozenset(names)


def main(args: argparse.Namespace, config: SessionConfig) -> int:
    try:
        from realmtui.web import Access, WebServer, app_argv, static_dir

        static_dir()
    except ImportError:
        _say(INSTALL_HINT)
        return EXIT_UNAVAILABLE
    # Refuse up front what every visit would fail at (no arm64 KVM, no realm support), with
    # the app's own message and status: a browser would only see a blank page.
    if getattr(args, "replay", None):
        from realmtui.replay import ReplayError, load

        try:
            load(args.replay)
        except ReplayError as e:
            _say(str(e))
            return EXIT_USAGE
    else:
        from realmtui.session import Session

        Session(config).close()
    try:
        sock, loopback = bind(args.host, args.port, args.public)
    except ServeError as e:
        _say(str(e))
        return e.status
    bound_host, port = sock.getsockname()[:2]
    wildcard = ipaddress.ip_address(bound_host.split("%", 1)[0]).is_unspecified
    shown_host = socket.gethostname() if wildcard else bound_host
    token = secrets.token_urlsafe(16)
    access = Access(token, allowed_hosts(shown_host, port, loopback, wildcard))
    argv = app_argv(app_options(args))
    server = WebServer(argv, access, args.max_sessions, _say)
    address = f"{url(shown_host, port)}/?token={token}"
    if not loopback:
        _say(f"warning: --public: serving on {bound_host} to the network; anyone who can "
             f"reach port {port} and has the token {token} can drive the app"
             + (" and this machine's /dev/kvm" if args.backend == "kvm" else ""))
    print(f"realmtui: serving at {address}  (ctrl+c stops)", flush=True)
    print(f"realmtui: each visit runs: {shlex.join(argv)}; at most {args.max_sessions} at once"
          " (--max-sessions); add &fontsize=N to the address for bigger text", flush=True)
    asyncio.run(_serve(server, sock))
    return 0


async def _serve(server: object, sock: socket.socket) -> None:
    from aiohttp import web

    from realmtui.web import WebServer

    assert isinstance(server, WebServer)
    runner = web.AppRunner(server.application(), handle_signals=False, access_log=None,
                           shutdown_timeout=1.0)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        _say("stopping: ending the browser sessions")
        await runner.cleanup()  # runs WebServer._end_all: every app process is gone after it
