"""What the agent costs a step, on loopback: `python benchmarks/bench_agent.py [--walks N]`.

A step is Session.run(): KVM_RUN, then the new snapshot (the register list and a read of every
listed register). It is timed on a local sim session and, interleaved with it (so both run
under the same load on a shared host), on a session whose VMM is `realmtui agent --backend
sim` behind a pipe: the run's answer brings the register list and every value with it, so a
step is one round trip. For comparison, the same remote step with a request per register, as
a protocol without the batched snapshot would need. Target (issue 11): the remote step
<= 2x the local step, median.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from backends.errors import KvmError  # noqa: E402
from backends.exits import Exit  # noqa: E402
from realmtui import agent_protocol as proto  # noqa: E402
from realmtui.context import VmKind  # noqa: E402
from realmtui.session import Session, SessionConfig, Stage  # noqa: E402

AGENT = f"agent:{shlex.quote(sys.executable)} -m realmtui agent --backend sim"


def _one_by_one(session: Session) -> None:
    """Undo the batching on this session's vCPU: a run brings back only the exit, and each
    register read is a round trip of its own."""
    vcpu = session.vcpu

    def run() -> Exit:
        return proto.exit_from_json(vcpu.conn.request("run")["exit"])

    vcpu.run = run

    def get_regs(ids: list[int]) -> list[tuple[int | None, KvmError | None]]:
        out: list[tuple[int | None, KvmError | None]] = []
        for reg_id in ids:
            try:
                out.append((vcpu.get_reg(reg_id), None))
            except KvmError as e:
                out.append((None, e))
        return out

    vcpu.get_regs = get_regs


def _walk(sessions: dict[str, Session], times: dict[str, list[float]],
          prepare: Callable[[str, Session], None]) -> None:
    """Every step of the demo, each kind of session in turn, until the guest is off."""
    for name, s in sessions.items():
        s.restart()
        prepare(name, s)
    while True:
        done = 0
        for name, s in sessions.items():
            if s.stage is Stage.OFF:
                done += 1
                continue
            if s.pending_mmio is not None and s.mmio_data is None:
                s.provide_mmio(0x5A)
            t0 = time.perf_counter()
            outcome = s.run()
            times[name].append(time.perf_counter() - t0)
            if not outcome.ok:
                done += 1
        if done == len(sessions):
            return


def bench(vm: VmKind, walks: int) -> dict[str, list[float]]:
    start = Stage.ACTIVE if vm is VmKind.REALM else Stage.INITIALISED
    sessions = {
        "local": Session(SessionConfig(vm=vm, start=start)),
        "agent": Session(SessionConfig(backend=AGENT, vm=vm, start=start)),
        "agent, a request per register": Session(SessionConfig(backend=AGENT, vm=vm,
                                                                start=start)),
    }

    def prepare(name: str, s: Session) -> None:
        if name.endswith("per register"):
            _one_by_one(s)

    times: dict[str, list[float]] = {name: [] for name in sessions}
    try:
        for _ in range(walks):
            _walk(sessions, times, prepare)
    finally:
        for s in sessions.values():
            s.close()
            close = getattr(s.kernel, "close_connection", None)
            if close is not None:
                close()
    return times


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--walks", type=int, default=10, help="demo walks per VM kind")
    args = p.parse_args()
    worst = 0.0
    for vm in (VmKind.NORMAL, VmKind.REALM):
        times = bench(vm, args.walks)
        local = statistics.median(times["local"])
        print(f"{vm} demo, {len(times['local'])} steps each (median):")
        for name, values in times.items():
            med = statistics.median(values)
            print(f"  {name:32s} {med * 1000:7.2f} ms  ({med / local:.2f}x local)")
        worst = max(worst, statistics.median(times["agent"]) / local)
    print(f"agent step / local step, worst median: {worst:.2f}x (target <= 2x): "
          f"{'met' if worst <= 2 else 'NOT met'}")
    return 0 if worst <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
