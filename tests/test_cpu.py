"""The sim's CPU is unicorn: a C guest built with Debian's cross compiler runs on it with its
MMU on, takes an SVC through its own vector table, makes RSI calls (version, realm config,
IPA state set, host call) and ends with PSCI SYSTEM_OFF -- as a realm and as a normal VM.
What the guest reports goes out through its UART as MMIO exits, which the test reads.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from backends import guests
from backends.exits import HypercallExit, MemoryFaultExit, MmioExit, SystemEventExit
from backends.guest_file import load_guest
from backends.sim.cpu import EC_SVC64, Cpu, CpuState, Region, TrapKind, buffer_address
from backends.sim.syndrome import EC_DABT_LOW, ESR_ISV, ESR_SF, ESR_WNR, esr_ec, esr_srt
from realmtui.session import Session, SessionConfig, VmKind

SRC = Path(__file__).parent / "cguest"
GCC = "aarch64-linux-gnu-gcc"
RSI_SUCCESS, SMCCC_NOT_SUPPORTED = 0, (1 << 64) - 1
HOST_ANSWER = 0xFEED_0000_0000_0042


def _cross_compiler() -> str:
    if shutil.which(GCC) is None and os.geteuid() == 0 and shutil.which("apt-get"):
        # As the arm64 tier's builder does: install what the test needs when it can.
        subprocess.run(["apt-get", "install", "-y", "-q", "gcc-aarch64-linux-gnu"],
                       check=False, capture_output=True, timeout=600)
    path = shutil.which(GCC)
    if path is None:
        pytest.skip(f"{GCC} is not installed (Debian: apt-get install gcc-aarch64-linux-gnu)")
    return path


def build_c_guest(out: Path) -> Path:
    """Compile tests/cguest into an ELF64 AArch64 executable linked at guest RAM."""
    gcc = _cross_compiler()
    elf = out / "guest.elf"
    subprocess.run(
        [gcc, "-O1", "-ffreestanding", "-nostdlib", "-fno-pic", "-static",
         "-mgeneral-regs-only", "-Wl,--build-id=none", "-Wl,--no-warn-rwx-segments",
         "-T", str(SRC / "guest.ld"), str(SRC / "start.S"), str(SRC / "guest.c"), "-o", str(elf)],
        check=True, capture_output=True,
    )
    return elf


@pytest.fixture(scope="module")
def c_guest_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_c_guest(tmp_path_factory.mktemp("cguest"))


@pytest.fixture(scope="module")
def c_guest(c_guest_elf: Path) -> guests.Program:
    # Loaded as `--guest` loads it: segments and entry from the ELF.
    return load_guest(c_guest_elf, realm=True)


def _run_to_system_off(s: Session) -> tuple[list[int], list[object]]:
    """Run until PSCI SYSTEM_OFF; the UART writes' data, and every other exit."""
    writes: list[int] = []
    others: list[object] = []
    for _ in range(40):
        out = s.run()
        assert out.exit is not None, out
        kexit = out.exit.exit
        if isinstance(kexit, MmioExit):
            assert kexit.is_write
            writes.append(kexit.data)
            continue
        others.append(kexit)
        if isinstance(kexit, HypercallExit):
            assert s.set("x1", hex(HOST_ANSWER)).ok
        if isinstance(kexit, SystemEventExit):
            return writes, others
    raise AssertionError(f"no SYSTEM_OFF; UART saw {writes}, exits {others}")


def test_c_guest_in_a_realm(c_guest: guests.Program) -> None:
    s = Session(SessionConfig(program=c_guest))
    for n, value in enumerate((1, guests.REALM_UART_IPA, guests.HOSTCALL_FID)):
        assert s.set(f"x{n}", hex(value)).ok  # before REC creation: REC_CREATE takes x0-x7
    assert s.finalize().ok and s.activate().ok
    writes, others = _run_to_system_off(s)
    mmu_on, svc_esr, rsi_version, config, ipa_state, host_gprs1 = writes
    assert mmu_on == 1
    assert esr_ec(svc_esr) == EC_SVC64 and svc_esr & 0xFFFF == 0x42  # its own vector saw it
    assert rsi_version == RSI_SUCCESS
    assert config == RSI_SUCCESS | guests.REALM_IPA_BITS << 8  # the RMM wrote ipa_width
    assert ipa_state == RSI_SUCCESS
    assert host_gprs1 == HOST_ANSWER  # the host call came back with the host's x1
    assert any(isinstance(e, MemoryFaultExit) for e in others)  # the RIPAS change went via KVM
    assert any(isinstance(e, HypercallExit) and e.nr == guests.HOSTCALL_FID for e in others)


def test_c_guest_in_a_normal_vm(c_guest: guests.Program) -> None:
    s = Session(SessionConfig(vm=VmKind.NORMAL, program=c_guest))
    for n, value in enumerate((0, guests.NORMAL_UART_IPA)):
        assert s.set(f"x{n}", hex(value)).ok
    writes, _ = _run_to_system_off(s)
    assert writes[0] == 1 and esr_ec(writes[1]) == EC_SVC64
    assert writes[2] == SMCCC_NOT_SUPPORTED  # KVM knows no RSI: SMCCC NOT_SUPPORTED
    assert len(writes) == 3


@pytest.mark.parametrize("vm", ["realm", "normal"])
def test_realmtui_batch_guest_runs_the_c_guest_to_system_off(c_guest_elf: Path, vm: str) -> None:
    """As a user would: `realmtui batch --guest guest.elf`, no registers set (the guest finds
    its world itself), run until the guest powers off."""
    steps = ["finalize", "activate"] if vm == "realm" else []
    script = "\n".join(steps + ["run"] * 12 + ["state"]) + "\n"
    proc = subprocess.run(
        [sys.executable, "-m", "realmtui", "batch", "--vm", vm, "--guest", str(c_guest_elf)],
        input=script, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    exits = [a["exit"] for a in answers if a.get("command") == "run" and a.get("ok")]
    uart = [int(e["data"], 16) for e in exits if e["reason"] == "MMIO"]
    assert uart[0] == 1 and esr_ec(uart[1]) == EC_SVC64  # MMU on; its vector took the SVC
    if vm == "realm":
        assert uart[2] == RSI_SUCCESS  # RSI_VERSION
        assert any(e["reason"] == "HYPERCALL" for e in exits)  # the host call reached the VMM
    else:
        assert uart[2] == SMCCC_NOT_SUPPORTED
    assert any(e["reason"] == "SYSTEM_EVENT" for e in exits)  # PSCI SYSTEM_OFF
    assert answers[-1]["stage"] == "off" or vm == "realm"


def _ram(code: bytes) -> tuple[Region, bytearray]:
    buf = bytearray(0x1000)
    buf[: len(code)] = code
    addr, keep = buffer_address(buf)
    return Region(0x8000_0000, 0x1000, addr, keep=(buf, keep)), buf


class _Mem:
    def __init__(self, *regions: Region) -> None:
        self._regions = regions

    def regions(self) -> tuple[Region, ...]:
        return self._regions


@pytest.mark.parametrize(
    ("insn", "write", "size", "sf"),
    [
        (0xF9000041, True, 3, True),  # str x1, [x2]
        (0xB9400041, False, 2, False),  # ldr w1, [x2]
        (0x39000041, True, 0, False),  # strb w1, [x2]
        (0xF8616841, False, 3, True),  # ldr x1, [x2, x1]
    ],
)
def test_a_stage2_fault_carries_the_syndrome_hardware_gives(
    insn: int, write: bool, size: int, sf: bool
) -> None:
    region, _ = _ram(insn.to_bytes(4, "little"))
    st = CpuState(pc=region.ipa)
    st.x[2] = 0x0900_0008
    trap = Cpu().run(st, _Mem(region))
    assert trap.kind is TrapKind.DATA_ABORT and esr_ec(trap.esr) == EC_DABT_LOW
    assert trap.esr & ESR_ISV and esr_srt(trap.esr) == 1
    assert bool(trap.esr & ESR_WNR) == write and bool(trap.esr & ESR_SF) == sf
    assert (trap.esr >> 22) & 3 == size
    assert trap.ipa == 0x0900_0008 and trap.hpfar == 0x0900_0000 >> 8
    assert st.pc == region.ipa  # pc stays on the access for the hypervisor to emulate


def test_a_load_pair_faults_without_a_syndrome() -> None:
    region, _ = _ram((0xA9400441).to_bytes(4, "little"))  # ldp x1, x1, [x2]
    st = CpuState(pc=region.ipa)
    st.x[2] = 0x0900_0000
    trap = Cpu().run(st, _Mem(region))
    assert trap.kind is TrapKind.DATA_ABORT and not trap.esr & ESR_ISV


def test_guest_writes_land_in_the_owners_memory() -> None:
    # str x1, [x2]; smc #0
    region, buf = _ram(bytes.fromhex("410000f9030000d4"))
    st = CpuState(pc=region.ipa)
    st.x[1], st.x[2] = 0x1122_3344_5566_7788, region.ipa + 0x800
    trap = Cpu().run(st, _Mem(region))
    assert trap.kind is TrapKind.SMC and trap.pc == region.ipa + 4 and st.pc == trap.pc
    assert int.from_bytes(buf[0x800:0x808], "little") == 0x1122_3344_5566_7788


def test_hvc_returns_to_the_next_instruction() -> None:
    region, _ = _ram(bytes.fromhex("a20000d4"))  # hvc #5
    st = CpuState(pc=region.ipa)
    trap = Cpu().run(st, _Mem(region))
    assert trap.kind is TrapKind.HVC and trap.esr & 0xFFFF == 5 and st.pc == region.ipa + 4


def test_the_budget_ends_a_spinning_guest() -> None:
    region, _ = _ram(bytes.fromhex("00000014"))  # b .
    st = CpuState(pc=region.ipa)
    assert Cpu().run(st, _Mem(region), budget=1000).kind is TrapKind.BUDGET
