"""The real kernel's answers as the tier last saw them (tests/arm64/data/), so the sim can be
held against them on every machine, QEMU or not."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
REAL = DATA / "real-linux-6.1.json.gz"  # host facts and real-side observations
SIM_BEFORE_FIXES = DATA / "sim-before-fixes.json.gz"  # the sim's answers before the fixes


def load(path: Path) -> dict[str, Any]:
    return json.loads(gzip.decompress(path.read_bytes()))


def save_real(report: dict[str, Any], path: Path = REAL) -> None:
    """Keep the real side of a tier report (deterministic bytes: no gzip timestamp)."""
    data = json.dumps({"host": report["host"], "real": report["real"]},
                      separators=(",", ":"), sort_keys=True).encode()
    path.write_bytes(gzip.compress(data, 9, mtime=0))


def with_sim(real: dict[str, Any]) -> dict[str, Any]:
    """A full report: the saved real side, and the sim side computed now, on the SimHost the
    guest script would build from those host facts."""
    from backends.sim import SimKernel
    from tools.arm64vm.differential import observe, sim_host_for

    report = dict(real)
    report["sim"] = observe(SimKernel(sim_host_for(report)), "sim", report["host"]["caps"])
    return report
