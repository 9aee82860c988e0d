"""`realmtui agent` and the agent: backend, on loopback with the sim: the demos answer as they do
locally, the agent's failures carry the kernel's errno and ioctl, and a lost, silent, foreign or
KVM-less agent gives a clear message instead of a hang or a traceback."""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from realmtui import agent_protocol as proto
from realmtui.remote import RemoteUnavailable, agent_argv
from realmtui.session import Session, SessionConfig, SessionError
from tests.test_realm_demo import BATCH_SCRIPT as REALM_SCRIPT

AGENT = f"{shlex.quote(sys.executable)} -m realmtui agent --backend sim"
NORMAL_SCRIPT = """
state
regs
set x0 0xabc
run
run
mmio 0x5a
run
get x1
run
run
state
"""


def _batch(script: str, *args: str, env: dict[str, str] | None = None) -> tuple[list[dict], str]:
    proc = subprocess.run(
        [sys.executable, "-m", "realmtui", "batch", *args], input=script, text=True,
        capture_output=True, timeout=120, check=False, env=env,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr


def _without(answer: dict[str, Any], *keys: str) -> dict[str, Any]:
    out = {k: v for k, v in answer.items() if k not in keys and k != "backend"}
    if isinstance(out.get("exit"), dict):
        out["exit"] = {k: v for k, v in out["exit"].items() if k not in keys}
    if isinstance(out.get("regs"), list):
        out["regs"] = [{k: v for k, v in r.items() if k not in keys} for r in out["regs"]]
    return out


def test_the_normal_demo_through_the_agent_answers_as_locally() -> None:
    local, _ = _batch(NORMAL_SCRIPT, "--vm", "normal")
    remote, _ = _batch(NORMAL_SCRIPT, "--vm", "normal", "--backend", f"agent:{AGENT}")
    assert len(remote) == len(local) and all(a["ok"] for a in remote[:2])
    assert [_without(a) for a in remote] == [_without(a) for a in local]
    assert remote[0]["backend"] == "sim via agent"  # the header says where the ioctls run
    runs = [a for a in remote if a["command"] == "run"]
    assert [a["exit"]["reason"] for a in runs[:4]] == ["MMIO", "MMIO", "MMIO", "SYSTEM_EVENT"]
    assert runs[4]["ok"] is False  # powered off, as locally


def test_the_realm_demo_through_the_agent_answers_as_locally() -> None:
    local, _ = _batch(REALM_SCRIPT)
    remote, _ = _batch(REALM_SCRIPT, "--backend", f"agent:{AGENT}")
    # What only the local sim can show (the REC's own values and pc, hence the demo step at a
    # realm's exit) stays out: over the agent, as on a real host, the REC is confidential.
    assert [_without(a, "real", "step") for a in remote] == [
        _without(a, "real", "step") for a in local]
    runs = [a for a in remote if a["command"] == "run"]
    assert [a["exit"]["reason"] for a in runs] == [
        "MMIO", "MMIO", "HYPERCALL", "MMIO", "MMIO", "MMIO", "MEMORY_FAULT", "SYSTEM_EVENT",
        "SHUTDOWN"]
    assert runs[7]["exit"]["type"] == "SHUTDOWN"  # every exit's own fields crossed the pipe
    assert not any("real" in r for a in remote for r in a.get("regs", ()))


def _agent() -> subprocess.Popen[bytes]:
    return subprocess.Popen([*shlex.split(AGENT)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _ask(p: subprocess.Popen[bytes], **request: Any) -> dict[str, Any]:
    assert p.stdin is not None and p.stdout is not None
    p.stdin.write(proto.encode(request))
    p.stdin.flush()
    return proto.decode(p.stdout.readline())


def test_the_agent_answers_failures_with_the_errno_and_the_ioctl() -> None:
    from backends.machine import MachineSpec

    p = _agent()
    try:
        hello = _ask(p, id=1, op="hello", protocol=proto.PROTOCOL_VERSION)
        assert hello["ok"] and hello["protocol"] == proto.PROTOCOL_VERSION
        assert hello["backend"] == "sim" and hello["machine"] == platform.machine()
        no_vm = _ask(p, id=2, op="get", reg=0x6030_0000_0010_0000)
        assert no_vm["error"]["errno"] == 9  # EBADF: no VM open yet
        spec = proto.spec_to_json(MachineSpec(realm=False))
        assert _ask(p, id=3, op="open", spec=spec)["ok"]
        bogus = _ask(p, id=4, op="set", reg=0x6030_0000_0013_ffff, value=1)
        assert bogus["ok"] is False and bogus["error"]["call"] == "KVM_SET_ONE_REG"
        assert bogus["error"]["errno"] == 2 and bogus["error"]["reg"] == 0x6030_0000_0013_ffff
        garbled = _ask(p, id=5, op="frob")
        assert "unknown op" in garbled["error"]["protocol"]
        assert p.stdin is not None and p.stdout is not None
        p.stdin.write(b"not json\n")
        p.stdin.flush()
        assert "protocol" in proto.decode(p.stdout.readline())["error"]
        # ... and it still serves: one round trip for many registers.
        ids = _ask(p, id=6, op="reg_list")["regs"]
        snap = _ask(p, id=7, op="snapshot", regs=ids)
        assert len(snap["values"]) == len(ids) and snap["id"] == 7
    finally:
        p.kill()
        p.wait()


@pytest.mark.skipif(os.path.exists("/dev/kvm") and platform.machine() == "aarch64",
                    reason="this host has arm64 KVM")
def test_an_agent_without_kvm_is_refused_clearly() -> None:
    agent = f"{shlex.quote(sys.executable)} -m realmtui agent"  # the kvm backend: x86 here
    answers, err = _batch("state\n", "--backend", f"agent:{agent}")
    assert answers == []
    assert "has no KVM to drive" in err and platform.machine() in err


def test_a_protocol_version_mismatch_is_refused_clearly(tmp_path: Path) -> None:
    fake = tmp_path / "future_agent.py"
    fake.write_text(
        "import json, sys\n"
        "for line in sys.stdin:\n"
        "    r = json.loads(line)\n"
        "    print(json.dumps({'id': r['id'], 'ok': True, 'protocol': 99}), flush=True)\n"
    )
    answers, err = _batch("state\n", "--backend", f"agent:{sys.executable} {fake}")
    assert answers == [] and "speaks protocol version 99" in err and "same realmtui" in err


def test_a_silent_agent_times_out_and_a_missing_one_is_named() -> None:
    env = os.environ | {"REALMTUI_AGENT_TIMEOUT": "1"}
    _, err = _batch("state\n", "--backend", "agent:sleep 30", env=env)
    assert "no answer to 'hello' in 1 s" in err
    _, err = _batch("state\n", "--backend", "agent:/nonexistent/realmtui-agent")
    assert "cannot start the agent" in err and "No such file" in err


def test_a_connection_dropped_mid_walk_is_reported_and_restart_reconnects() -> None:
    # sed passes the agent four requests (hello, open, the first snapshot's list and reads),
    # then closes its input: the agent exits during the first run, as when an ssh link drops.
    cut = f"agent:sh -c 'sed -u 4q | {AGENT}'"
    answers, err = _batch("run\nrun\nrun\nrestart\nrun\n", "--vm", "normal", "--backend", cut)
    assert [a["ok"] for a in answers] == [False, False, False, True, False]
    assert "connection to the agent" in answers[0]["error"]
    assert "reconnect" in answers[0]["error"]
    assert answers[3]["stage"] == "initialised"  # restart built the VM again on a new agent


def test_the_session_notices_a_killed_agent_and_reconnects() -> None:
    s = Session(SessionConfig(backend=f"agent:{AGENT}", vm="normal"))  # type: ignore[arg-type]
    try:
        assert s.run().ok
        s.kernel.conn.proc.kill()
        with pytest.raises(SessionError, match="connection to the agent .* is lost"):
            s.run()
        s.restart()
        again = s.run()
        assert again.ok and again.exit is not None and again.exit.number == 1
    finally:
        s.close()
        s.kernel.close_connection()


def test_ssh_targets_become_a_batch_mode_ssh_command() -> None:
    argv = agent_argv("ssh://alice@fvp.example:2222")
    assert argv[0] == "ssh" and "BatchMode=yes" in argv
    assert argv[argv.index("-p") + 1] == "2222"
    assert argv[argv.index("--") + 1:] == ["alice@fvp.example", "realmtui", "agent"]
    with pytest.raises(RemoteUnavailable, match="expected"):
        agent_argv("ssh://fvp/some/path")


async def test_the_app_offers_to_reconnect_when_the_agent_is_lost() -> None:
    from realmtui.app import RealmApp
    from realmtui.screenshots import settle
    from widgets.confirm import Confirm

    session = Session(SessionConfig(backend=f"agent:{AGENT}", vm="normal"))  # type: ignore[arg-type]
    app = RealmApp(session, cursor_blink=False)
    try:
        async with app.run_test(size=(140, 42)) as pilot:
            from widgets.status_bar import status_text

            assert "sim via agent" in status_text(app.view, app.palette).plain
            session.kernel.conn.proc.kill()
            await pilot.press("r")
            await settle(pilot)
            assert isinstance(app.screen, Confirm)
            assert "connection to the agent is lost" in str(app.screen.question)
            await pilot.press("y")
            await settle(pilot)
            await pilot.press("r")
            await settle(pilot)
            assert app.session.exits and app.session.exits[-1].number == 1
    finally:
        app.session.close()
        app.session.kernel.close_connection()


async def test_a_lifecycle_step_on_a_lost_agent_offers_to_reconnect_too() -> None:
    from realmtui.app import RealmApp
    from realmtui.screenshots import settle
    from realmtui.session import Stage
    from widgets.confirm import Confirm

    config = SessionConfig(backend=f"agent:{AGENT}", start=Stage.REALM_NEW)
    app = RealmApp(Session(config), cursor_blink=False)
    try:
        async with app.run_test(size=(140, 42)) as pilot:
            app.session.kernel.conn.proc.kill()
            await pilot.press("c")  # create the realm: the step itself fails, nothing else
            await settle(pilot)
            assert isinstance(app.screen, Confirm)
            assert "connection to the agent is lost" in str(app.screen.question)
            await pilot.press("y")
            await settle(pilot)
            await pilot.press("c")
            await settle(pilot)
            assert app.view.stage is Stage.REALM_CREATED  # on the new agent
    finally:
        app.session.close()
        app.session.kernel.close_connection()


def test_a_step_over_the_agent_is_one_round_trip() -> None:
    # Over ssh to an FVP each round trip costs a network latency: the run's answer brings the
    # register list and every value, and the snapshot after it asks nothing more.
    s = Session(SessionConfig(backend=f"agent:{AGENT}", vm="normal"))  # type: ignore[arg-type]
    try:
        conn = s.kernel.conn
        before = conn._next_id
        outcome = s.run()
        assert outcome.ok and outcome.snapshot is not None
        assert conn._next_id - before == 1
        x0 = s.current.by_id()[0x6030_0000_0010_0000].value
        assert x0 == s.set("x0", "0x77").old  # an edit reads afresh ...
        assert s.read(0x6030_0000_0010_0000)[0] == 0x77  # ... and so does every read after it
    finally:
        s.close()
        s.kernel.close_connection()


def test_the_series_is_the_one_the_agents_host_runs() -> None:
    # `--profile v14` on the agent plays a host whose kernel is v14 (the kvm backend would have
    # found it there, backends/detect.py); the client names none, so it follows the agent.
    v14 = f"agent:{AGENT} --profile v14"
    answers, err = _batch("state\nfinalize\nrun\nstate\n", "--backend", v14)
    assert answers, err
    assert answers[0]["profile"] == "v14" and answers[0]["backend"] == "sim via agent"
    assert "v14 has no REC-creation step" in answers[1]["error"]
    assert answers[2]["ok"] and answers[2]["exit"]["reason"] == "MMIO"
    assert answers[3]["stage"] == "active" and answers[3]["rec_created"]  # the first run did it
    named, _ = _batch("state\n", "--backend", v14, "--profile", "v10")
    assert named[0]["profile"] == "v10"  # a profile named on the laptop wins


async def test_the_apps_keys_follow_the_agents_series() -> None:
    from realmtui.app import RealmApp
    from realmtui.screenshots import settle
    from realmtui.session import Stage
    from widgets.status_bar import status_text

    config = SessionConfig(backend=f"agent:{AGENT} --profile v14", profile=None,
                           start=Stage.REALM_NEW)
    app = RealmApp(Session(config), cursor_blink=False)
    try:
        async with app.run_test(size=(140, 42)) as pilot:
            header = status_text(app.view, app.palette).plain
            assert "sim via agent" in header and "v14" in header
            await pilot.press("c")
            await settle(pilot)
            bindings = app.screen.active_bindings
            assert "f" not in bindings and "a" not in bindings and bindings["r"].enabled
            await pilot.press("r")
            await settle(pilot)
            assert app.view.stage is Stage.ACTIVE and app.view.exit_count == 1
    finally:
        app.session.close()
        app.session.kernel.close_connection()


def test_the_ioctl_log_and_the_code_at_pc_come_from_the_agents_host() -> None:
    from realmtui.disasm import at_pc

    local = Session(SessionConfig(vm="normal"))  # type: ignore[arg-type]
    s = Session(SessionConfig(backend=f"agent:{AGENT}", vm="normal"))  # type: ignore[arg-type]
    try:
        assert s.run().ok and local.run().ok
        # The ioctls ran on the agent's host, and the log was brought over when read: up to
        # the run, the same ones in the same order as the local VMM's; after it the same
        # registers read, in one batch (the run's answer) rather than as the session asks.
        remote_log = [(r.name, r.reg, r.errno) for r in s.ioctl_log]
        local_log = [(r.name, r.reg, r.errno) for r in local.ioctl_log]
        cut = [name for name, _, _ in local_log].index("KVM_RUN") + 1
        assert remote_log[:cut] == local_log[:cut]
        assert set(remote_log[cut:]) == set(local_log[cut:])
        runs = [r for r in s.ioctl_log if r.name == "KVM_RUN"]
        assert len(runs) == 1 and runs[0].exit is not None and runs[0].exit["reason"] == "MMIO"
        code = at_pc(s)  # the guest's RAM as the agent's VMM maps it
        assert code.note is None and code.lines == at_pc(local).lines
        # A reconnection (a new agent numbers from 1) continues the log's sequence.
        s.kernel.conn.proc.kill()
        s.restart()
        assert s.run().ok
        seqs = [r.seq for r in s.ioctl_log]
        assert seqs == list(range(1, len(seqs) + 1))
        assert sum(r.name == "KVM_RUN" for r in s.ioctl_log) == 2
    finally:
        s.close()
        local.close()
        s.kernel.close_connection()
