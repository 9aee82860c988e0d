"""The command line: `realmtui` (the app), `realmtui batch`, `realmtui screenshot`,
`realmtui serve`, `realmtui agent`. Errors end as one clear line on stderr and a non-zero
status, never a traceback.

Only argparse and the option values are imported before `main` starts: the Session (the
kernels, the demo guests) is imported inside it, so that a Ctrl-C while Python is still
loading ends with status 130 rather than a KeyboardInterrupt traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from backends.guest_file import GuestFileError, load_guest
from realmtui import interrupts
from realmtui.backend import BACKENDS, REMOTE_PREFIXES, BackendUnavailable
from realmtui.context import Profile, VmKind
from realmtui.profiles import help_lines

if TYPE_CHECKING:
    from realmtui.record import Recorder
    from realmtui.session import Session, SessionConfig

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C

START_CHOICES = ("new", "created", "rec-created", "active")

# Set by `realmtui serve` (realmtui/web.py) in the environment of each browser session's app.
SERVER_PID_ENV = "REALMTUI_SERVER_PID"


# The VM options go before or after the subcommand (`realmtui --vm normal batch` and
# `realmtui batch --vm normal` are the same). argparse would let the subcommand's defaults
# replace what was given before it, so every option defaults to None here and the defaults
# are applied once both positions are merged (`_merge_vm_options`).
VM_DEFAULTS: dict[str, Any] = {
    "backend": "sim", "vm": VmKind.REALM.value, "profile": None,
    "start": "created", "pmu": False, "sve": False,
}
_AFTER = "after_"  # the subcommand's copy of an option: dest after_backend, ...


def backend_arg(text: str) -> str:
    if text in BACKENDS or text.startswith(REMOTE_PREFIXES):
        return text
    raise argparse.ArgumentTypeError(
        f"{text!r}: choose {', '.join(BACKENDS)}, agent:COMMAND or ssh://[user@]host[:port]")


def _vm_options(p: argparse.ArgumentParser, prefix: str = "") -> None:
    p.add_argument("--backend", dest=prefix + "backend", type=backend_arg,
                   help="sim: the built-in simulated kernel (default); kvm: /dev/kvm on arm64; "
                   "agent:COMMAND: `realmtui agent` run by COMMAND; ssh://[user@]host[:port]: "
                   "`realmtui agent` on that host, through ssh")
    p.add_argument("--vm", dest=prefix + "vm", choices=[k.value for k in VmKind],
                   help="a realm (default) or a normal VM")
    p.add_argument("--profile", dest=prefix + "profile", choices=[p.value for p in Profile],
                   help="the CCA host series (default v9 on the sim; with --backend kvm, found "
                   "on the host) -- " + help_lines())
    p.add_argument("--start", dest=prefix + "start", type=start_point, metavar="WHERE",
                   help="where a realm starts: new (realm parameters open), created "
                   "(default: before REC creation), rec-created, active; or an exit, E1-E9: "
                   "the demo run to it with its default host answers")
    p.add_argument("--pmu", dest=prefix + "pmu", action="store_true", default=None,
                   help="give the vCPU a PMU (PMU_V3)")
    p.add_argument("--sve", dest=prefix + "sve", action="store_true", default=None,
                   help="give the vCPU SVE")


def start_point(text: str) -> str:
    from realmtui.walk import exit_number

    if text in START_CHOICES or exit_number(text) is not None:
        return text
    raise argparse.ArgumentTypeError(
        f"{text!r}: choose one of {', '.join(START_CHOICES)}, or an exit such as E5")


def port_number(text: str) -> int:
    try:
        port = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{port} is not a TCP port: give 1-65535, or 0 for any free port"
        )
    return port


def session_count(text: str) -> int:
    try:
        count = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if count < 1:
        raise argparse.ArgumentTypeError("at least 1 session")
    return count


# Your own guest (backends/guest_file.py): before or after `batch`, like the VM options.
GUEST_DEFAULTS: dict[str, Any] = {"guest": None, "load_addr": None, "entry": None}


def _guest_options(p: argparse.ArgumentParser, prefix: str = "") -> None:
    p.add_argument("--guest", dest=prefix + "guest", metavar="FILE",
                   help="run your own guest: an ELF64 AArch64 executable or a raw image "
                   "(see the README's 'Your own guest')")
    p.add_argument("--load-addr", dest=prefix + "load_addr", type=_address, metavar="ADDR",
                   help="where a raw image loads (default: the start of guest RAM)")
    p.add_argument("--entry", dest=prefix + "entry", type=_address, metavar="ADDR",
                   help="the first pc (default: the ELF's entry, or a raw image's load address)")


def _address(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an address: {text!r} (decimal or 0x-hex)") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="realmtui",
        description="Inspect and edit the vCPU registers of Arm CCA realm VMs: for each register, "
        "what a KVM_SET_ONE_REG would do now.",
    )
    _vm_options(p)
    _guest_options(p)
    p.add_argument("--record", metavar="FILE",
                   help="record every step (edits, runs, exits, registers, verdicts) to FILE, "
                   "for `realmtui replay`")
    sub = p.add_subparsers(dest="command")
    b = sub.add_parser("batch", help="one command per line (a FILE or stdin), one JSON object "
                       "per line out")
    _vm_options(b, _AFTER)
    _guest_options(b, _AFTER)
    b.add_argument("file", nargs="?", metavar="FILE",
                   help="read the commands from FILE (default: standard input)")
    b.add_argument("--strict", action="store_true",
                   help="exit 1 if any command answered ok: false (a failed expect names its "
                   "line on stderr)")
    b.add_argument("--record", dest="batch_record", metavar="FILE",
                   help="record every step to FILE, for `realmtui replay`")
    b.add_argument("--format", choices=("json", "text"), default="json",
                   help="json: one object per line (default); text: a readable transcript, "
                   "command -> value / errno — rule")
    b.add_argument("--ioctl-log", metavar="FILE",
                   help="write every ioctl of the session to FILE, one JSON object a line")
    s = sub.add_parser("screenshot", help="write SVG screenshots of the app's named states")
    s.add_argument("--out", default="realmtui-screenshots",
                   help="directory for the SVGs (default: realmtui-screenshots, in the current "
                   "directory)")
    s.add_argument("--force", action="store_true", help="overwrite SVGs that already exist")
    _guest_options(s, _AFTER)
    s.add_argument("--vm", dest=_AFTER + "vm", choices=[k.value for k in VmKind],
                   help="with --guest: run it as a realm (default) or a normal VM")
    s.add_argument("--replay", metavar="FILE",
                   help="one SVG per step of this recording instead of the named states")
    r = sub.add_parser("replay", help="open the app on a recording (--record), no kernel")
    r.add_argument("file", metavar="FILE", help="a recording written by --record")
    x = sub.add_parser("exercise", help="predict what register writes do, then see (verdicts "
                       "hidden; a score at the end)")
    x.add_argument("file", metavar="FILE", nargs="?",
                   help="an exercise file, or the name of a bundled one (see --list)")
    x.add_argument("--list", action="store_true", help="list the bundled exercises")
    a = sub.add_parser("agent", help="serve the VMM on stdin/stdout for a remote realmtui "
                       "(--backend ssh:// or agent:)")
    a.add_argument("--backend", dest="agent_backend", choices=BACKENDS, default="kvm",
                   help="kvm: /dev/kvm here (default); sim: the simulated kernel (for tests)")
    a.add_argument("--profile", dest="agent_profile", choices=[p.value for p in Profile],
                   help="the series to run when the client names none (default: on kvm, the "
                   "one found on this host; on the sim, v9)")
    v = sub.add_parser(
        "serve", help="serve the app to a browser",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Serve the app to a browser: each visit runs the app in a process of its "
        "own. The page URL carries a token printed at start; only pages from the served "
        "address are accepted.",
    )
    _vm_options(v, _AFTER)
    v.add_argument("--host", default="127.0.0.1",
                   help="address to bind; one that is not loopback needs --public")
    v.add_argument("--port", type=port_number, default=8000,
                   help="TCP port (0: any free port, printed at start)")
    v.add_argument("--public", action="store_true",
                   help="allow a --host other than loopback: anyone who can reach it and has "
                   "the token can drive the app")
    v.add_argument("--max-sessions", type=session_count, default=4,
                   help="browser sessions at once; more are refused")
    v.add_argument("--replay", metavar="FILE",
                   help="serve a replay of this recording (no kernel) instead of the app")
    return p


def _merge_vm_options(args: argparse.Namespace) -> str | None:
    """Fill the VM options from either position; an error message if they disagree."""
    for name, default in (VM_DEFAULTS | GUEST_DEFAULTS).items():
        before = getattr(args, name)
        after = getattr(args, _AFTER + name, None)
        if before is not None and after is not None and before != after:
            option = "--" + name.replace("_", "-")
            flag = option + (f" {before}" if not isinstance(before, bool) else "")
            other = option + (f" {after}" if not isinstance(after, bool) else "")
            return (f"{flag} before `{args.command}` and {other} after it: give it once")
        value = after if after is not None else before
        setattr(args, name, default if value is None else value)
    return None


def config_from(args: argparse.Namespace) -> SessionConfig:
    program = None
    if getattr(args, "guest", None):
        program = load_guest(args.guest, realm=args.vm == VmKind.REALM.value,
                             load_addr=args.load_addr, entry=args.entry)
    from realmtui.session import SessionConfig, Stage

    stages = {"new": Stage.REALM_NEW, "created": Stage.REALM_CREATED,
              "rec-created": Stage.REC_CREATED, "active": Stage.ACTIVE}
    return SessionConfig(
        backend=args.backend,
        vm=VmKind(args.vm),
        # Unset for a realm on the kvm backend, here or behind an agent: the host's series is
        # detected (backends/detect.py, on the agent's host); a normal VM needs none.
        profile=(Profile(args.profile) if args.profile
                 else None if _detects(args.backend) and args.vm == VmKind.REALM.value
                 else Profile.V9),
        pmu=args.pmu,
        sve=args.sve,
        start=stages.get(args.start, Stage.REALM_CREATED),
        program=program,
    )


def _detects(backend: str) -> bool:
    return backend == "kvm" or backend.startswith(REMOTE_PREFIXES)


def _fail(message: str, status: int) -> int:
    print(f"realmtui: {message}", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options, the VM ones taken from either side of the subcommand; exit 2 (with
    argparse's usage line) on a bad or contradictory line."""
    p = parser()
    args = p.parse_args(argv)
    if args.command == "screenshot" and (
            args.guest is not None or getattr(args, _AFTER + "guest", None) is not None):
        # Your guest's states: --vm says which kind of VM; no other VM option.
        given = [f"--{n}" for n in VM_DEFAULTS if getattr(args, n) is not None and n != "vm"]
        if given:
            p.error(f"{', '.join(given)}: `screenshot --guest` takes --vm and no other VM "
                    "option")
        if args.replay:
            p.error("--guest and --replay: a recording's screenshots or your guest's, not both")
        if conflict := _merge_vm_options(args):
            p.error(conflict)
    elif args.command in ("screenshot", "agent", "replay", "exercise"):
        given = [f"--{n.replace('_', '-')}" for n in VM_DEFAULTS | GUEST_DEFAULTS
                 if getattr(args, n) is not None]
        if args.command == "screenshot" and getattr(args, _AFTER + "vm", None) is not None:
            given.append("--vm (only with --guest)")
        if given and args.command != "agent":
            p.error(f"{', '.join(given)}: `{args.command}` shows its own states (named "
                    "ones, or a recording's) and takes no VM options")
        if given:
            p.error(f"{', '.join(given)} before `agent`: the agent's VM is what its client "
                    "asks for; `agent --backend sim|kvm` names its kernel")
    elif conflict := _merge_vm_options(args):
        p.error(conflict)
    elif args.command == "serve" and args.guest is not None:
        p.error("--guest: `serve` runs the built-in guests only")
    return args


def _main(argv: Sequence[str] | None) -> int:
    args = parse_args(argv)
    from realmtui.session import SessionError

    try:
        if args.command == "batch":
            return _batch(args)
        if args.command == "screenshot" and args.replay:
            from realmtui import replay_shots

            return replay_shots.main(args.replay, args.out, force=args.force)
        if args.command == "agent":
            from realmtui import agent

            profile = Profile(args.agent_profile) if args.agent_profile else None
            return agent.main(args.agent_backend, profile)
        if args.command == "screenshot":
            from realmtui import screenshots

            guest = config_from(args) if args.guest else None
            return screenshots.main(args.out, force=args.force, guest=guest)
        if args.command == "replay":
            return _replay(args)
        if args.command == "exercise":
            return _exercise(args)
        if args.command == "serve":
            from realmtui import serve

            return serve.main(args, config_from(args))
        return _app(args)
    except BackendUnavailable as e:
        return _fail(str(e), EXIT_UNAVAILABLE)
    except SessionError as e:
        return _fail(str(e), EXIT_UNAVAILABLE)
    except GuestFileError as e:
        return _fail(str(e), EXIT_USAGE)


def _batch(args: argparse.Namespace) -> int:
    from realmtui.batch import run_batch

    out = sys.stdout
    if out is None:  # started with stdout closed (`>&-`)
        return _fail("standard output is closed: batch has nowhere to answer", EXIT_FAILURE)
    try:
        source = open(args.file, "rb") if args.file else _stdin_bytes()  # noqa: SIM115
    except OSError as e:
        return _fail(f"cannot read {args.file}: {e.strerror or e}", EXIT_FAILURE)
    log_file = None
    if args.ioctl_log:
        try:  # before any work: a log that cannot be written is said at once
            log_file = open(args.ioctl_log, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as e:
            return _fail(f"cannot write the ioctl log {args.ioctl_log}: {e.strerror or e}",
                         EXIT_FAILURE)
    try:
        session, recorder = open_session(args, "batch")
    except OSError as e:
        if log_file is not None:
            log_file.close()
        return _fail(f"cannot record to {e.filename}: {e.strerror or e}", EXIT_FAILURE)
    except BaseException:
        if log_file is not None:
            log_file.close()
        raise
    if log_file is not None:
        from realmtui.batch import stream_ioctl_log

        stream_ioctl_log(session, log_file)
    failures: list[str] = []
    try:
        status = run_batch(session, source, out, strict=args.strict, fmt=args.format,
                           failures=failures)
        for failure in failures if args.strict else ():
            print(f"realmtui: expect failed at {failure}", file=sys.stderr)
        return status
    except BrokenPipeError:
        # The reader went away (`| head -1`): stop quietly, as a filter killed by SIGPIPE
        # would, and keep the interpreter's final flush from failing again.
        _stdout_to_devnull()
        return 128 + 13
    except OSError as e:  # e.g. stdout is /dev/full
        _stdout_to_devnull()
        return _fail(f"cannot write the answers: {e.strerror or e}", EXIT_FAILURE)
    finally:
        session.close()
        if log_file is not None:
            try:
                log_file.close()
            except OSError as e:  # a full disk shows here at the latest
                print(f"realmtui: cannot write the ioctl log: {e.strerror or e}",
                      file=sys.stderr)
        if recorder is not None:
            recorder.close()
        if args.file:
            source.close()


def open_session(args: argparse.Namespace, via: str) -> tuple[Session, Recorder | None]:
    """The session the options ask for, recorded from its start when --record is given
    (OSError when the recording cannot be written)."""
    from realmtui.session import Session
    from realmtui.walk import exit_number, run_to_exit

    config = config_from(args)
    path = getattr(args, "batch_record", None) or getattr(args, "record", None)
    recorder = None
    session = Session(config)
    if path:
        from realmtui import record

        try:
            recorder = record.start(session, path, via)
        except OSError:
            session.close()
            raise
    if (number := exit_number(args.start)) is not None:
        try:
            run_to_exit(session, number)
        except BaseException:
            session.close()
            if recorder is not None:
                recorder.close()
            raise
    return session, recorder


def _stdin_bytes():  # noqa: ANN202 - a binary stream
    import io

    stdin = sys.stdin
    if stdin is None:  # started with stdin closed (`<&-`): no lines
        return io.BytesIO()
    if hasattr(stdin, "buffer"):
        return stdin.buffer
    return io.BytesIO(stdin.read().encode("utf-8"))  # a text stream given in place of stdin


def _stdout_to_devnull() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _no_terminal() -> str | None:
    for name, stream in (("standard input", sys.stdin), ("standard output", sys.stdout)):
        if stream is None or not stream.isatty():
            return (f"{name} is not a terminal: the app draws on a terminal. For scripts use "
                    "`realmtui batch` (one command per line in, JSON out); for a browser, "
                    "`realmtui serve`")
    return None


def _held_by_server() -> bool:
    """A browser session of `realmtui serve`: its terminal is the server's pipes, and it must
    end with the server and on SIGTERM whatever state the app is in."""
    served_by = os.environ.get(SERVER_PID_ENV)
    if served_by is None:
        return False
    from realmtui.lifeline import hold_to_server

    hold_to_server(int(served_by))
    return True


def _screen_problem() -> str | None:
    """Why an app cannot draw here (None: it can): a served app draws into the server's pipes,
    any other needs a terminal."""
    return None if _held_by_server() else _no_terminal()


def _replay(args: argparse.Namespace) -> int:
    from realmtui.replay import ReplayError, load

    try:
        recording = load(args.file)
    except ReplayError as e:
        return _fail(str(e), EXIT_USAGE)
    if problem := _screen_problem():
        return _fail(problem, EXIT_USAGE)
    from realmtui.app import ReplayApp

    return _run_app(ReplayApp(recording))


def _exercise(args: argparse.Namespace) -> int:
    from realmtui import exercise

    if args.list or not args.file:
        for path in exercise.bundled():
            ex = exercise.load(str(path))
            print(f"{path.stem:<20} {ex.title} ({ex.questions} questions, {ex.profile})")
        if not args.list:
            print("realmtui exercise NAME runs one; an exercise FILE is described in the README "
                  "(Exercises)")
        return 0
    try:
        ex = exercise.load(args.file)
    except exercise.ExerciseError as e:
        return _fail(str(e), EXIT_USAGE)
    if problem := _screen_problem():
        return _fail(problem, EXIT_USAGE)
    from realmtui.app import ExerciseApp

    return _run_app(ExerciseApp(ex))


def _app(args: argparse.Namespace) -> int:
    import gc

    served = _held_by_server()
    # Start-up allocates some 90 000 objects and frees few: the cyclic garbage collector
    # would walk them over and over (some 100 collections before the first frame). It is
    # paused until the app's first frame is up; the app then collects once and resumes it.
    gc.disable()
    try:
        # Build the session before the app takes the terminal, so that a missing /dev/kvm or
        # a kernel without realms is reported as a plain line, not inside a half-drawn screen.
        try:
            session, recorder = open_session(args, "app")
        except OSError as e:
            return _fail(f"cannot record to {e.filename}: {e.strerror or e}", EXIT_FAILURE)
        if not served and (problem := _no_terminal()):
            session.close()
            if recorder is not None:
                recorder.close()
            return _fail(problem, EXIT_USAGE)
        from realmtui.app import RealmApp

        try:
            return _run_app(RealmApp(session, resume_gc=True))
        finally:
            if recorder is not None:
                recorder.close()
    finally:
        gc.enable()


def _run_app(app: Any) -> int:
    """Run a Textual app. A SIGINT (`kill -INT`, or Ctrl-C before the terminal is raw) ends it
    with 130 as it does before the app starts; asyncio's own handler would cancel the app's
    task, which Textual ends quietly with 0."""

    def interrupted(signum: int, frame: object) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise KeyboardInterrupt from None
        loop.call_soon_threadsafe(lambda: app.exit(None, EXIT_INTERRUPTED))

    previous = signal.signal(signal.SIGINT, interrupted)
    if interrupts.pending():  # a Ctrl-C while loading, swallowed by Python (interrupts.py)
        signal.signal(signal.SIGINT, previous)
        return EXIT_INTERRUPTED
    try:
        app.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    return EXIT_INTERRUPTED if app.return_code == EXIT_INTERRUPTED else 0


if __name__ == "__main__":
    sys.exit(main())
