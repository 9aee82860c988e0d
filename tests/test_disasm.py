"""Disassembly at pc: from the VMM's RAM for a normal VM, from the RMM's memory for a realm on
the sim (labelled sim only), never for a realm on a real host; ELF symbols label the lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends import guests
from backends.guest_file import load_guest
from realmtui import disasm
from realmtui.session import Session, SessionConfig, VmKind
from tests.test_cpu import build_c_guest


def test_a_normal_vm_shows_the_instruction_at_pc_marked() -> None:
    s = Session(SessionConfig(vm=VmKind.NORMAL))
    s.run()  # N1: the UART write
    d = disasm.at_pc(s)
    assert d.source == disasm.HOST_MEMORY and d.note is None
    current = [ln for ln in d.lines if ln.current]
    assert len(current) == 1 and current[0].address == d.pc
    assert current[0].text.startswith("str x0")  # the write that made the MMIO exit
    s.close()


def test_a_realm_on_the_sim_is_shown_from_the_rmm_and_says_so() -> None:
    s = Session()
    assert disasm.at_pc(s).note == "no REC yet"
    assert s.finalize().ok and s.activate().ok
    s.run()
    d = disasm.at_pc(s)
    assert d.source == disasm.SIM_ONLY and "sim only" in d.text()
    assert next(ln for ln in d.lines if ln.current).text.startswith("str x0")
    s.close()


def test_a_realm_on_a_real_host_cannot_be_read(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Session()
    assert s.finalize().ok and s.activate().ok
    monkeypatch.setattr(s, "inspector", None)  # what a real kernel's backend bundle carries
    d = disasm.at_pc(s)
    assert d.lines == () and d.note == disasm.NO_PROTECTED
    s.close()


def test_elf_symbols_label_the_lines(tmp_path: Path) -> None:
    prog = load_guest(build_c_guest(tmp_path), realm=False)
    s = Session(SessionConfig(vm=VmKind.NORMAL, program=prog))
    assert s.set("x0", "0").ok and s.set("x1", hex(guests.NORMAL_UART_IPA)).ok
    s.run()
    d = disasm.at_pc(s)
    assert any(ln.symbol and ln.symbol.startswith("main") for ln in d.lines if ln.current)
    s.close()


def test_a_vm_on_an_agent_is_read_over_there() -> None:
    from tests.test_agent import AGENT

    s = Session(SessionConfig(backend=f"agent:{AGENT}", vm=VmKind.NORMAL))  # type: ignore[arg-type]
    try:
        assert s.run().ok
        d = disasm.at_pc(s)
        assert d.source == disasm.HOST_MEMORY
        assert next(ln for ln in d.lines if ln.current).text.startswith("str")  # the UART store
    finally:
        s.close()
