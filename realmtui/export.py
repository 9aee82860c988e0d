"""Export the register grid as it is now -- JSON or CSV -- for a bug report or a diff.

Pure: it formats a Snapshot; the app (ctrl+e) and the batch command choose the file.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from realmtui.model import Snapshot
from realmtui.values import format_value

FIELDS = ("name", "id", "group", "value", "errno", "access", "reason", "source")


def rows(snap: Snapshot) -> list[dict[str, str]]:
    out = []
    for r in snap.regs:
        out.append({
            "name": r.info.name,
            "id": r.info.hex_id,
            "group": str(r.info.group),
            "value": format_value(r.value, r.info.bits) if r.value is not None else "",
            "errno": r.read_errno or "",
            "access": str(r.verdict.access),
            "reason": r.verdict.reason,
            "source": r.verdict.source,
        })
    return out


def as_json(snap: Snapshot) -> str:
    return json.dumps({"at": snap.label, "stage": str(snap.stage), "regs": rows(snap)}, indent=1)


def as_csv(snap: Snapshot) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows(snap))
    return buf.getvalue()


def write(snap: Snapshot, path: str | Path) -> Path:
    """Write JSON or CSV by the file's suffix (.csv is CSV, anything else JSON); OSError on
    failure, for the caller to report."""
    p = Path(path)
    p.write_text(as_csv(snap) if p.suffix.lower() == ".csv" else as_json(snap), encoding="utf-8")
    return p
