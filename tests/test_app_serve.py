"""`realmtui serve` and `realmtui screenshot`: the command each browser visit runs, the
loopback default, a clear error without textual-serve, and the named screenshot states."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from realmtui import serve
from realmtui.cli import main, parse_args
from realmtui.screenshots import SHOTS


def test_serve_runs_the_same_app_with_the_same_options() -> None:
    args = parse_args(["serve", "--vm", "normal", "--profile", "seed", "--pmu"])
    assert args.host == "127.0.0.1"  # loopback unless --host says otherwise
    argv = shlex.split(serve.app_command(args))
    assert argv[:3] == [sys.executable, "-m", "realmtui"]
    assert argv[3:] == ["--backend", "sim", "--vm", "normal", "--profile", "seed",
                        "--start", "created", "--pmu"]
    assert serve.url("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert serve.url("::1", 8000) == "http://[::1]:8000"


def test_serve_without_textual_serve_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # None in sys.modules: Python's "this module cannot be imported" (find_spec gives None).
    monkeypatch.setitem(sys.modules, "textual_serve", None)
    assert main(["serve"]) == 3
    err = capsys.readouterr().err
    assert "pip install textual-serve" in err
    assert "Traceback" not in err


def test_screenshot_states_are_the_named_ones() -> None:
    assert [s.name for s in SHOTS] == [
        "start", "after-E1", "after-E3-x1-edit", "einval-inline", "mmio-prompt-E5", "normal-vm",
        "compact-100x30",
    ]
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for shot in SHOTS:  # every state is a picture in the README
        assert f"screenshots/{shot.name}.svg" in readme
