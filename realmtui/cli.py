"""The command line: `realmtui` (the app), `realmtui batch`, `realmtui screenshot`,
`realmtui serve`. Errors end as one clear line on stderr and a non-zero status, never a
traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from realmtui.backend import BACKENDS, BackendUnavailable
from realmtui.context import Profile, VmKind
from realmtui.session import SessionConfig, SessionError, Stage

EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3

START_STAGES = {
    "new": Stage.REALM_NEW,
    "created": Stage.REALM_CREATED,
    "rec-created": Stage.REC_CREATED,
    "active": Stage.ACTIVE,
}


def backend_arg(text: str) -> str:
    if text in BACKENDS or text.startswith(("agent:", "ssh://")):
        return text
    raise argparse.ArgumentTypeError(
        f"{text!r}: choose {', '.join(BACKENDS)}, agent:COMMAND or ssh://[user@]host[:port]")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", type=backend_arg, default="sim",
                   help="sim: the built-in simulated kernel (default); kvm: /dev/kvm on arm64; "
                   "agent:COMMAND: `realmtui agent` run by COMMAND; ssh://[user@]host[:port]: "
                   "`realmtui agent` on that host, through ssh")
    p.add_argument("--vm", choices=[k.value for k in VmKind], default="realm",
                   help="a realm (default) or a normal VM")
    p.add_argument("--profile", choices=[p.value for p in Profile], default="v9",
                   help="v9: the whole v9 CCA series (default); seed: [PATCH v9 22/43] alone")
    p.add_argument("--start", choices=list(START_STAGES), default="created",
                   help="where a realm starts: new (realm parameters open), created "
                   "(default: before REC creation), rec-created, active")
    p.add_argument("--pmu", action="store_true", help="give the vCPU a PMU (PMU_V3)")
    p.add_argument("--sve", action="store_true", help="give the vCPU SVE")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="realmtui",
        description="Inspect and edit the vCPU registers of Arm CCA realm VMs: for each register, "
        "what a KVM_SET_ONE_REG would do now.",
    )
    _common(p)
    sub = p.add_subparsers(dest="command")
    b = sub.add_parser("batch", help="one command per line on stdin, one JSON object per line out")
    _common(b)
    b.add_argument("--strict", action="store_true",
                   help="exit 1 if any command answered ok: false")
    s = sub.add_parser("screenshot", help="write SVG screenshots of the app's named states")
    s.add_argument("--out", default="screenshots", help="directory for the SVGs")
    a = sub.add_parser("agent", help="serve the VMM on stdin/stdout for a remote realmtui "
                       "(--backend ssh:// or agent:)")
    a.add_argument("--backend", choices=BACKENDS, default="kvm",
                   help="kvm: /dev/kvm here (default); sim: the simulated kernel (for tests)")
    v = sub.add_parser("serve", help="serve the app to a browser (textual-serve)")
    _common(v)
    v.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    v.add_argument("--port", type=int, default=8000)
    return p


def config_from(args: argparse.Namespace) -> SessionConfig:
    return SessionConfig(
        backend=args.backend,
        vm=VmKind(args.vm),
        profile=Profile(args.profile),
        pmu=args.pmu,
        sve=args.sve,
        start=START_STAGES[args.start],
    )


def _fail(message: str, status: int) -> int:
    print(f"realmtui: {message}", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "batch":
            return _batch(args)
        if args.command == "agent":
            from realmtui import agent

            return agent.main(args.backend)
        if args.command == "screenshot":
            from realmtui import screenshots

            return screenshots.main(args.out)
        if args.command == "serve":
            from realmtui import serve

            return serve.main(args)
        return _app(args)
    except BackendUnavailable as e:
        return _fail(str(e), EXIT_UNAVAILABLE)
    except SessionError as e:
        return _fail(str(e), EXIT_UNAVAILABLE)
    except KeyboardInterrupt:
        return 130


def _batch(args: argparse.Namespace) -> int:
    from realmtui.batch import run_batch
    from realmtui.session import Session

    session = Session(config_from(args))
    try:
        return run_batch(session, sys.stdin, sys.stdout, strict=args.strict)
    finally:
        session.close()


def _app(args: argparse.Namespace) -> int:
    import gc

    from realmtui.session import Session

    # Start-up allocates some 90 000 objects and frees few: the cyclic garbage collector
    # would walk them over and over (some 100 collections before the first frame). It is
    # paused until the app's first frame is up; the app then collects once and resumes it.
    gc.disable()
    try:
        # Build the session before the app takes the terminal, so that a missing /dev/kvm or
        # a kernel without realms is reported as a plain line, not inside a half-drawn screen.
        session = Session(config_from(args))
        from realmtui.app import RealmApp

        RealmApp(session, resume_gc=True).run()
    finally:
        gc.enable()
    return 0


if __name__ == "__main__":
    sys.exit(main())
