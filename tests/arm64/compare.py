"""Turn the guest's report (tools/arm64vm/differential.py) into a list of differences between
the simulated kernel and the real one, and hold them against the table of known differences.

Pure functions over the JSON report, so they are tested without QEMU (test_compare.py) and a
saved report can be re-checked without a boot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from realmtui.regs import RegClass, describe
from tests.arm64.known_differences import SIM_BUG_FIXED, VARIES, KnownDifference

Report = dict[str, Any]
# More distinct values than this and a merged answer reads "varies" (a counter, a timer).
MAX_SHOWN_VALUES = 3

KIND_ORDER = ("listed", "order", "get", "set", "probe", "exit", "value")


@dataclass
class Difference:
    """One way the two kernels answered differently, merged over every place it was seen."""

    kind: str  # listed, order, get, set, probe, exit, value
    cls: str  # CORE, SYSREG, FW, FW_FEAT_BMAP, DEMUX, SVE; "-" for probes and exits
    what: str  # a register name, a probe, or an exit field
    sims: list[str] = field(default_factory=list)  # distinct answers, first seen first
    reals: list[str] = field(default_factory=list)
    where: list[str] = field(default_factory=list)  # configs, demos and snapshots

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, self.what

    @property
    def sim(self) -> str:
        return _merged(self.sims)

    @property
    def real(self) -> str:
        return _merged(self.reals)

    def as_known(self) -> str:
        """The table entry that would accept this difference, for the failure message."""
        return (
            f"KnownDifference({self.kind!r}, {self.cls!r}, {self.what!r}, sim={self.sim!r}, "
            f"real={self.real!r}, reason=..., status=LEGITIMATE),"
        )

    def __str__(self) -> str:
        where = ", ".join(self.where[:4]) + (" ..." if len(self.where) > 4 else "")
        return f"[{self.kind} {self.cls}] {self.what}: sim {self.sim}, real {self.real} ({where})"


def _merged(values: list[str]) -> str:
    if len(values) > MAX_SHOWN_VALUES:
        return VARIES
    return " / ".join(values)


class _Collector:
    def __init__(self) -> None:
        self.found: dict[tuple[str, str], Difference] = {}

    def add(self, kind: str, cls: str, what: str, sim: str, real: str, where: str) -> None:
        d = self.found.setdefault((kind, what), Difference(kind, cls, what))
        if sim not in d.sims:
            d.sims.append(sim)
        if real not in d.reals:
            d.reals.append(real)
        if where not in d.where:
            d.where.append(where)

    def sorted(self) -> list[Difference]:
        return sorted(
            self.found.values(), key=lambda d: (KIND_ORDER.index(d.kind), d.cls, d.what)
        )


def reg_class(hex_id: str) -> str:
    cls = describe(int(hex_id, 16)).cls
    return "UNKNOWN" if cls is RegClass.UNKNOWN else cls.name


def reg_name(hex_id: str) -> str:
    return describe(int(hex_id, 16)).name


def differences(report: Report) -> list[Difference]:
    sim, real = report["sim"], report["real"]
    out = _Collector()
    for config in sorted(set(sim["configs"]) | set(real["configs"])):
        s, r = sim["configs"].get(config), real["configs"].get(config)
        if s is None or r is None:
            out.add("listed", "-", f"vCPU config {config}", "ran" if s else "not run",
                    "ran" if r else "not run", config)
            continue
        _compare_config(out, config, s, r)
    for probe in sorted(set(sim["probes"]) | set(real["probes"])):
        s_ans, r_ans = sim["probes"].get(probe, "not run"), real["probes"].get(probe, "not run")
        if s_ans != r_ans:
            out.add("probe", "-", probe, s_ans, r_ans, "probes")
    for demo in sorted(set(sim["demos"]) | set(real["demos"])):
        _compare_demo(out, demo, sim["demos"].get(demo, {}), real["demos"].get(demo, {}))
    return out.sorted()


def _compare_config(out: _Collector, config: str, s: Report, r: Report) -> None:
    s_ids, r_ids = s["ids"], r["ids"]
    s_set, r_set = set(s_ids), set(r_ids)
    for rid in s_ids:
        if rid not in r_set:
            out.add("listed", reg_class(rid), reg_name(rid), "listed", "not listed", config)
    for rid in r_ids:
        if rid not in s_set:
            out.add("listed", reg_class(rid), reg_name(rid), "not listed", "listed", config)
    s_common = [i for i in s_ids if i in r_set]
    r_common = [i for i in r_ids if i in s_set]
    moved = _moved(s_common, r_common)
    for rid in moved:
        out.add("order", reg_class(rid), reg_name(rid), _after(s_common, rid, moved),
                _after(r_common, rid, moved), config)
    for rid in r_common:
        s_row, r_row = s["regs"][rid], r["regs"][rid]
        s_get, r_get = _outcome(s_row["get"]), _outcome(r_row["get"])
        if s_get != r_get:
            out.add("get", reg_class(rid), reg_name(rid), s_get, r_get, config)
        s_set_ans, r_set_ans = s_row.get("set", "-"), r_row.get("set", "-")
        if s_set_ans != r_set_ans:
            out.add("set", reg_class(rid), reg_name(rid), s_set_ans, r_set_ans, config)


def _moved(a: list[str], b: list[str]) -> list[str]:
    """The registers outside a longest common subsequence of two orders of the same set:
    the fewest that must move for the lists to agree (classic O(n*m) dynamic programming)."""
    n, m = len(a), len(b)
    lcs = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            lcs[i][j] = (lcs[i + 1][j + 1] + 1 if a[i] == b[j]
                         else max(lcs[i + 1][j], lcs[i][j + 1]))
    kept, i, j = set(), 0, 0
    while i < n and j < m:
        if a[i] == b[j]:
            kept.add(a[i])
            i, j = i + 1, j + 1
        elif lcs[i + 1][j] >= lcs[i][j + 1]:
            i += 1
        else:
            j += 1
    return [r for r in b if r not in kept]


def _after(order: list[str], rid: str, moved: list[str]) -> str:
    """Where a moved register sits: after the nearest register both lists agree on."""
    for prev in reversed(order[: order.index(rid)]):
        if prev not in moved:
            return f"after {reg_name(prev)}"
    return "first"


def _outcome(get: str) -> str:
    """A GET's outcome without its value: 'ok' or the errno (values are compared per exit)."""
    return get[1:] if get.startswith("!") else "ok"


def _compare_demo(out: _Collector, demo: str, s: Report, r: Report) -> None:
    if "error" in s or "error" in r:
        out.add("exit", "-", f"the {demo} demo", s.get("error", "ran"), r.get("error", "ran"),
                demo)
        return
    s_snaps, r_snaps = s["snapshots"], r["snapshots"]
    if len(s_snaps) != len(r_snaps):
        out.add("exit", "-", "number of exits", str(len(s_snaps) - 1), str(len(r_snaps) - 1),
                demo)
    for s_snap, r_snap in zip(s_snaps, r_snaps, strict=False):
        label = s_snap["label"]
        number = label.split()[0]  # "start", "E1", ...
        s_exit, r_exit = s_snap.get("exit", {}), r_snap.get("exit", {})
        for name in sorted(set(s_exit) | set(r_exit), key=lambda k: (k != "reason", k)):
            a, b = str(s_exit.get(name, "-")), str(r_exit.get(name, "-"))
            if a != b:
                out.add("exit", "-", f"{number} {name}", a, b, demo)
        s_vals, r_vals = s_snap["values"], r_snap["values"]
        for rid in sorted(set(s_vals) & set(r_vals), key=lambda i: int(i, 16)):
            if s_vals[rid] != r_vals[rid]:
                out.add("value", reg_class(rid), reg_name(rid), s_vals[rid], r_vals[rid],
                        f"{demo}:{number}")


# --- holding them against the table ---------------------------------------------------------


@dataclass
class Verdict:
    unlisted: list[Difference]  # seen, not in the table: fix the sim or list it
    changed: list[tuple[KnownDifference, Difference]]  # listed, but the answers are not those
    regressed: list[tuple[KnownDifference, Difference]]  # a fixed sim bug is back
    stale: list[KnownDifference]  # listed as legitimate, no longer seen

    @property
    def ok(self) -> bool:
        return not (self.unlisted or self.changed or self.regressed or self.stale)

    def explain(self) -> str:
        lines: list[str] = []
        if self.unlisted:
            lines.append("differences not in tests/arm64/known_differences.py "
                         "(fix the sim, or list them with their reason):")
            lines += [f"  {d}\n    {d.as_known()}" for d in self.unlisted]
        if self.regressed:
            lines.append("sim bugs that were fixed are back:")
            lines += [f"  {d} -- was: {k.reason}" for k, d in self.regressed]
        if self.changed:
            lines.append("listed differences whose answers changed (update the table):")
            lines += [f"  {d}\n    table: sim {k.sim}, real {k.real}" for k, d in self.changed]
        if self.stale:
            lines.append("listed differences that no longer occur (drop them from the table, "
                         "or mark them fixed):")
            lines += [f"  [{k.kind}] {k.what}: sim {k.sim}, real {k.real}" for k in self.stale]
        return "\n".join(lines)


def _matches(expected: str, seen: str) -> bool:
    return expected == VARIES or expected == seen


def covers(k: KnownDifference, d: Difference) -> bool:
    """Whether table entry k is about the same thing as difference d (kind and register)."""
    if k.kind != d.kind:
        return False
    if k.matches:
        return any(fnmatchcase(d.what, pattern) for pattern in k.matches)
    return k.what == d.what


def check(found: Iterable[Difference], known: Iterable[KnownDifference]) -> Verdict:
    """Hold each difference against the table. An entry accounts for a difference when it
    covers it and its answers match (VARIES matches anything); a fixed bug is back when the
    sim gives its old answer again; otherwise a covering legitimate entry has changed, and a
    difference nothing covers is unlisted."""
    table = list(known)
    used: set[int] = set()
    verdict = Verdict([], [], [], [])
    for d in found:
        covering = [k for k in table if covers(k, d)]
        exact = [k for k in covering if _matches(k.sim, d.sim) and _matches(k.real, d.real)]
        fixed = [k for k in covering if k.status == SIM_BUG_FIXED and _matches(k.sim, d.sim)]
        legit = [k for k in covering if k.status != SIM_BUG_FIXED]
        if exact:
            used.add(id(exact[0]))
            if exact[0].status == SIM_BUG_FIXED:
                verdict.regressed.append((exact[0], d))
        elif fixed:
            verdict.regressed.append((fixed[0], d))
        elif legit:
            used.add(id(legit[0]))
            verdict.changed.append((legit[0], d))
        else:
            verdict.unlisted.append(d)
    verdict.stale = [k for k in table if k.status != SIM_BUG_FIXED and id(k) not in used]
    return verdict
