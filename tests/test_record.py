"""Issue 9 item 1: a recording holds a header naming what ran, then one JSON object per step:
the step as a command, its answer, each ioctl with its result or errno, the exit, and every
register with its value and verdict."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from realmtui import regs
from realmtui.context import Profile
from realmtui.session import SessionConfig
from tests.recordings import record_walk

CMD = [sys.executable, "-m", "realmtui"]


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_batch_record_writes_a_header_and_every_step(tmp_path: Path) -> None:
    rec = tmp_path / "walk.jsonl"
    script = "set x0 0x1111\nset sp 0x10\nfinalize\nactivate\nrun\nget x0\n"
    proc = subprocess.run([*CMD, "batch", "--record", str(rec)], input=script, text=True,
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    header, *steps = _lines(rec)
    assert header["format"] == "realmtui-recording" and header["format_version"] == 1
    assert header["backend"] == "sim" and header["profile"] == "v9" and header["via"] == "batch"
    assert header["series"]["cap"] == "KVM_CAP_ARM_RME" and header["series"]["rmm"]
    assert header["vcpu_features"] == ["psci_0_2", "rec"]  # KVM_ARM_VCPU_INIT's own bits
    assert header["realmtui"]
    # start, then one step per command that reached the kernel (`get` is a read, not a step)
    assert [s["action"] for s in steps] == ["start", "set x0 0x1111", "set sp 0x10",
                                           "finalize", "activate", "run"]
    refused = steps[2]
    assert not refused["ok"] and refused["errno"] == "EINVAL"
    assert {"ioctl": "KVM_SET_ONE_REG", "result": None, "errno": "EINVAL", "count": 1,
            "reg": f"0x{regs.SP:x}", "value": "10"} in refused["ioctls"]
    run = steps[5]
    assert run["exit"]["number"] == 1 and run["exit"]["exit"]["class"] == "MmioExit"
    assert run["exit"]["exit"]["data"] == 0x1111
    assert any(c["ioctl"] == "KVM_RUN" and c["result"] == 0 for c in run["ioctls"])
    assert len(run["regs"]) == 76  # the full snapshot, every listed register
    x0 = next(r for r in run["regs"] if r[0] == regs.x_id(0))
    assert x0[1] == "1111" and x0[3] == "ignored"
    strings = {k: v for s in steps for k, v in s["strings"].items()}
    assert "MMIO" in strings[str(x0[4])]  # the rule, written once and referred to after


def test_an_unwritable_recording_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([*CMD, "batch", "--record", str(tmp_path / "no" / "x.jsonl")],
                          input="state\n", text=True, capture_output=True, timeout=60)
    assert proc.returncode == 1 and "cannot record to" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_recording_on_another_profile_names_it(tmp_path: Path) -> None:
    path = record_walk(tmp_path / "v14.jsonl", ["run", "run"],
                       SessionConfig(profile=Profile.V14))
    header, *steps = _lines(path)
    assert header["profile"] == "v14" and header["series"]["cap"] == "KVM_CAP_ARM_RMI"
    assert "rec" not in header["vcpu_features"]  # v12+ has no REC vCPU feature
    assert steps[1]["stage"] == "active" and steps[1]["exit"]["number"] == 1
