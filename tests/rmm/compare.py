"""Two record streams, TF-RMM's and the sim's, compared record by record and field by field.

A difference names the realm, the record (an RMI command, an entry or an exit, by number) and
the field, with both values. `check` holds the differences against the table of allowed ones
(known_differences.py): the tier fails on a difference the table does not allow and on an
allowed one that no longer occurs, as tests/arm64 does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

EXIT_FIELDS = ("ret", "reason", "esr", "far", "hpfar", "ripas_base", "ripas_top", "ripas_value",
               "imm", "cntv_ctl", "cntp_ctl")


def normalize(records: Iterable[dict]) -> list[dict]:
    """rmmhost prints numbers as hex strings (JSON has no 64-bit integers); make them ints."""

    def num(v: object) -> object:
        if isinstance(v, str) and v.startswith("0x"):
            return int(v, 16)
        if isinstance(v, list):
            return [num(x) for x in v]
        return v

    return [{k: num(v) for k, v in r.items()} for r in records]


RMI_INCOMPLETE = 13  # RMI 2.0: a stateful operation wants another step (OP_MEM_DONATE, ...)

# RMI 2.0 (TF-RMM v0.9.0) renamed RMI_DATA_CREATE (same function id and arguments).
RMI_2_0_RENAMES = {"RTT_DATA_MAP_INIT": "DATA_CREATE"}


# Granule handouts: how many a host delegates depends on the RMM (REC_AUX_COUNT, RMI 2.0's
# donation requests), so they are checked to succeed, not lined up.
PLUMBING = frozenset({"GRANULE_DELEGATE", "GRANULE_RANGE_DELEGATE", "RMM_ACTIVATE",
                      "OP_MEM_DONATE", "OP_CONTINUE"})


def plumbing_failures(records: list[dict]) -> list[dict]:
    """Granule handouts the RMM refused: none may happen."""
    return [r for r in records if r["t"] == "rmi" and r["cmd"] in PLUMBING
            and r["ret"] & 0xFF not in (0, RMI_INCOMPLETE)]


def as_rmi_1_0(records: list[dict]) -> list[dict]:
    """An RMI 2.0 stream with RMI 1.0's command names, to hold against the sim's RMM 1.0."""
    return [r | {"cmd": RMI_2_0_RENAMES[r["cmd"]]} if r.get("cmd") in RMI_2_0_RENAMES else r
            for r in records]


def without(records: list[dict], commands: set[str]) -> list[dict]:
    return [r for r in records if r.get("cmd") not in commands]


def comparable(records: list[dict]) -> list[dict]:
    """What both hosts must agree on: every RMI command but the granule handouts, every
    entry and exit, the end."""
    return [r for r in records if not (r["t"] == "rmi" and r["cmd"] in PLUMBING)]


@dataclass(frozen=True)
class Difference:
    record: str  # "exit", "enter", or the RMI command
    field: str  # "esr", "gprs[3]", ...
    where: str  # "demo exit 4 (SYNC)"
    real: int | str
    sim: int | str

    def __str__(self) -> str:
        def show(v: int | str) -> str:
            return hex(v) if isinstance(v, int) else v

        what = f"{self.record}.{self.field}"
        return f"{self.where}: {what} real {show(self.real)}, sim {show(self.sim)}"


REASONS = {0: "SYNC", 1: "IRQ", 2: "FIQ", 3: "PSCI", 4: "RIPAS_CHANGE", 5: "HOST_CALL"}


def _where(names: list[str], r: dict) -> str:
    name = names[r["realm"]] if "realm" in r and r["realm"] < len(names) else "?"
    if r["t"] in ("enter", "exit"):
        reason = REASONS.get(r.get("reason", -1), "")
        return f"{name} {r['t']} {r['n']}" + (f" ({reason})" if reason and r["t"] == "exit" else "")
    return f"{name} {r['t']} {r.get('cmd', '')}".rstrip()


def differences(real: list[dict], sim: list[dict], names: list[str]) -> list[Difference]:
    """Realm by realm, record by record; within a realm the comparison stops at the first
    record that is not the same kind in both streams (what follows would not line up)."""
    out: list[Difference] = []
    a, b = comparable(real), comparable(sim)
    realms = sorted({r["realm"] for r in a + b if "realm" in r})
    for realm in [None, *realms]:
        out += _realm_differences([r for r in a if r.get("realm") == realm],
                                  [r for r in b if r.get("realm") == realm], names)
    return out


def _realm_differences(a: list[dict], b: list[dict], names: list[str]) -> list[Difference]:
    out: list[Difference] = []
    for i in range(max(len(a), len(b))):
        if i >= len(a) or i >= len(b):
            extra = a[i] if i < len(a) else b[i]
            out.append(Difference("stream", "record", _where(names, extra),
                                  _label(a[i]) if i < len(a) else "(ended)",
                                  _label(b[i]) if i < len(b) else "(ended)"))
            break
        r, s = a[i], b[i]
        if _label(r) != _label(s):
            out.append(Difference("stream", "record", _where(names, r), _label(r), _label(s)))
            break
        record = r["t"] if r["t"] != "rmi" else r["cmd"]
        where = _where(names, r)
        fields = [f for f in EXIT_FIELDS if f in r or f in s]
        if r["t"] == "enter":
            fields = ["flags"]
        if r["t"] == "rmi":
            fields = ["ret"] + (["x1"] if "x1" in r and "x1" in s else [])
        for f in fields:
            if r.get(f) != s.get(f):
                out.append(Difference(record, f, where, r.get(f, "(absent)"), s.get(f, "(absent)")))
        for n, (rv, sv) in enumerate(zip(r.get("gprs", []), s.get("gprs", []), strict=True)):
            if rv != sv:
                out.append(Difference(record, f"gprs[{n}]", where, rv, sv))
    return out


def _label(r: dict) -> str:
    return f"{r['t']}:{r.get('cmd', '')}:{r.get('n', '')}"


LEGITIMATE = "legitimate"
SIM_BUG = "sim bug, not fixed here"  # the fix belongs to a file another change is rewriting


@dataclass(frozen=True)
class Allowed:
    """A difference the tier accepts: which records and field, where (substrings of the
    difference's `where`, any of them; empty: anywhere), a test on the two values, and why."""

    records: tuple[str, ...]
    fields: tuple[str, ...]
    matches: Callable[[int | str, int | str], bool]
    reason: str
    where: tuple[str, ...] = ()
    kind: str = LEGITIMATE

    def covers(self, d: Difference) -> bool:
        return (
            d.record in self.records
            and d.field in self.fields
            and (not self.where or any(w in d.where for w in self.where))
            and self.matches(d.real, d.sim)
        )


@dataclass
class Verdict:
    unlisted: list[Difference] = field(default_factory=list)
    stale: list[Allowed] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unlisted and not self.stale

    def explain(self) -> str:
        lines = []
        if self.unlisted:
            lines.append("differences between TF-RMM and the sim's RMM that "
                         "tests/rmm/known_differences.py does not allow:")
            lines += [f"  {d}" for d in self.unlisted]
        if self.stale:
            lines.append("allowed differences that no longer occur (drop them from the table):")
            lines += [f"  {'/'.join(a.records)}.{'/'.join(a.fields)} ({a.kind}): {a.reason}"
                      for a in self.stale]
        return "\n".join(lines)


def check(diffs: list[Difference], allowed: tuple[Allowed, ...]) -> Verdict:
    v = Verdict()
    used: set[int] = set()
    for d in diffs:
        hit = [i for i, a in enumerate(allowed) if a.covers(d)]
        if hit:
            used.update(hit)
        else:
            v.unlisted.append(d)
    v.stale = [a for i, a in enumerate(allowed) if i not in used]
    return v
