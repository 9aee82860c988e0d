"""The app's own drawing of a step, piece by piece: `python benchmarks/bench_panels.py`.

Runs the steps of benchmarks/bench_tui.py (`r`, at 140x42 and 200x60, where the side panels
show beside the grid) and prints the median time of what `RealmApp._draw` does at a step:
the whole of it, and within it the register grid, the status line, the realm panel (the exit
decoded) and the detail panel (the highlighted register). Each is the median of its calls
over the run (a panel whose text did not change returns at once, and counts too), in CPU
time of the UI thread: on a shared host the wall time of a few milliseconds swings with the
other processes' load, its CPU time much less. The step's target is in bench_tui.py; drawing
is the part of it that the app's code, not Textual's compositor, spends.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_tui  # noqa: E402  (next to this file)

SIZES = [bench_tui.WIDE, bench_tui.HUGE]


def timed(owner: type, name: str, into: list[float]) -> Callable[[], None]:
    """Time every call of `owner.name` into `into`; the returned function undoes it."""
    plain = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return plain(*args, **kwargs)
        finally:
            into.append(time.thread_time() - start)

    setattr(owner, name, wrapper)
    return lambda: setattr(owner, name, plain)


def bench(steps: int, size: tuple[int, int]) -> dict[str, float]:
    from realmtui.app import RealmApp
    from widgets.detail_panel import DetailPanel
    from widgets.realm_panel import RealmPanel
    from widgets.register_grid import RegisterGrid
    from widgets.status_bar import StatusBar

    times: dict[str, list[float]] = defaultdict(list)
    undo = [timed(RealmApp, "_draw", times["_draw, the whole"]),
            timed(RegisterGrid, "show", times["register grid"]),
            timed(StatusBar, "show", times["status line"]),
            timed(RealmPanel, "show", times["realm panel"]),
            timed(DetailPanel, "show", times["detail panel"])]
    try:
        asyncio.run(bench_tui.bench_step(steps, size))
    finally:
        for u in undo:
            u()
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=27, help="steps to time at each size")
    args = p.parse_args()
    results = {size: bench(args.steps, size) for size in SIZES}
    names = list(next(iter(results.values())))
    head = ["median per step (ms)", *(f"{w}x{h}" for w, h in SIZES)]
    width = max(len(n) for n in [*names, head[0]])
    print(f"{head[0]:{width}}  " + "  ".join(f"{h:>8}" for h in head[1:]))
    for name in names:
        cells = "  ".join(f"{results[size][name] * 1000:8.2f}" for size in SIZES)
        print(f"{name:{width}}  {cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
