"""Run one Python script of ours inside the emulated arm64 machine, against its real KVM.

    python tools/arm64vm/run.py --script PATH [--arg A ...] [--timeout 300] [--out DIR]
                                [--cache DIR] [--include PATH ...] [--[no-]textual] [--quiet]
                                [--second-uart SOCKET]

Builds the base image if needed (build.sh), lays an overlay archive over it with the
project's packages (realmtui/, widgets/, backends/), guest_io.py, the script and an /init
that runs it, boots QEMU (TCG, EL2 emulated), streams the serial console and pulls out the
script's stdout and stderr, the files it sent (guest_io.send_file) and its exit status.

Exit status: 0 when the script passed; the script's own status when it failed; 124 on
timeout; 125 when the guest never ran the script to its end (or a file frame was corrupt).

From Python (tests): `from tools.arm64vm.run import boot_and_run` -> RunResult.
Stdlib only: runs with any host Python 3.11+.
"""

from __future__ import annotations

import argparse
import ast
import base64
import hashlib
import os
import queue
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

try:
    from . import newc  # imported as tools.arm64vm.run
except ImportError:
    import newc  # type: ignore[no-redef]  # run as a script: this folder is sys.path[0]

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PACKAGES = ("realmtui", "widgets", "backends")
GUEST_DIR = "rtui"  # /rtui in the guest: the packages, guest_io.py and the script
PY311 = "/usr/bin/python3.11"  # Debian's: same .pyc magic as the guest's 3.11.2

# Recommended by the reference (REPORT.md): pauth=off saves ~8 s of QARMA emulation a boot;
# virtualization=on starts the kernel at EL2 so KVM initialises; no firmware, no NIC.
QEMU_ARGS = [
    "-M", "virt,virtualization=on,gic-version=3", "-cpu", "max,pauth=off",
    "-m", "1024", "-smp", "1", "-nographic", "-no-reboot", "-nic", "none",
]
KERNEL_CMDLINE = "console=ttyAMA0 panic=-1"

# Imports that need the textual.gz layer (build.sh): the wheels in guest-wheels.txt.
TEXTUAL_MODULES = {
    "textual", "rich", "pygments", "markdown_it", "mdit_py_plugins", "linkify_it", "mdurl",
    "platformdirs", "typing_extensions",
}

EXIT_TIMEOUT = 124
EXIT_INFRA = 125

_START = re.compile(r"==RTUI-START (\S+)==")
_EXIT = re.compile(r"==RTUI-EXIT (\d+) (\S+)==")
_RESULT = re.compile(r"==RTUI-RESULT (-?\d+)==")
_FILE = re.compile(r"==RTUI-FILE (\S+) (\d+) ([0-9a-f]{64}) (b64|zlib\+b64)==")
_END = re.compile(r"==RTUI-END (\S+)==")
_B64 = re.compile(r"[A-Za-z0-9+/=]+")
_ERR = "==RTUI-ERR== "
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "realmtui-arm64vm"


@dataclass
class RunResult:
    ok: bool
    rc: int | None  # the script's exit status; None if it never finished
    reason: str  # why not ok; "" when ok
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    declared: int | None = None  # what the script passed to guest_io.result(), if it did
    console: list[str] = field(default_factory=list)  # every console line, frames included
    wall_s: float = 0.0  # QEMU start to QEMU exit
    script_start_s: float | None = None  # guest uptime when /init started the script
    script_end_s: float | None = None
    timed_out: bool = False

    @property
    def exit_code(self) -> int:
        if self.ok:
            return 0
        if self.timed_out:
            return EXIT_TIMEOUT
        if self.rc:
            return self.rc
        return EXIT_INFRA

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.console[-n:])


class _Console:
    """Parses the console line by line (README.md, "Console framing")."""

    def __init__(self) -> None:
        self.result = RunResult(ok=False, rc=None, reason="")
        self.started = False
        self.exited = False
        self.errors: list[str] = []
        self._frame: tuple[str, int, str, str] | None = None
        self._chunks: list[str] = []

    def feed(self, line: str) -> str | None:
        """Take one console line; return what to show a person (None: nothing)."""
        r = self.result
        r.console.append(line)
        if self._frame is not None:
            return self._in_frame(line)
        if m := _START.fullmatch(line):
            self.started, r.script_start_s = True, float(m[1])
        elif m := _EXIT.fullmatch(line):
            self.exited, r.rc, r.script_end_s = True, int(m[1]), float(m[2])
        elif m := _RESULT.fullmatch(line):
            r.declared = int(m[1])
        elif m := _FILE.fullmatch(line):
            self._frame, self._chunks = (m[1], int(m[2]), m[3], m[4]), []
            return None
        elif self.started and not self.exited:
            if line.startswith(_ERR):
                r.stderr.append(line[len(_ERR) :])
            else:
                r.stdout.append(line)
        return line

    def _in_frame(self, line: str) -> str | None:
        assert self._frame is not None
        name, nbytes, digest, encoding = self._frame
        if not (m := _END.fullmatch(line)):
            if _B64.fullmatch(line):
                self._chunks.append(line)
                return None
            return line  # a stray console line inside the frame: not payload
        self._frame = None
        if m[1] != name:
            self.errors.append(f"file frame {name}: closed as {m[1]}")
            return None
        try:
            data = base64.b64decode("".join(self._chunks), validate=True)
            if encoding == "zlib+b64":
                data = zlib.decompress(data)
        except (ValueError, zlib.error) as exc:
            self.errors.append(f"file {name}: undecodable ({exc})")
            return None
        if len(data) != nbytes:
            self.errors.append(f"file {name}: {len(data)} bytes received, {nbytes} sent")
            return None
        if hashlib.sha256(data).hexdigest() != digest:
            self.errors.append(f"file {name}: sha256 mismatch (corrupted on the console)")
            return None
        if not _SAFE_NAME.fullmatch(name) or name == "console.log":
            self.errors.append(f"file {name!r}: not a plain base name")
            return None
        self.result.files[name] = data
        return f"[arm64vm] received file {name} ({nbytes} bytes)"

    def finish(self, timed_out: bool, wall_s: float) -> RunResult:
        r = self.result
        r.timed_out, r.wall_s = timed_out, wall_s
        if self._frame is not None:
            self.errors.append(f"file {self._frame[0]}: frame never closed")
        if timed_out:
            r.reason = "timed out" + ("" if self.started else " before the script started")
        elif not self.started:
            r.reason = "the guest never reached the script"
        elif not self.exited:
            r.reason = "the script started but the guest stopped before it ended"
        elif r.rc != 0:
            r.reason = f"the script exited with status {r.rc}"
        elif r.declared not in (None, 0):
            r.reason = f"the script declared result {r.declared}"
        elif self.errors:
            r.reason = "; ".join(self.errors)
        r.ok = not r.reason
        return r


def ensure_built(cache: Path, log: Callable[[str], None] | None = None) -> None:
    """Run build.sh (quick when the cache is warm); raise CalledProcessError on failure."""
    env = dict(os.environ, REALMTUI_HOST_PYTHON=sys.executable)
    proc = subprocess.run(
        ["bash", str(HERE / "build.sh"), str(cache)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    if log is not None:
        for line in proc.stdout.splitlines():
            log(line)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, proc.args, proc.stdout)


def _compiler() -> str | None:
    if os.access(PY311, os.X_OK):
        return PY311
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    return None  # the guest compiles at import time instead (slower, still correct)


def build_overlay(script: Path, args: Sequence[str], include: Sequence[Path] = ()) -> bytes:
    """The overlay archive (gzip'd newc): /init and /rtui with packages, helper, script."""
    reserved = {*PACKAGES, "guest_io.py"}
    names = [script.name, *(p.name for p in include)]
    if clash := reserved.intersection(names):
        raise ValueError(f"{sorted(clash)}: names taken in /{GUEST_DIR}")
    with tempfile.TemporaryDirectory(prefix="rtui-overlay-") as tmp:
        top = Path(tmp) / GUEST_DIR
        top.mkdir()
        junk = shutil.ignore_patterns("__pycache__", "*.pyc")
        for pkg in PACKAGES:
            if (REPO / pkg).is_dir():
                shutil.copytree(REPO / pkg, top / pkg, ignore=junk)
        shutil.copy(HERE / "guest_io.py", top / "guest_io.py")
        shutil.copy(script, top / script.name)
        for extra in include:
            if extra.is_dir():
                shutil.copytree(extra, top / extra.name, ignore=junk)
            else:
                shutil.copy(extra, top / extra.name)
        if compiler := _compiler():
            # Failures (a syntax error in the repo) are left for the guest to report.
            subprocess.run(
                [compiler, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash",
                 "-s", tmp, "-p", "/", str(top)],
                stdout=subprocess.DEVNULL, check=False,
            )
        init = (HERE / "guest_init.sh").read_text()
        init = init.replace("@SCRIPT@", shlex.quote(f"/{GUEST_DIR}/{script.name}"))
        init = init.replace("@ARGS@", " ".join(shlex.quote(a) for a in args))
        writer = newc.NewcWriter()
        writer.add_file("init", init.encode(), 0o755)
        writer.add_tree(top, GUEST_DIR)
        return writer.gz(level=1)


def _imported(source: Path, package: str) -> set[str]:
    """Absolute names of every module `source` imports, anywhere in it (lazy ones too)."""
    try:
        tree = ast.parse(source.read_bytes(), str(source))
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def needs_textual(script: Path, roots: Sequence[Path]) -> bool:
    """Whether the script, or any module of ours it imports (transitively), imports Textual.

    Static and conservative: an import anywhere in a file counts, even in a function never
    called; an import by string (importlib) is not seen -- pass textual=True then.
    """
    def locate(name: str) -> tuple[Path, str] | None:
        rel = Path(*name.split("."))
        for root in roots:
            if (root / rel / "__init__.py").is_file():
                return root / rel / "__init__.py", name
            if (root / rel).with_suffix(".py").is_file():
                return (root / rel).with_suffix(".py"), name.rpartition(".")[0]
        return None

    todo, seen = [(script, "")], set()
    while todo:
        path, package = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imported(path, package):
            if name.split(".")[0] in TEXTUAL_MODULES:
                return True
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__, a/b/__init__
                if hit := locate(".".join(parts[:i])):
                    todo.append(hit)
    return False


def _reader(stream, lines: queue.Queue) -> None:  # type: ignore[no-untyped-def]
    for raw in iter(stream.readline, b""):
        lines.put(raw.decode("utf-8", "replace").rstrip("\r\n").replace("\r", ""))
    lines.put(None)


def boot_and_run(
    script: str | Path,
    args: Sequence[str] = (),
    *,
    timeout: float = 300.0,
    out_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    include: Sequence[str | Path] = (),
    stream: Callable[[str], None] | None = None,
    build: bool = True,
    textual: bool | None = None,
    second_uart: str | Path | None = None,
) -> RunResult:
    """Boot the emulated machine once, run `script` with `args`, and collect its results.

    `timeout` bounds QEMU (boot + script), not the build. `stream` gets each console line
    as it arrives (file payloads summarised). With `out_dir`, the sent files and console.log
    are written there. `textual`: whether to add the Textual layer; None decides from the
    script's imports (needs_textual). `include`: more files or folders to put in /rtui.
    `second_uart`: a Unix socket path; QEMU listens there and carries the machine's second
    PL011 (QEMU >= 10's virt board; the guest's /dev/ttyAMA1), e.g. for `realmtui agent`.
    """
    script = Path(script).resolve()
    extra = [Path(p).resolve() for p in include]
    cache = Path(cache_dir) if cache_dir else default_cache()
    if build:
        ensure_built(cache, stream)
    if textual is None:
        textual = needs_textual(script, [script.parent, REPO, *(p.parent for p in extra)])
    layers = ["core.gz", "textual.gz"] if textual else ["core.gz"]
    for need in ("vmlinuz", *layers):
        if not (cache / need).is_file():
            raise FileNotFoundError(f"{cache / need}: run tools/arm64vm/build.sh first")
    overlay = build_overlay(script, list(args), extra)
    console = _Console()
    if stream is not None:
        stream(f"[arm64vm] layers: {' + '.join(layers)} + overlay ({len(overlay)} B)")
    with tempfile.TemporaryDirectory(prefix="rtui-boot-") as tmp:
        initrd = Path(tmp) / "initrd.gz"
        # Concatenated archives: the kernel unpacks each in turn, later entries win
        # (init/initramfs.c, unpack_to_rootfs).
        with open(initrd, "wb") as f:
            for layer in layers:
                f.write((cache / layer).read_bytes())
            f.write(overlay)
        cmd = ["qemu-system-aarch64", *QEMU_ARGS, "-kernel", str(cache / "vmlinuz"),
               "-initrd", str(initrd), "-append", KERNEL_CMDLINE]
        if second_uart is not None:
            # The first -serial keeps the console on stdio; the second is the socket.
            cmd += ["-serial", "mon:stdio", "-serial",
                    f"unix:{second_uart},server=on,wait=off"]
        start = time.monotonic()
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
        timed_out = False
        try:
            while True:
                left = start + timeout - time.monotonic()
                try:
                    line = lines.get(timeout=max(left, 0))
                except queue.Empty:
                    timed_out = True
                    break
                if line is None:
                    break
                shown = console.feed(line)
                if stream is not None and shown is not None:
                    stream(shown)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()
        result = console.finish(timed_out, time.monotonic() - start)
        if not timed_out and proc.returncode != 0 and result.ok:
            result.ok, result.reason = False, f"qemu exited with status {proc.returncode}"
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for name, data in result.files.items():
            (out / name).write_bytes(data)
        (out / "console.log").write_text("\n".join(result.console) + "\n")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--script", required=True, type=Path, help="the Python script to run")
    ap.add_argument("--arg", action="append", default=[], help="an argument for the script")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds for the boot+run")
    ap.add_argument("--out", type=Path, help="where to write sent files and console.log")
    ap.add_argument("--cache", type=Path, help=f"image cache (default {default_cache()})")
    ap.add_argument("--include", action="append", default=[], type=Path,
                    help="another file or folder to put beside the script in /rtui")
    ap.add_argument("--textual", action=argparse.BooleanOptionalAction, default=None,
                    help="add the Textual layer (default: when the script imports textual)")
    ap.add_argument("--quiet", action="store_true", help="do not stream the console")
    ap.add_argument("--second-uart", type=Path,
                    help="a Unix socket for the machine's second UART (/dev/ttyAMA1)")
    ns = ap.parse_args(argv)

    def show(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        r = boot_and_run(ns.script, ns.arg, timeout=ns.timeout, out_dir=ns.out,
                         cache_dir=ns.cache, include=ns.include, textual=ns.textual,
                         stream=None if ns.quiet else show, second_uart=ns.second_uart)
    except (subprocess.CalledProcessError, OSError, ValueError) as exc:
        print(f"arm64vm: cannot run: {exc}", file=sys.stderr)
        return EXIT_INFRA
    span = (f", script {r.script_end_s - r.script_start_s:.2f} s"
            if r.script_start_s is not None and r.script_end_s is not None else "")
    files = ", ".join(f"{n} ({len(d)} B)" for n, d in r.files.items()) or "none"
    print(f"arm64vm: {'PASS' if r.ok else 'FAIL'} rc={r.rc} wall={r.wall_s:.2f} s"
          f" (script started at guest uptime {r.script_start_s} s{span}); files: {files}")
    if not r.ok:
        print(f"arm64vm: {r.reason}; last console lines:\n{r.tail()}", file=sys.stderr)
    return r.exit_code


if __name__ == "__main__":
    sys.exit(main())
