"""Export: the grid as it is now, as JSON or CSV, with every listed register's value and
verdict -- realmtui/export.py and `batch export FILE`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from realmtui import export
from realmtui.batch import Batch
from realmtui.session import Session


def test_json_and_csv_hold_the_grid_as_shown(tmp_path: Path) -> None:
    s = Session()
    assert s.set("x0", "0xabc").ok
    snap = s.current
    j = json.loads(export.write(snap, tmp_path / "g.json").read_text())
    rows = list(csv.DictReader((export.write(snap, tmp_path / "g.csv")).open()))
    assert len(j["regs"]) == len(rows) == len(snap.regs)
    x0j = next(r for r in j["regs"] if r["name"] == "x0")
    x0c = next(r for r in rows if r["name"] == "x0")
    assert int(x0j["value"], 16) == int(x0c["value"], 16) == 0xABC
    assert x0j["access"] == x0c["access"] == str(snap.by_id()[next(
        r.id for r in snap.regs if r.info.name == "x0")].verdict.access)
    s.close()


def test_batch_export_reports_where_and_failures(tmp_path: Path) -> None:
    s = Session()
    b = Batch(s)
    ok = b.handle(f"export {tmp_path / 'grid.csv'}")
    assert ok is not None and ok["ok"] and (tmp_path / "grid.csv").exists()
    bad = b.handle(f"export {tmp_path / 'missing' / 'grid.csv'}")
    assert bad is not None and not bad["ok"] and "cannot write" in bad["error"]
    s.close()
