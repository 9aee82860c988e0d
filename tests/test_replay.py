"""Issue 9 item 2: a walk recorded in the app replays without a kernel -- the same grid values,
verdicts and exits at every step; n/p and →/← move, g jumps to an exit, edits and runs are
refused with a word; one SVG per step; served to a browser; bad files refused in a line."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from realmtui import record
from realmtui.app import RealmApp, ReplayApp
from realmtui.replay import ReplayError, load
from realmtui.replay_shots import take_all
from realmtui.screenshots import edit, settle
from realmtui.session import Session, SessionConfig
from realmtui.view import SessionView
from tests.recordings import DEMO_WALK, record_walk
from widgets.textual_private import FooterKey

CMD = [sys.executable, "-m", "realmtui"]


def _seen(view: SessionView) -> tuple:
    """What the grid and the panels draw from a view, in comparable form."""
    return (
        view.stage, view.exit_count, view.last_exit.label if view.last_exit else None,
        view.next_step, view.changed, dict(view.edits),
        tuple((r.id, r.value, r.read_errno, r.verdict, r.rec) for r in view.regs),
        view.last_exit.exit if view.last_exit else None,
    )


async def test_a_walk_recorded_in_the_app_replays_step_by_step(tmp_path: Path) -> None:
    path = tmp_path / "class.jsonl"
    config = SessionConfig()
    session = Session(config)
    recorder = record.start(session, str(path), "app")
    app = RealmApp(session, cursor_blink=False)
    live = []
    async with app.run_test(size=(140, 42)) as pilot:
        live.append(_seen(app.view))
        for key in ("f", "a", "r", "r", "r"):
            await pilot.press(key)
            await settle(pilot)
            live.append(_seen(app.view))
        await edit(pilot, "x1", "0x1234")
        live.append(_seen(app.view))
        await pilot.press("r")
        await settle(pilot)
        live.append(_seen(app.view))
    recorder.close()
    session.close()

    recording = load(path)
    assert recording.header["via"] == "app"
    assert [s.action for s in recording.steps] == [
        "start", "finalize", "activate", "run", "run", "run", "set x1 0x1234", "run"]
    replay = ReplayApp(recording, cursor_blink=False)
    async with replay.run_test(size=(140, 42)) as pilot:
        await pilot.pause()
        banner = str(replay.query_one("#banner").render())
        assert banner.startswith("replay of class.jsonl · step 0/7: start · recorded on ")
        assert _seen(replay.view) == live[0]
        for n in range(1, len(live)):
            await pilot.press("n" if n % 2 else "right")
            await pilot.pause()
            assert _seen(replay.view) == live[n], f"step {n}"
        assert replay.grid.selected is not None
        await pilot.press("p", "left")
        await pilot.pause()
        assert _seen(replay.view) == live[-3]
        # The detail panel's history comes from the recording too.
        history = replay.view.regs[1].history.items()
        assert [label for label, _ in history] == ["start", "E1 MMIO", "E2 MMIO", "E3 HYPERCALL"]


async def test_replay_refuses_edits_and_runs_and_jumps_to_an_exit(tmp_path: Path) -> None:
    recording = load(record_walk(tmp_path / "demo.jsonl", DEMO_WALK))
    app = ReplayApp(recording, cursor_blink=False)
    async with app.run_test(size=(140, 42)) as pilot:
        await pilot.pause()
        before = _seen(app.view)
        # Nothing to write to: the footer offers no Edit, and e says why.
        assert not any(k.action == "edit" for k in app.query(FooterKey))
        await pilot.press("e")
        await pilot.pause()
        assert "replay: edit refused" in app.message.text and "no kernel" in app.message.text
        await pilot.press("r")
        await pilot.pause()
        assert "replay: run refused" in app.message.text
        await pilot.press("f")
        await pilot.pause()
        assert _seen(app.view) == before and not app.editor_open
        await pilot.press("g", *"E9", "enter")
        await pilot.pause()
        assert "no exit 'E9'" in str(app.screen.query_one("#prompt-error").render())
        await pilot.press("backspace", "backspace", "5", "enter")
        await pilot.pause()
        assert app.view.exit_count == 5 and app.view.last_exit.exit.name == "MMIO"
        assert app.replay.current.action == "run"
        await pilot.press("n")  # the edit during the MMIO read: ignored, as recorded
        await pilot.pause()
        assert app.replay.current.action == "set x0 0xbad"
        assert "ignored" in app.message.text or "RMM will not read it" in app.message.text


async def test_one_svg_per_step(tmp_path: Path) -> None:
    recording = load(record_walk(tmp_path / "short.jsonl", ["finalize", "activate", "run"]))
    written = await take_all(recording, tmp_path / "svg", size=(100, 30))
    assert [p.name for p in written] == [f"step-00{i}.svg" for i in range(4)]
    last = written[-1].read_text().replace("&#160;", " ")
    assert "replay of short.jsonl" in last and "KVM_EXIT_MMIO" in last


def _damaged(tmp_path: Path, name: str, transform) -> Path:  # noqa: ANN001
    good = record_walk(tmp_path / "good.jsonl", ["finalize", "activate", "run"])
    lines = good.read_text().splitlines()
    path = tmp_path / name
    path.write_text("\n".join(transform(lines)) + "\n")
    return path


def test_bad_recordings_are_refused_in_one_sentence(tmp_path: Path) -> None:
    def header(lines: list[str], **changes: object) -> list[str]:
        h = json.loads(lines[0]) | changes
        return [json.dumps(h), *lines[1:]]

    cases = {
        "newer.jsonl": (lambda ls: header(ls, format_version=99), "written by a newer realmtui"),
        "other.jsonl": (lambda ls: ['{"hello": 1}', *ls[1:]], "not a realmtui recording"),
        "v0.jsonl": (lambda ls: header(ls, format_version=0), "format version 0"),
        "profile.jsonl": (lambda ls: header(ls, profile="v99"), "profile 'v99'"),
        "middle.jsonl": (lambda ls: [ls[0], "{oops", *ls[1:]], "line 2 is not JSON"),
        "fields.jsonl": (lambda ls: [ls[0], '{"step": 0}'], "line 2 is not a step"),
        "empty.jsonl": (lambda ls: [], "is empty"),
    }
    for name, (transform, needle) in cases.items():
        with pytest.raises(ReplayError, match=re.escape(needle)):
            load(_damaged(tmp_path, name, transform))
    # A recording cut off mid-write keeps the steps before.
    cut = _damaged(tmp_path, "cut.jsonl", lambda ls: [*ls[:-1], ls[-1][:100]])
    rec = load(cut)
    assert len(rec.steps) == 3 and "cut off" in rec.note
    proc = subprocess.run([*CMD, "replay", str(tmp_path / "newer.jsonl")], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "newer realmtui" in proc.stderr and "Traceback" not in proc.stderr


def test_a_replay_is_served_to_a_browser_and_steps_there(tmp_path: Path) -> None:
    path = record_walk(tmp_path / "served.jsonl", ["finalize", "activate", "run"])
    proc = subprocess.Popen([*CMD, "serve", "--port", "0", "--replay", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", line)
        assert m, line
        assert "realmtui replay" in proc.stdout.readline()
        base, token = m.groups()

        async def visit() -> None:
            async with aiohttp.ClientSession() as s, s.ws_connect(
                    f"{base.replace('http', 'ws')}/ws/{token}", headers={"Origin": base}) as ws:
                await ws.send_json(["resize", {"width": 140, "height": 42}])
                await _until(ws, "step 0/3")
                await ws.send_json(["stdin", "n"])
                await _until(ws, "step 1/3")

        asyncio.run(asyncio.wait_for(visit(), 60))
    finally:
        proc.terminate()
        proc.wait(timeout=15)


async def _until(ws: aiohttp.ClientWebSocketResponse, text: str) -> None:
    seen = ""
    while text not in seen:
        msg = await ws.receive(timeout=30)
        assert msg.type is aiohttp.WSMsgType.BINARY, msg
        seen = (seen + msg.data.decode("utf-8", "replace"))[-20000:]
