"""`realmtui serve`: the same app in a browser, through textual-serve.

Each browser visit starts `python -m realmtui` with the options given here, in a process of
its own; the page talks to it over a websocket. Bound to 127.0.0.1 unless --host says
otherwise: the app can drive /dev/kvm, so it is not offered to the network by default.
"""

from __future__ import annotations

import argparse
import shlex
import sys

INSTALL_HINT = (
    "textual-serve is not installed: install it with "
    "`python -m pip install textual-serve` (in the environment realmtui runs in)"
)


def app_command(args: argparse.Namespace) -> str:
    """The command each browser session runs: this Python, the same options."""
    argv = [sys.executable, "-m", "realmtui", "--backend", args.backend, "--vm", args.vm,
            "--profile", args.profile, "--start", args.start]
    if args.pmu:
        argv.append("--pmu")
    if args.sve:
        argv.append("--sve")
    return shlex.join(argv)


def url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def main(args: argparse.Namespace) -> int:
    # The server is built next to the app (realmtui/app.py): Textual stays out of this module.
    from realmtui.app import browser_server

    command = app_command(args)
    try:
        server = browser_server(command, args.host, args.port, url(args.host, args.port))
    except ImportError:
        print(f"realmtui: {INSTALL_HINT}", file=sys.stderr)
        return 3
    print(f"realmtui: serving at {url(args.host, args.port)}  (ctrl+c stops)", flush=True)
    print(f"realmtui: each visit runs: {command}", flush=True)
    try:
        server.serve()
    except OSError as e:
        print(f"realmtui: cannot listen on {args.host}:{args.port}: {e.strerror or e} — "
              "choose another with --port or --host", file=sys.stderr)
        return 3
    return 0
