"""The ioctl log: every ioctl of the session, decoded -- through `ioctls` and `--ioctl-log`."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

from realmtui import regs
from realmtui.session import Session, SessionConfig, VmKind


def _batch(script: str, *args: str) -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "realmtui.cli", "batch", *args],
        input=script, capture_output=True, text=True, timeout=120, check=True,
    )
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_the_log_holds_each_ioctl_with_its_decoded_arguments() -> None:
    s = Session(SessionConfig(vm=VmKind.NORMAL))
    before = len(s.ioctl_log)
    assert s.set("x3", "0x1234").ok
    s.run()
    new = list(s.ioctl_log)[before:]
    sets = [r for r in new if r.name == "KVM_SET_ONE_REG"]
    assert sets and sets[0].value == 0x1234 and sets[0].result == 0 and sets[0].errno is None
    run = next(r for r in new if r.name == "KVM_RUN")
    assert run.exit is not None and run.exit["reason"] == "MMIO" and run.duration_s > 0
    names = {r.name for r in s.ioctl_log}
    assert {"KVM_CREATE_VM", "KVM_ARM_VCPU_INIT", "KVM_SET_USER_MEMORY_REGION"} <= names
    s.close()


def test_a_refused_write_is_logged_with_its_errno() -> None:
    s = Session()
    assert s.finalize().ok and s.activate().ok
    before = len(s.ioctl_log)
    out = s.set("SCTLR_EL1", "0x1")  # a realm's system registers: KVM refuses (EINVAL)
    assert not out.ok and out.errno == "EINVAL"
    sets = [r for r in list(s.ioctl_log)[before:] if r.name == "KVM_SET_ONE_REG"]
    assert sets[-1].errno == errno.EINVAL and sets[-1].result is None
    assert sets[-1].reg == regs.parse_register("SCTLR_EL1") and sets[-1].value == 1
    s.close()


def test_batch_ioctls_and_the_log_file(tmp_path: Path) -> None:
    log = tmp_path / "ioctls.jsonl"
    out = _batch("set x0 0x77\nrun\nioctls 2\n", "--vm", "normal", "--ioctl-log", str(log))
    last = out[-1]
    assert last["ok"] and len(last["ioctls"]) == 2
    assert all({"ioctl", "result", "errno", "duration_us"} <= set(r) for r in last["ioctls"])
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["seq"] for r in lines] == list(range(1, len(lines) + 1))
    sets = [r for r in lines if r["ioctl"] == "KVM_SET_ONE_REG" and r.get("reg") == "x0"]
    assert sets and sets[-1]["value"] == "0x77"
    runs = [r for r in lines if r["ioctl"] == "KVM_RUN"]
    assert runs[0]["exit"]["reason"] == "MMIO" and runs[0]["exit"]["data"] == "0x77"


def test_batch_ioctls_answers_bad_arguments() -> None:
    out = _batch("ioctls x\n", "--vm", "normal")
    assert not out[0]["ok"] and "usage: ioctls" in out[0]["error"]
