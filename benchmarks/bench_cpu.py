"""The sim's CPU speed: `python benchmarks/bench_cpu.py`.

Runs a loop of three instructions (a subtract, a load from RAM, a conditional branch) for a
fixed count on the sim's CPU (unicorn), and prints instructions per second, the median of
five runs. Before issue 10 the sim ran a hand-written A64 interpreter; the same loop measured
there is recorded in the README's Benchmarks section.
"""

from __future__ import annotations

import statistics
import time

from backends.sim.cpu import Cpu, CpuState, Region, TrapKind, buffer_address

BASE = 0x8000_0000
# loop: subs x0, x0, #1; ldr x1, [x2]; b.ne loop; smc #0
LOOP = bytes.fromhex("000400f1" "410040f9" "c1ffff54" "030000d4")
ITERATIONS = 1_000_000


class _Ram:
    def __init__(self) -> None:
        self.buf = bytearray(0x1000)
        self.buf[: len(LOOP)] = LOOP
        addr, keep = buffer_address(self.buf)
        self.region = Region(BASE, len(self.buf), addr, keep=keep)

    def regions(self) -> tuple[Region, ...]:
        return (self.region,)


def once(cpu: Cpu, ram: _Ram) -> float:
    st = CpuState(pc=BASE)
    st.x[0], st.x[2] = ITERATIONS, BASE + 0x800
    start = time.perf_counter()
    trap = cpu.run(st, ram, budget=10 * ITERATIONS)
    elapsed = time.perf_counter() - start
    assert trap.kind is TrapKind.SMC, trap.describe()
    return 3 * ITERATIONS / elapsed


def main() -> None:
    cpu, ram = Cpu(), _Ram()
    rates = [once(cpu, ram) for _ in range(5)]
    print(f"sim CPU: {statistics.median(rates):,.0f} instructions/s (median of 5)")


if __name__ == "__main__":
    main()
