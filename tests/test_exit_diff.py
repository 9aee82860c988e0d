"""Comparing exits: the registers that differ between two exits (or an exit and now), with
their verdicts at each -- `batch diff N M` and realmtui/exit_diff.py."""

from __future__ import annotations

import json
import subprocess
import sys

from realmtui import exit_diff
from realmtui.session import Session


def test_the_host_call_changes_the_gprs_and_their_verdicts() -> None:
    s = Session()
    assert s.set("x0", "0x1111").ok and s.finalize().ok and s.activate().ok
    for _ in range(3):
        s.run()  # E1, E2 MMIO; E3 the host call
    e2, e3 = exit_diff.find(s.history, "2"), exit_diff.find(s.history, "E3")
    assert e2 is not None and e3 is not None
    changed = {d.name: d for d in exit_diff.diff(e2, e3)}
    # At E3 the RMM publishes the host call struct's gprs: x1 gets the struct's value, and
    # every GPR becomes effective (the host's x0-x30 go back into the struct).
    assert "x1" in changed and changed["x1"].value_changed
    assert str(changed["x1"].before.verdict.access) == "ignored"  # type: ignore[union-attr]
    assert str(changed["x1"].after.verdict.access) == "effective"  # type: ignore[union-attr]
    assert exit_diff.diff(e3, e3) == []
    assert exit_diff.find(s.history, "now") is s.history[-1]
    assert exit_diff.find(s.history, "7") is None and exit_diff.find(s.history, "x") is None
    s.close()


def test_batch_diff() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "realmtui.cli", "batch", "--vm", "normal"],
        input="set x0 5\nrun\nrun\ndiff 1 now\ndiff 1 9\n",
        capture_output=True, text=True, timeout=120, check=True,
    )
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    d = out[3]
    assert d["ok"] and d["from"] == "E1 MMIO" and d["to"] == "E2 MMIO"
    pc = next(r for r in d["regs"] if r["name"] == "pc")
    assert pc["from"]["value"] != pc["to"]["value"]
    assert not out[4]["ok"] and "no exit '9'" in out[4]["error"]
