"""`realmtui screenshot --out DIR` (issue 12 item 16): a directory that cannot take the SVGs
is one clear line and status 1 before the app is driven (it was a traceback); SVGs already
there are kept unless --force (status 2); the default directory is not the README's."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from realmtui import screenshots
from realmtui.cli import main, parse_args


def _refused(capsys: pytest.CaptureFixture[str], out: str, status: int = 1) -> str:
    assert main(["screenshot", "--out", out]) == status
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured
    assert "Traceback" not in captured.err
    return captured.err


def test_a_file_a_path_under_a_file_and_proc_are_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("kept")
    assert "a file is there, not a directory" in _refused(capsys, str(blocker))
    assert "Not a directory" in _refused(capsys, str(blocker / "sub"))
    assert "cannot write screenshots to /proc/x" in _refused(capsys, "/proc/x")
    assert blocker.read_text() == "kept"


@contextmanager
def _unwritable(directory: Path) -> Iterator[None]:
    """A directory nobody can create files in: as root (who ignores modes) an immutable one."""
    directory.mkdir()
    if os.geteuid() != 0:
        directory.chmod(0o555)
        try:
            yield
        finally:
            directory.chmod(0o755)
        return
    if shutil.which("chattr") is None or subprocess.run(
            ["chattr", "+i", str(directory)], capture_output=True).returncode != 0:
        pytest.skip("as root, only an immutable directory (chattr +i) is unwritable, and this "
                    "file system or container does not allow one")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=True)


def test_an_unwritable_directory_is_refused_before_the_app_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_app(_out: Path) -> list[Path]:
        raise AssertionError("the app was driven for a directory that cannot take the SVGs")

    monkeypatch.setattr(screenshots, "take_all", no_app)
    locked = tmp_path / "locked"
    with _unwritable(locked):
        for out in (locked, locked / "deeper"):
            err = _refused(capsys, str(out))
            assert f"cannot write screenshots to {out}" in err
            assert "not permitted" in err or "denied" in err, err
    assert list(locked.iterdir()) == []


def test_existing_svgs_are_kept_without_force_and_replaced_with_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(screenshots, "SHOTS", screenshots.SHOTS[:1])  # one state: quick
    monkeypatch.setattr(screenshots, "DEBUG_SHOTS", ())
    mine = tmp_path / f"{screenshots.SHOTS[0].name}.svg"
    mine.write_text("my picture")
    err = _refused(capsys, str(tmp_path), status=2)
    assert "already exist" in err and "--force" in err and str(mine) in err
    assert mine.read_text() == "my picture"
    assert main(["screenshot", "--out", str(tmp_path), "--force"]) == 0
    assert capsys.readouterr().out.split() == [str(mine)]
    assert mine.read_text().startswith("<svg")


def test_the_default_directory_is_not_the_readmes_pictures() -> None:
    out = parse_args(["screenshot"]).out
    assert Path(out).resolve() != (Path(__file__).resolve().parent.parent / "screenshots")
    assert out == "realmtui-screenshots"
