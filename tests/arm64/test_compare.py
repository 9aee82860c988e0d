"""The comparison itself, on small made-up reports: what counts as a difference, and how the
table judges it (unlisted, changed, stale, regressed)."""

from __future__ import annotations

import copy

from tests.arm64.compare import check, differences
from tests.arm64.known_differences import LEGITIMATE, SIM_BUG_FIXED, VARIES, KnownDifference

X0 = "0x6030000000100000"
PC = "0x6030000000100040"
MIDR = "0x603000000013c000"
TCR2 = "0x603000000013c103"
CNTVCT = "0x603000000013df1a"


def _side(ids: list[str], values: dict[str, str], probes: dict[str, str]) -> dict:
    regs = {i: {"get": values.get(i, "0x0"), "set": "ok"} for i in ids}
    snap = {"label": "start", "stage": "initialised", "values": {i: values.get(i, "0x0")
                                                                  for i in ids}}
    exit_ = {"label": "E1 MMIO", "stage": "initialised", "values": dict(snap["values"]),
             "exit": {"reason": "MMIO", "addr": "0x9000000", "len": 8, "is_write": True}}
    return {
        "configs": {"base": {"ids": list(ids), "regs": regs}},
        "probes": dict(probes),
        "demos": {"base": {"snapshots": [snap, exit_]}},
    }


def _report() -> dict:
    ids = [X0, PC, MIDR]
    probe = {"run before init": "ENOEXEC"}
    return {
        "sim": _side(ids, {MIDR: "0x410fd490"}, probe),
        "real": _side(ids, {MIDR: "0xf0510"}, probe),
    }


MIDR_ROW = KnownDifference("value", "SYSREG", "MIDR_EL1", "0x410fd490", "0xf0510", "host CPU")


def test_equal_answers_are_no_difference() -> None:
    report = _report()
    report["real"]["demos"]["base"]["snapshots"][1]["values"][MIDR] = "0x410fd490"
    report["real"]["demos"]["base"]["snapshots"][0]["values"][MIDR] = "0x410fd490"
    assert differences(report) == []


def test_a_value_difference_is_merged_over_snapshots() -> None:
    (d,) = differences(_report())
    assert (d.kind, d.cls, d.what, d.sim, d.real) == (
        "value", "SYSREG", "MIDR_EL1", "0x410fd490", "0xf0510"
    )
    assert d.where == ["base:start", "base:E1"]


def test_an_unlisted_difference_fails_and_suggests_its_row() -> None:
    verdict = check(differences(_report()), [])
    assert not verdict.ok and [d.what for d in verdict.unlisted] == ["MIDR_EL1"]
    assert "KnownDifference('value', 'SYSREG', 'MIDR_EL1'" in verdict.explain()


def test_a_listed_difference_passes() -> None:
    assert check(differences(_report()), [MIDR_ROW]).ok


def test_a_listed_difference_with_other_answers_is_changed() -> None:
    report = _report()
    for snap in report["real"]["demos"]["base"]["snapshots"]:
        snap["values"][MIDR] = "0x410fd0c0"
    verdict = check(differences(report), [MIDR_ROW])
    assert not verdict.ok and [k.what for k, _ in verdict.changed] == ["MIDR_EL1"]


def test_a_row_that_no_longer_occurs_is_stale() -> None:
    gone = KnownDifference("listed", "SYSREG", "TCR2_EL1", "listed", "not listed", "newer")
    verdict = check(differences(_report()), [MIDR_ROW, gone])
    assert not verdict.ok and verdict.stale == [gone]
    assert "no longer occur" in verdict.explain()


def test_a_fixed_bug_that_comes_back_is_a_regression() -> None:
    fixed = KnownDifference("value", "SYSREG", "MIDR_EL1", "0x410fd490", VARIES, "was wrong",
                            SIM_BUG_FIXED)
    verdict = check(differences(_report()), [fixed])
    assert not verdict.ok and [k for k, _ in verdict.regressed] == [fixed]
    # ... and a fixed row that does not occur is not stale: it documents the fix.
    assert check([], [fixed]).ok


def test_only_one_side_listing_a_register_is_a_listed_difference() -> None:
    report = _report()
    report["sim"]["configs"]["base"]["ids"].append(TCR2)
    report["sim"]["configs"]["base"]["regs"][TCR2] = {"get": "0x0", "set": "ok"}
    listed = [d for d in differences(report) if d.kind == "listed"]
    assert [(d.what, d.sim, d.real) for d in listed] == [("TCR2_EL1", "listed", "not listed")]


def test_the_list_order_names_the_registers_that_moved() -> None:
    report = _report()
    report["real"]["configs"]["base"]["ids"] = [MIDR, X0, PC]
    (d,) = [d for d in differences(report) if d.kind == "order"]
    assert (d.what, d.sim, d.real) == ("MIDR_EL1", "after pc", "first")


def test_probe_set_and_exit_differences() -> None:
    report = _report()
    report["real"]["probes"]["run before init"] = "EINVAL"
    report["real"]["configs"]["base"]["regs"][PC]["set"] = "EPERM"
    report["real"]["demos"]["base"]["snapshots"][1]["exit"]["len"] = 4
    found = {(d.kind, d.what): (d.sim, d.real) for d in differences(report)}
    assert found[("probe", "run before init")] == ("ENOEXEC", "EINVAL")
    assert found[("set", "pc")] == ("ok", "EPERM")
    assert found[("exit", "E1 len")] == ("8", "4")


def test_a_counter_that_keeps_changing_reads_varies() -> None:
    report = _report()
    for side in ("sim", "real"):
        for config in report[side]["configs"].values():
            config["ids"].append(CNTVCT)
            config["regs"][CNTVCT] = {"get": "0x0", "set": "ok"}
    snaps = report["real"]["demos"]["base"]["snapshots"]
    extra = [copy.deepcopy(snaps[1]) for _ in range(3)]
    for n, snap in enumerate(extra, start=2):
        snap["label"] = f"E{n} MMIO"
    snaps += extra
    report["sim"]["demos"]["base"]["snapshots"] += copy.deepcopy(extra)
    for n, snap in enumerate(snaps):
        snap["values"][CNTVCT] = f"0x{1000 + n:x}"
    for snap in report["sim"]["demos"]["base"]["snapshots"]:
        snap["values"][CNTVCT] = "0x0"
    (d,) = [d for d in differences(report) if d.what == "CNTVCT_EL0"]
    assert (d.sim, d.real) == ("0x0", VARIES)
    row = KnownDifference("value", "SYSREG", "CNTVCT_EL0", "0x0", VARIES, "no clock", LEGITIMATE)
    assert check([d], [row]).ok
