"""The two demo guests: A64 programs whose exits each teach one rule (DESIGN.md, "The demo guests").

The same bytes run on the simulated kernel and on a real one, so everything here is plain
machine code built with `backends.a64`, plus the memory layout the VMM must set up around it.
"""

from __future__ import annotations

from dataclasses import dataclass

from backends.a64 import Assembler, Insn, ListingLine, X, hvc, ldr, mov_imm, smc, str_

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
HOSTCALL_SIZE = 0x100
HOSTCALL_GPRS_OFFSET = 8
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
GRANULE_SIZE = 0x1000

# --- function ids ---------------------------------------------------------------------------------

# RSI function ids, TF-RMM lib/smc/include/smc-rsi.h (RMM v1.0): SMC64_RSI_FID(n) = 0xC4000190 + n.
RSI_HOST_CALL = 0xC400_0199  # x1 = IPA of struct rsi_host_call
# x1 base, x2 top, x3 ripas (0 EMPTY, 1 RAM), x4 flags; returns x0 status, x1 new base, x2 response
RSI_IPA_STATE_SET = 0xC400_0197
RIPAS_EMPTY = 0
RIPAS_RAM = 1
RSI_SUCCESS = 0
# PSCI SYSTEM_OFF (an SMC32 function id). A realm makes PSCI calls by SMC, which the RMM handles;
# an HVC from a realm is undefined (TF-RMM injects an undef). A normal VM uses HVC: Linux 6.1 KVM
# answers any guest SMC with x0 = -1 (handle_smc, arch/arm64/kvm/handle_exit.c).
PSCI_SYSTEM_OFF = 0x8400_0008

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
