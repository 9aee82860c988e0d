"""`--guest FILE`: an ELF64 AArch64 executable or a raw image runs in place of the demo, and a
bad file gets one clear line and exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from backends import guests
from backends.guest_file import GuestFileError, load_guest
from tests.test_cpu import build_c_guest


@pytest.fixture(scope="module")
def elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_c_guest(tmp_path_factory.mktemp("guestfile"))


def _batch(script: str, *args: str) -> tuple[int, list[dict], str]:
    proc = subprocess.run(
        [sys.executable, "-m", "realmtui.cli", "batch", *args],
        input=script, capture_output=True, text=True, timeout=120,
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode, lines, proc.stderr


def test_an_elf_guest_runs_in_a_normal_vm_through_batch(elf: Path) -> None:
    script = f"set x0 0\nset x1 {guests.NORMAL_UART_IPA:#x}\nrun\nrun\nrun\nrun\n"
    rc, out, err = _batch(script, "--vm", "normal", "--guest", str(elf))
    assert rc == 0, err
    exits = [line["exit"] for line in out if line["command"] == "run"]
    assert [e["reason"] for e in exits] == ["MMIO", "MMIO", "MMIO", "SYSTEM_EVENT"]
    assert exits[0]["data"] == "0x1"  # the C guest's MMU is on


def test_a_raw_image_loads_where_told(tmp_path: Path) -> None:
    raw = tmp_path / "g.bin"
    raw.write_bytes(bytes.fromhex("1f2003d5" "a20000d4"))  # nop; hvc #5
    prog = load_guest(raw, realm=False, load_addr=guests.NORMAL_RAM_BASE + 0x100,
                      entry=guests.NORMAL_RAM_BASE + 0x104)
    assert prog.load_address == guests.NORMAL_RAM_BASE + 0x100
    assert prog.entry == guests.NORMAL_RAM_BASE + 0x104
    assert load_guest(raw, realm=True).entry == guests.REALM_RAM_BASE  # the default


def _truncated(elf: Path, tmp: Path) -> Path:
    cut = tmp / "cut.elf"
    cut.write_bytes(elf.read_bytes()[:0x200])
    return cut


def _x86(tmp: Path) -> Path:
    data = bytearray(Path(sys.executable).resolve().read_bytes()[:4096])
    if data[:4] != b"\x7fELF":
        pytest.skip("the Python binary is not an ELF here")
    data[18:20] = (62).to_bytes(2, "little")  # EM_X86_64
    bad = tmp / "x86.elf"
    bad.write_bytes(bytes(data))
    return bad


@pytest.mark.parametrize(
    ("make", "args", "needle"),
    [
        (lambda elf, tmp: _truncated(elf, tmp), (), "truncated"),
        (lambda elf, tmp: _x86(tmp), (), "not AArch64"),
        (lambda elf, tmp: elf, ("--vm", "normal", "--entry", "0x90000000"), "outside the image"),
        (lambda elf, tmp: elf, ("--load-addr", "0x80000000"), "raw images"),
        (lambda elf, tmp: tmp / "missing", (), "cannot read"),
    ],
)
def test_bad_guest_files_get_one_clear_line(
    elf: Path, tmp_path: Path, make: object, args: tuple[str, ...], needle: str
) -> None:
    path = make(elf, tmp_path)  # type: ignore[operator]
    rc, out, err = _batch("", "--guest", str(path), *args)
    assert rc == 2 and out == []
    assert needle in err and "Traceback" not in err and err.count("\n") == 1


def test_a_raw_image_bigger_than_ram_is_refused(tmp_path: Path) -> None:
    raw = tmp_path / "big.bin"
    raw.write_bytes(bytes(guests.NORMAL_RAM_SIZE + 4))
    with pytest.raises(GuestFileError, match="does not fit in guest RAM"):
        load_guest(raw, realm=False)


def test_screenshot_guest_draws_your_guest_and_its_code(tmp_path: Path) -> None:
    from realmtui import cli

    raw = tmp_path / "loop.bin"
    # str x0, [x1] (x1 = 0: an IPA without RAM, an MMIO exit); then b . (spin)
    raw.write_bytes(bytes.fromhex("200000f9") + bytes.fromhex("00000014"))
    out = tmp_path / "shots"
    assert cli.main(["screenshot", "--guest", str(raw), "--vm", "normal", "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["guest-after-E1.svg", "guest-code-at-pc.svg", "guest-start.svg"]
    code = (out / "guest-code-at-pc.svg").read_text()
    assert "your&#160;guest&#160;(normal)" in code or "your guest (normal)" in code
    assert "str&#160;x0,&#160;[x1]" in code or "str x0, [x1]" in code


def test_screenshot_takes_vm_only_with_a_guest(capsys: pytest.CaptureFixture[str]) -> None:
    from realmtui import cli

    with pytest.raises(SystemExit) as e:
        cli.main(["screenshot", "--vm", "normal"])
    assert e.value.code == 2
    assert "--vm" in capsys.readouterr().err
