"""The two demo guests: A64 programs whose exits each teach one rule (DESIGN.md, "The demo guests").

The same bytes run on the simulated kernel and on a real one, so everything here is plain
machine code built with `backends.a64`, plus the memory layout the VMM must set up around it.
"""

from __future__ import annotations

from dataclasses import dataclass

from backends.a64 import SP, Assembler, Insn, ListingLine, W, X, add, hvc, ldr, mov_imm, smc, str_
from backends.arch import GRANULE_SIZE
from backends.smccc import (
    HOST_CALL_GPRS_OFFSET,
    HOST_CALL_SIZE,
    PSCI_SYSTEM_OFF,
    RIPAS_RAM,
    RSI_HOST_CALL,
    RSI_IPA_STATE_SET,
)

# --- realm memory layout --------------------------------------------------------------------------

# IPA width the VMM asks for in KVM_CREATE_VM (type bits [7:0]). 40 bits is the size KVM gives a
# VM that asks for none (KVM_PHYS_SHIFT), so every host that runs ordinary VMs offers it. In a
# realm it splits the IPA space at bit 39: the lower half is the Protected Address Range (PAR),
# the upper half its unprotected (shared) alias.
REALM_IPA_BITS = 40

# Protected RAM: one 2 MiB memslot. The image is loaded at its base.
REALM_RAM_BASE = 0x8000_0000
REALM_RAM_SIZE = 0x20_0000

# The VMM sets RIPAS = RAM (KVM_CAP_ARM_RME_INIT_RIPAS_REALM) on [REALM_RAM_BASE, + this) only.
# The second MiB stays RIPAS EMPTY, so the guest's RSI_IPA_STATE_SET at E7 asks for a real change.
REALM_INIT_RIPAS_SIZE = 0x10_0000

# The UART at the unprotected alias (top IPA bit set). The VMM maps no memslot there, so each
# access is a stage-2 fault on an unprotected IPA, which the RMM reports to the host as an
# emulatable data abort (TF-RMM runtime/core/exit.c) and KVM turns into KVM_EXIT_MMIO.
REALM_UART_IPA = (1 << (REALM_IPA_BITS - 1)) | 0x0900_0000

# struct rsi_host_call (TF-RMM lib/smc/include/smc-rsi.h): u32 imm @0, u64 gprs[31] @8, 0x100
# bytes. The RMM refuses it (RSI_ERROR_INPUT) unless it is 0x100-aligned, does not cross a 4 KiB
# granule and lies in protected RIPAS-RAM memory (runtime/rsi/host_call.c). It sits in the image,
# one page above the code, so the populated (measured) image already holds its initial contents.
HOSTCALL_IPA = REALM_RAM_BASE + 0x1000
HOSTCALL_SIZE = HOST_CALL_SIZE
HOSTCALL_GPRS_OFFSET = HOST_CALL_GPRS_OFFSET
# SMCCC function id of the host call: fast call, SMC64, owner 3 (OEM service), function 1. KVM
# handles no OEM-service calls itself, so a VMM that installs an SMCCC filter for this id with
# KVM_SMCCC_FILTER_FWD_TO_USER receives it as KVM_EXIT_HYPERCALL.
HOSTCALL_FID = 0xC300_0001
# gprs[1] as the image carries it: recognisable in the KVM copy of x1 at E3, so the user can see
# the struct's contents arrived and that a value set after E3 replaced it at E4.
HOSTCALL_ARG1_INITIAL = 0x5EED_0000_CAFE_F00D

# The range whose RIPAS the guest asks to change to RAM at E7: just above the RIPAS-RAM part,
# inside the memslot, two granules long, outside the image.
RIPAS_CHANGE_BASE = REALM_RAM_BASE + 0x10_0000
RIPAS_CHANGE_TOP = RIPAS_CHANGE_BASE + 0x2000

# Realm images are populated (RMI_DATA_CREATE) a 4 KiB granule at a time, and KVM refuses an
# unaligned POPULATE range ([PATCH v9 19/43]); the realm image is padded to this size.

# --- function ids ---------------------------------------------------------------------------------

# RSI_HOST_CALL, RSI_IPA_STATE_SET (x1 base, x2 top, x3 ripas, x4 flags; returns x0 status,
# x1 new base, x2 response) and the RIPAS values: backends/smccc.py.
# PSCI SYSTEM_OFF (an SMC32 function id). A realm makes PSCI calls by SMC, which the RMM handles;
# an HVC from a realm is undefined (TF-RMM injects an undef). A normal VM uses HVC: Linux 6.1 KVM
# answers any guest SMC with x0 = -1 (handle_smc, arch/arm64/kvm/handle_exit.c).

# --- normal VM memory layout ----------------------------------------------------------------------

NORMAL_RAM_BASE = 0x8000_0000
NORMAL_RAM_SIZE = 0x1_0000
NORMAL_UART_IPA = 0x0900_0000  # no memslot: KVM returns KVM_EXIT_MMIO

# The register that holds the UART address throughout: above x0-x8 (the values under test) and
# untouched by every later step.
_UART = X[20]


# --- the program type -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One stage of a demo: the code from `start` up to and including the exiting instruction."""

    name: str  # "E1".. for the exits of DESIGN.md's table
    start: int  # address of the step's first instruction
    exit_pc: int  # address of the instruction that exits (or spins, for the last step)
    summary: str  # what the guest does next, in a line


@dataclass(frozen=True)
class Program:
    name: str
    load_address: int
    entry: int
    image: bytes
    listing: tuple[ListingLine, ...]
    steps: tuple[Step, ...]
    symbols: tuple[tuple[int, int, str], ...] = ()  # (address, size, name), from an ELF

    def symbol_at(self, addr: int) -> str | None:
        """`name+0xoff` for the function or object holding addr, from the ELF's symbols."""
        for start, size, name in self.symbols:
            if start <= addr < start + max(size, 1):
                return name if addr == start else f"{name}+{addr - start:#x}"
        return None

    def line_at(self, pc: int) -> ListingLine | None:
        """The listing line that holds address `pc`, or None outside the image."""
        for line in self.listing:
            if line.address <= pc < line.address + line.size:
                return line
        return None

    def step_at(self, pc: int) -> Step | None:
        """The step whose code holds `pc`: what the guest does next when stopped there."""
        for step in self.steps:
            if step.start <= pc <= step.exit_pc:
                return step
        return None


class _Builder:
    """An Assembler that records a Step each time a step's exiting instruction is emitted."""

    def __init__(self, base: int) -> None:
        self.asm = Assembler(base)
        self.steps: list[Step] = []
        self._start = base

    def step(self, name: str, summary: str, *code: Insn | tuple[Insn, ...]) -> None:
        """Emit `code` (Insns, or tuples of them as mov_imm returns); its last one exits."""
        for item in code:
            self.asm.emit(*(item if isinstance(item, tuple) else (item,)))
        self.steps.append(Step(name, self._start, self.asm.here - 4, summary))
        self._start = self.asm.here

    def spin(self, summary: str) -> None:
        """`b .`: the last step, never left."""
        here = self.asm.label("spin")
        self.asm.b("spin")
        self.steps.append(Step("end", here, here, summary))
        self._start = self.asm.here


def _realm_demo() -> Program:
    g = _Builder(REALM_RAM_BASE)
    g.step(
        "E1",
        "write x0 to the UART (unprotected IPA): the x0 set before REC creation",
        mov_imm(_UART, REALM_UART_IPA),
        str_(X[0], _UART),
    )
    g.step(
        "E2", "write x8 to the UART: REC_CREATE takes only x0-x7, so this is 0", str_(X[8], _UART)
    )
    g.step(
        "E3",
        "RSI_HOST_CALL with a struct in protected memory: forwarded to the VMM as a hypercall",
        mov_imm(X[1], HOSTCALL_IPA),
        mov_imm(X[0], RSI_HOST_CALL),
        smc(0),
    )
    g.step(
        "E4",
        "write the struct's gprs[1], as the host returned it, to the UART",
        # x1 still holds the struct's IPA: on completion the RMM writes only x0 of the REC.
        ldr(X[9], X[1], HOSTCALL_GPRS_OFFSET + 8),
        str_(X[9], _UART),
    )
    g.step(
        "E5", "read the UART into x5: the VMM supplies the data in kvm_run.mmio", ldr(X[5], _UART)
    )
    g.step("E6", "write x5 back to the UART: shows the MMIO data arrived", str_(X[5], _UART))
    g.step(
        "E7",
        "RSI_IPA_STATE_SET to RAM on an EMPTY range: the host must act (memory fault exit)",
        mov_imm(X[0], RSI_IPA_STATE_SET),
        mov_imm(X[1], RIPAS_CHANGE_BASE),
        mov_imm(X[2], RIPAS_CHANGE_TOP),
        mov_imm(X[3], RIPAS_RAM),
        mov_imm(X[4], 0),
        smc(0),
    )
    g.step(
        "E8",
        "PSCI SYSTEM_OFF by SMC: the realm turns off (system event exit)",
        mov_imm(X[0], PSCI_SYSTEM_OFF),
        smc(0),
    )
    g.spin("spin forever (not reached: after SYSTEM_OFF the RMM refuses to enter the REC)")

    asm = g.asm
    asm.align(GRANULE_SIZE)
    if asm.here != HOSTCALL_IPA:
        raise AssertionError(f"realm demo code overruns the host-call struct at {HOSTCALL_IPA:#x}")
    asm.word(0, "rsi_host_call.imm")
    asm.word(0, "padding")
    asm.quad(HOSTCALL_FID, "rsi_host_call.gprs[0]: SMCCC function id")
    asm.quad(HOSTCALL_ARG1_INITIAL, "rsi_host_call.gprs[1]")
    asm.zero(HOSTCALL_SIZE - HOSTCALL_GPRS_OFFSET - 16, "rsi_host_call.gprs[2..30]")
    asm.align(GRANULE_SIZE)
    out = asm.assemble()
    return Program(
        "realm demo", REALM_RAM_BASE, REALM_RAM_BASE, out.image, out.lines, tuple(g.steps)
    )


def _normal_demo() -> Program:
    # Nothing newer than Linux 6.1 arm64 KVM: MMIO exits and PSCI SYSTEM_OFF by HVC.
    g = _Builder(NORMAL_RAM_BASE)
    g.step(
        "E1",
        "write x0 to the UART (no memslot there): an MMIO write exit",
        mov_imm(_UART, NORMAL_UART_IPA),
        str_(X[0], _UART),
    )
    g.step(
        "E2", "read the UART into x1: the VMM supplies the data in kvm_run.mmio", ldr(X[1], _UART)
    )
    g.step("E3", "write x1 back to the UART: shows the MMIO data arrived", str_(X[1], _UART))
    g.step(
        "E4",
        "PSCI SYSTEM_OFF by HVC: a system event (shutdown) exit",
        mov_imm(X[0], PSCI_SYSTEM_OFF),
        hvc(0),
    )
    g.spin("spin forever (not reached: SYSTEM_OFF stops the vCPU)")
    out = g.asm.assemble()
    return Program(
        "normal demo", NORMAL_RAM_BASE, NORMAL_RAM_BASE, out.image, out.lines, tuple(g.steps)
    )


REALM_DEMO = _realm_demo()
NORMAL_DEMO = _normal_demo()


# --- the RMM probe guest (tests/rmm) --------------------------------------------------------------
#
# Not a demo the app offers: a realm guest for the real-RMM tier, which asks TF-RMM itself which
# of the host's rec_enter.gprs reach the guest after each kind of exit. After every exit under
# test the guest reports all of x0-x30 as it now holds them, in a host call whose struct it fills
# with its registers (rec_exit.gprs then carries them to the host), and names the stage in the
# struct's imm. The stages are the realm demo's exit kinds, in its order.

# struct rsi_host_call for the reports: 0x100-aligned, in the same granule as the demo's struct
# (HOSTCALL_IPA), which the probe uses for its own host call under test.
PROBE_REPORT_IPA = HOSTCALL_IPA + HOSTCALL_SIZE
PSCI_CPU_SUSPEND_64 = 0xC400_0001  # a PSCI exit the realm survives: the RMM only notifies


@dataclass(frozen=True)
class ProbeStage:
    """One exit under test and the report that follows it."""

    name: str  # "create" (before REC creation), "mmio-write", "mmio-read", "host-call", ...
    code: int  # the report's rsi_host_call.imm
    struct_report: bool = False  # also reports its host-call struct (what the host wrote there)


PROBE_STAGES = (
    ProbeStage("create", 1),
    ProbeStage("mmio-write", 2),
    ProbeStage("mmio-read", 3),
    ProbeStage("host-call", 4, struct_report=True),
    ProbeStage("ripas-change", 5),
    ProbeStage("psci", 6),
)
PROBE_STRUCT_REPORT_IMM = 0x5A  # the imm the probe's own host-call struct carries

# The realm's first instructions, where a REC started at the image base instead of the entry the
# host gave REC_CREATE would run: PSCI SYSTEM_OFF, an exit the tier can tell from a report.
PROBE_ENTRY = REALM_RAM_BASE + 0x40


def _probe_report(g: _Builder, stage: ProbeStage) -> None:
    """Store x0-x30 into the report struct, then RSI_HOST_CALL on it. x30 is parked in SP (not
    a GPR of rec_enter) while x30 holds the struct's address, so every register is reported as
    the guest found it."""
    base = X[30]
    code: list[Insn | tuple[Insn, ...]] = [add(SP, X[30], 0), mov_imm(base, PROBE_REPORT_IPA)]
    code += [str_(X[n], base, HOSTCALL_GPRS_OFFSET + 8 * n) for n in range(30)]
    code += [
        add(X[0], SP, 0),
        str_(X[0], base, HOSTCALL_GPRS_OFFSET + 8 * 30),
        mov_imm(X[0], stage.code),
        str_(W[0], base, 0),
        mov_imm(X[0], RSI_HOST_CALL),
        add(X[1], base, 0),
        smc(0),
    ]
    g.step(f"R-{stage.name}", f"report x0-x30 after stage {stage.name}", *code)


def _rmm_probe() -> Program:
    g = _Builder(REALM_RAM_BASE)
    g.step(
        "wrong-entry",
        "only reached if the REC did not start at the entry given to REC_CREATE",
        mov_imm(X[0], PSCI_SYSTEM_OFF),
        smc(0),
    )
    g.asm.align(PROBE_ENTRY - REALM_RAM_BASE)
    g._start = g.asm.here
    stages = {s.name: s for s in PROBE_STAGES}
    _probe_report(g, stages["create"])
    g.step(
        "P-mmio-write", "write x19 to the UART", mov_imm(_UART, REALM_UART_IPA), str_(X[19], _UART)
    )
    _probe_report(g, stages["mmio-write"])
    g.step("P-mmio-read", "read the UART into x5", ldr(X[5], _UART))
    _probe_report(g, stages["mmio-read"])
    g.step(
        "P-host-call",
        "RSI_HOST_CALL on the demo's struct",
        mov_imm(X[1], HOSTCALL_IPA),
        mov_imm(X[0], RSI_HOST_CALL),
        smc(0),
    )
    _probe_report(g, stages["host-call"])
    g.step(
        "P-host-call-struct",
        "RSI_HOST_CALL on the same struct again: its gprs are what the host wrote there",
        mov_imm(X[1], HOSTCALL_IPA),
        mov_imm(X[0], RSI_HOST_CALL),
        smc(0),
    )
    g.step(
        "P-ripas-change",
        "RSI_IPA_STATE_SET to RAM on an EMPTY range",
        mov_imm(X[0], RSI_IPA_STATE_SET),
        mov_imm(X[1], RIPAS_CHANGE_BASE),
        mov_imm(X[2], RIPAS_CHANGE_TOP),
        mov_imm(X[3], RIPAS_RAM),
        mov_imm(X[4], 0),
        smc(0),
    )
    _probe_report(g, stages["ripas-change"])
    g.step(
        "P-psci",
        "PSCI CPU_SUSPEND (standby): the RMM notifies the host and the realm runs on",
        mov_imm(X[0], PSCI_CPU_SUSPEND_64),
        mov_imm(X[1], 0),
        smc(0),
    )
    _probe_report(g, stages["psci"])
    g.step("P-off", "PSCI SYSTEM_OFF", mov_imm(X[0], PSCI_SYSTEM_OFF), smc(0))
    g.spin("spin forever (not reached)")

    asm = g.asm
    asm.align(GRANULE_SIZE)
    if asm.here != HOSTCALL_IPA:
        raise AssertionError(f"probe code overruns the host-call struct at {HOSTCALL_IPA:#x}")
    asm.word(PROBE_STRUCT_REPORT_IMM, "rsi_host_call.imm")
    asm.word(0, "padding")
    asm.zero(HOSTCALL_SIZE - HOSTCALL_GPRS_OFFSET, "rsi_host_call.gprs[0..30]")
    asm.zero(HOSTCALL_SIZE, "the report struct")
    asm.align(GRANULE_SIZE)
    out = asm.assemble()
    return Program("rmm probe", REALM_RAM_BASE, PROBE_ENTRY, out.image, out.lines, tuple(g.steps))


RMM_PROBE = _rmm_probe()


# --- the PSCI probe guest (tests/rmm) -------------------------------------------------------------
#
# A realm with two RECs, for the one RMI command the demo never needs: RMI_PSCI_COMPLETE. REC 0
# turns REC 1 on (CPU_ON) and asks for its state (AFFINITY_INFO); each call exits to the host,
# which completes it, and the guest then reports its registers as the RMM answered.

PSCI_CPU_ON_64 = 0xC400_0003
PSCI_AFFINITY_INFO_64 = 0xC400_0004
PSCI_PROBE_CONTEXT = 0xC0DE_0000_5EC0_17D0  # CPU_ON's context id, for REC 1's x0
PSCI_PROBE_STAGES = (ProbeStage("cpu-on", 0x11), ProbeStage("affinity-info", 0x12))
PSCI_PROBE_SECONDARY = REALM_RAM_BASE + 0x800  # REC 1's entry point


def _rmm_psci_probe() -> Program:
    g = _Builder(REALM_RAM_BASE)
    cpu_on, affinity = PSCI_PROBE_STAGES
    g.step(
        "P-cpu-on",
        "PSCI CPU_ON for MPIDR 1 (REC 1): the host completes it with RMI_PSCI_COMPLETE",
        mov_imm(X[0], PSCI_CPU_ON_64),
        mov_imm(X[1], 1),
        mov_imm(X[2], PSCI_PROBE_SECONDARY),
        mov_imm(X[3], PSCI_PROBE_CONTEXT),
        smc(0),
    )
    _probe_report(g, cpu_on)
    g.step(
        "P-affinity-info",
        "PSCI AFFINITY_INFO for MPIDR 1: completed by the host too",
        mov_imm(X[0], PSCI_AFFINITY_INFO_64),
        mov_imm(X[1], 1),
        mov_imm(X[2], 0),
        smc(0),
    )
    _probe_report(g, affinity)
    g.step("P-off", "PSCI SYSTEM_OFF", mov_imm(X[0], PSCI_SYSTEM_OFF), smc(0))
    g.spin("spin forever (not reached)")
    asm = g.asm
    asm.align(PSCI_PROBE_SECONDARY - REALM_RAM_BASE)
    g._start = asm.here
    g.step("secondary", "REC 1: PSCI SYSTEM_OFF (the host never runs it)",
           mov_imm(X[0], PSCI_SYSTEM_OFF), smc(0))
    asm.align(GRANULE_SIZE)
    if asm.here != HOSTCALL_IPA:
        raise AssertionError(f"PSCI probe code overruns the host-call struct at {HOSTCALL_IPA:#x}")
    asm.zero(2 * HOSTCALL_SIZE, "rsi_host_call structs (the second one is the reports')")
    asm.align(GRANULE_SIZE)
    out = asm.assemble()
    return Program("rmm psci probe", REALM_RAM_BASE, REALM_RAM_BASE, out.image, out.lines,
                   tuple(g.steps))


RMM_PSCI_PROBE = _rmm_psci_probe()
