"""What recording costs a step (`--record`): the time the Recorder adds to each step, against
the step itself, on the realm demo (76 registers) and the normal demo (~650 registers).

    .venv/bin/python benchmarks/bench_record.py [--steps N]

For each VM: N edits (set x1, the shortest step) are timed on a session without a recorder
and on one with a recorder writing to a real file (flushed per step, as the app does), side
by side, the two sessions alternating so both see the same load; the figure is the median
difference. The recorder's own time (Recorder.step alone) is timed too. Target: < 1 ms a
step.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from realmtui import record  # noqa: E402
from realmtui.context import VmKind  # noqa: E402
from realmtui.session import Session, SessionConfig  # noqa: E402


def measure(vm: VmKind, steps: int, directory: Path) -> dict[str, float]:
    config = SessionConfig(vm=vm)
    plain = Session(config)
    recorded = Session(config)
    recorder = record.start(recorded, str(directory / f"{vm}.jsonl"), "batch")
    bare, with_rec, alone = [], [], []
    for i in range(steps):
        for session, into in ((plain, bare), (recorded, with_rec)):
            t = time.perf_counter()
            session.set("x1", i)
            into.append(time.perf_counter() - t)
        t = time.perf_counter()
        recorder.step("bench", None)
        alone.append(time.perf_counter() - t)
    regs = len(recorded.current.regs)
    recorder.close()
    plain.close()
    recorded.close()
    ms = 1000.0
    return {
        "registers": regs,
        "step without recording (ms)": statistics.median(bare) * ms,
        "step with recording (ms)": statistics.median(with_rec) * ms,
        "overhead (ms)": (statistics.median(with_rec) - statistics.median(bare)) * ms,
        "Recorder.step alone (ms)": statistics.median(alone) * ms,
        "bytes per step": (directory / f"{vm}.jsonl").stat().st_size / (2 * steps + 2),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=200)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for vm in (VmKind.REALM, VmKind.NORMAL):
            print(f"{vm} VM, {args.steps} steps:")
            for k, v in measure(vm, args.steps, Path(tmp)).items():
                print(f"  {k:<30} {v:.3f}" if isinstance(v, float) else f"  {k:<30} {v}")


if __name__ == "__main__":
    main()
