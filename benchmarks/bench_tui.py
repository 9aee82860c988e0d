"""realmtui's UI costs, measured side by side in one run: `python benchmarks/bench_tui.py`.

(a) start-up: process start to the first frame with the grid populated, for realmtui and for
    a bare Textual app showing a DataTable of the same rows (both in a pseudo-terminal,
    interleaved, the median of several runs each);
(b) a step: from the `r` key to the repainted grid, against the sim's run plus a full
    register read alone (KVM_RUN and KVM_GET_ONE_REG of every listed register), on a second
    session kept at the same exit and run right after each app step; the difference is what
    the UI adds;
(c) peak RSS of the app after a short session (a few runs, help, palette), and of the bare app.

Targets: start <= 1.3x the bare app; step overhead <= 10 ms median; RSS <= 120 MB. The step is
also timed at 140x42 and 200x60, where the side panels show beside the grid, each against its
own session alone: overhead <= 15 ms median. `--steps-only` times just the step, at 120x36,
140x42 and 200x60, one size after another in the same run (so their figures compare).
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import gc
import json
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

COLS, ROWS = 120, 36
WIDE = (140, 42)  # wide enough for the side panels beside the grid
HUGE = (200, 60)
TARGET_WIDE_STEP_MS = 15.0
MARKER = b"effective"  # a verdict badge: drawn only once the grid has its rows
TARGET_START_RATIO = 1.3
TARGET_STEP_MS = 10.0
TARGET_RSS_MB = 120.0


# --- a child in a pseudo-terminal -------------------------------------------------------------
class Child:
    def __init__(self, cmd: list[str]) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(COLS), LINES=str(ROWS))
        env.pop("TEXTUAL", None)
        # Let the warm-up runs write the bytecode (as an installed package has it), for both
        # apps: with PYTHONDONTWRITEBYTECODE set, the project's modules would be compiled from
        # source at every start, while Textual's come precompiled from site-packages.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     cwd=REPO, start_new_session=True, close_fds=True)
        os.close(slave)
        self.master = master
        self.output = b""

    def wait_for(self, marker: bytes, timeout: float = 30.0) -> float:
        """Seconds from process start until `marker` was written to the terminal."""
        deadline = time.perf_counter() + timeout
        while marker not in self.output:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"{marker!r} never appeared; got {self.output[-400:]!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.output += os.read(self.master, 1 << 16)
                except OSError:  # the child went away
                    break
        return time.perf_counter() - self.started

    def send(self, keys: bytes, settle: float = 0.25) -> None:
        os.write(self.master, keys)
        self.drain(settle)

    def drain(self, seconds: float) -> None:
        end = time.perf_counter() + seconds
        while (left := end - time.perf_counter()) > 0:
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.output += os.read(self.master, 1 << 16)
                except OSError:
                    return

    def quit(self) -> int:
        """ctrl+q, then the peak RSS in kB from the child's rusage."""
        os.write(self.master, b"\x11")
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline:
            self.drain(0.05)
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                os.close(self.master)
                return usage.ru_maxrss
        self.kill()
        raise TimeoutError("the app did not quit on ctrl+q")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # our own child's process group
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        try:
            os.close(self.master)
        except OSError:
            pass


def app_cmd() -> list[str]:
    return [sys.executable, "-m", "realmtui"]


def bare_cmd(rows_file: str) -> list[str]:
    return [sys.executable, str(REPO / "benchmarks" / "bare_app.py"), rows_file]


def grid_rows() -> list[list[str]]:
    """The rows realmtui shows at start, as plain strings, for the bare app."""
    from realmtui.session import Session, SessionConfig
    from realmtui.values import format_value

    session = Session(SessionConfig())
    try:
        return [[" ", r.info.name, format_value(r.value or 0, r.info.bits)[:18],
                 str(r.verdict.access), "—"] for r in session.current.regs]
    finally:
        session.close()


def first_frame(cmd: list[str]) -> float:
    child = Child(cmd)
    try:
        return child.wait_for(MARKER)
    finally:
        child.kill()


# --- (a) start-up -----------------------------------------------------------------------------
def bench_start(repeats: int, rows_file: str) -> tuple[list[float], list[float]]:
    first_frame(app_cmd())  # warm the page cache and the bytecode, for both
    first_frame(bare_cmd(rows_file))
    app, bare = [], []
    for i in range(repeats):
        order = [(app, app_cmd()), (bare, bare_cmd(rows_file))]
        for times, cmd in order if i % 2 == 0 else reversed(order):
            times.append(first_frame(cmd))
    return app, bare


# --- (b) a step -------------------------------------------------------------------------------
@dataclass
class Steps:
    """Per step: the app's key-to-repaint time, the session's run inside it, the time the
    app's own code takes to draw the answer; the same run and register read on a session
    alone, with no app, interleaved with the app's steps; and the CPU time (all threads of
    this process) each of the two took. On a shared host a step's wall time includes
    waiting for a core, which the CPU time leaves out."""

    total: list[float] = field(default_factory=list)
    backend: list[float] = field(default_factory=list)
    drawing: list[float] = field(default_factory=list)
    alone: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    cpu_alone: list[float] = field(default_factory=list)


async def bench_step(steps: int, size: tuple[int, int] = (COLS, ROWS)) -> Steps:
    """Time `steps` steps of the app at `size`, each followed by the same step alone."""
    from textual import events

    from realmtui.app import RealmApp, StepDone
    from realmtui.session import Session, SessionConfig, Stage

    # The collector as the launcher runs it (realmtui/cli.py): paused for start-up, then
    # resumed, tuned, by the app after its first frame.
    thresholds = gc.get_threshold()
    gc.disable()
    app = RealmApp(Session(SessionConfig()), cursor_blink=False, resume_gc=True)
    out = Steps()
    total, backend, drawing, alone = out.total, out.backend, out.drawing, out.alone
    async with app.run_test(size=size) as pilot:
        painted = asyncio.Event()
        run_time: list[float] = []
        draw_time: list[float] = []
        original_draw = app._draw

        def timed_draw(view):  # noqa: ANN001, ANN202
            t = time.perf_counter()
            original_draw(view)
            draw_time.append(time.perf_counter() - t)
            app.call_after_refresh(painted.set)  # after the frame that shows the new grid

        app._draw = timed_draw

        def wrap_run(session: Session) -> None:
            plain_run = session.run

            def run():  # noqa: ANN202
                t = time.perf_counter()
                try:
                    return plain_run()
                finally:
                    run_time.append(time.perf_counter() - t)

            session.run = run

        async def settle() -> None:
            await app.workers.wait_for_complete()
            await pilot.pause()

        async def lifecycle() -> None:
            wrap_run(app.session)
            for key in ("f", "a"):
                await pilot.press(key)
                await settle()

        await lifecycle()
        shadow = Session(SessionConfig(start=Stage.ACTIVE))
        while len(total) < steps:
            view = app.view
            if view.stage is Stage.OFF:
                app._restart()
                await settle()
                await lifecycle()
                continue
            painted.clear()
            run_time.clear()
            draw_time.clear()
            start, cpu = time.perf_counter(), time.process_time()
            if view.needs_mmio_data:  # what the prompt would send, without the prompt
                driver = app.driver
                app.submit("run", lambda d=driver: StepDone("run", *d.run(mmio_data=0x42)))
            else:
                app.post_message(events.Key("r", "r"))
            await asyncio.wait_for(painted.wait(), 10)
            total.append(time.perf_counter() - start)
            out.cpu.append(time.process_time() - cpu)
            backend.append(run_time[0])
            drawing.append(draw_time[0])
            await settle()
            # The same step on a session alone, right after (so under the same load as the
            # app's step: this host is shared and its speed drifts over a run).
            if shadow.stage is Stage.OFF:
                shadow.close()
                shadow = Session(SessionConfig(start=Stage.ACTIVE))
            if shadow.pending_mmio is not None:
                shadow.provide_mmio(0x42)
            t, cpu = time.perf_counter(), time.process_time()
            shadow.run()  # KVM_RUN, then KVM_GET_ONE_REG of every listed register
            alone.append(time.perf_counter() - t)
            out.cpu_alone.append(time.process_time() - cpu)
        shadow.close()
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    gc.enable()
    return out


# --- (c) memory -------------------------------------------------------------------------------
def bench_rss(rows_file: str) -> tuple[float, float]:
    child = Child(app_cmd())
    try:
        child.wait_for(MARKER)
        for keys in (b"f", b"a", b"r", b"r", b"r", b"r", b"r", b"0x42\r", b"r", b"r",
                     b"\x1b[B" * 10, b"?", b"\x1b", b"/sp", b"\x1b", b"\x10", b"\x1b"):
            child.send(keys)
        app_kb = child.quit()
    finally:
        child.kill()
    bare = Child(bare_cmd(rows_file))
    try:
        bare.wait_for(MARKER)
        bare.send(b"\x1b[B" * 10)
        bare_kb = bare.quit()
    finally:
        bare.kill()
    return app_kb / 1024, bare_kb / 1024


# --- report -----------------------------------------------------------------------------------
def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=9, help="start-up runs of each app (>= 5)")
    p.add_argument("--steps", type=int, default=45, help="steps to time (>= 20)")
    p.add_argument("--steps-only", "--wide-only", action="store_true",
                   help="only the step, at 120x36, 140x42 and 200x60, side by side")
    args = p.parse_args()
    if args.steps_only:
        print_rows(step_rows(args.steps, [(COLS, ROWS), WIDE, HUGE]))
        return 0

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(grid_rows(), f)
        rows_file = f.name
    try:
        app_start, bare_start = bench_start(args.repeats, rows_file)
        steps = asyncio.run(bench_step(args.steps))
        total, backend, drawing, alone = steps.total, steps.backend, steps.drawing, steps.alone
        wide = step_rows(args.steps, [WIDE, HUGE])
        app_mb, bare_mb = bench_rss(rows_file)
    finally:
        os.unlink(rows_file)

    a, b = statistics.median(app_start), statistics.median(bare_start)
    # What the UI adds: the median step, less the median of the same backend work alone.
    step_over = statistics.median(total) - statistics.median(alone)
    rows = [
        ("start to first frame (median of "
         f"{args.repeats})", f"{a:.3f} s", f"{b:.3f} s (bare DataTable app)",
         f"{a / b:.2f}x", f"<= {TARGET_START_RATIO}x", a / b <= TARGET_START_RATIO),
        (f"r to repainted grid (median of {len(total)})", ms(statistics.median(total)),
         f"{ms(statistics.median(alone))} (sim run + reg read alone)",
         f"+{ms(step_over)}", f"<= {TARGET_STEP_MS:.0f} ms", step_over * 1000 <= TARGET_STEP_MS),
        ("  the run inside the app", ms(statistics.median(backend)), "", "", "", None),
        ("  the app drawing the answer", ms(statistics.median(drawing)), "", "", "", None),
        ("  the rest (hand-off, paint, 60 fps pacing)", ms(statistics.median(
            [t - r - d for t, r, d in zip(total, backend, drawing, strict=True)])), "", "",
         "", None),
        *wide,
        ("peak RSS", f"{app_mb:.1f} MB", f"{bare_mb:.1f} MB (bare app)", "",
         f"<= {TARGET_RSS_MB:.0f} MB", app_mb <= TARGET_RSS_MB),
    ]
    print_rows(rows)
    print(f"\nstart-up runs (s): realmtui {[round(x, 3) for x in app_start]}, "
          f"bare {[round(x, 3) for x in bare_start]}")
    lo_a, lo_b = min(app_start), min(bare_start)
    print(f"fastest of each (less noise on a shared host): realmtui {lo_a:.3f} s, "
          f"bare {lo_b:.3f} s, {lo_a / lo_b:.2f}x")
    return 0


Row = tuple[str, str, str, str, str, "bool | None"]


def step_rows(steps: int, sizes: list[tuple[int, int]]) -> list[Row]:
    """The step at each size, each against the same work on a session alone (interleaved
    step by step, as for the 120x36 step). At 140x42 and 200x60 the side panels show beside
    the grid; 120x36 shows the compact exit panel, and has the 10 ms target."""
    rows: list[Row] = []
    for size in sizes:
        got = asyncio.run(bench_step(steps, size))
        over = statistics.median(got.total) - statistics.median(got.alone)
        target = TARGET_STEP_MS if size == (COLS, ROWS) else TARGET_WIDE_STEP_MS
        rows.append((f"r to repainted grid at {size[0]}x{size[1]} (median of {len(got.total)})",
                     ms(statistics.median(got.total)),
                     f"{ms(statistics.median(got.alone))} (sim run + reg read alone)",
                     f"+{ms(over)}", f"<= {target:.0f} ms", over * 1000 <= target))
        cpu_over = statistics.median(got.cpu) - statistics.median(got.cpu_alone)
        rows.append(("  the same, CPU time", ms(statistics.median(got.cpu)),
                     ms(statistics.median(got.cpu_alone)), f"+{ms(cpu_over)}", "", None))
        # The median hides the slow steps: the first exit of each VM lays the screen out
        # (the exit panel grows from "none yet" to a decoding). Each step's CPU over its own
        # run alone, at the 90th percentile.
        each = sorted(c - a for c, a in zip(got.cpu, got.cpu_alone, strict=True))
        rows.append(("  the slowest tenth of steps, CPU", "", "",
                     f"+{ms(each[int(0.9 * (len(each) - 1))])}", "", None))
    return rows


def print_rows(rows: list[Row]) -> None:
    head = ("measure", "realmtui", "baseline", "ratio/overhead", "target", "")
    widths = [max(len(str(r[i])) for r in [*rows, head]) for i in range(5)]
    line = "  ".join(f"{{:{w}}}" for w in widths) + "  {}"
    print(line.format(*head))
    for r in rows:
        mark = "" if r[5] is None else ("ok" if r[5] else "MISSED")
        print(line.format(*r[:5], mark))


if __name__ == "__main__":
    sys.exit(main())
