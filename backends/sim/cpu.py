"""The guest's CPU: unicorn (the QEMU-derived ARM64 engine) running at EL1/EL0, with the sim's
EL2 around it.

Unicorn executes the guest -- MMU, caches off or on, FP/SIMD, EL1 system registers -- and
stops whenever the guest would leave EL1 for EL2. `Cpu.run` turns that stop into a `Trap`
carrying what hardware would write to ESR_EL2, FAR_EL2 and HPFAR_EL2, so the layers above
(KVM's handle_exit, TF-RMM's exit.c) build their exits from the same syndrome they read on a
real machine:

* HVC and (HCR_EL2.TSC) SMC trap to EL2 (EC 0x16 / 0x17, imm16 in the ISS);
* a stage-2 fault -- an access to an IPA with no memory behind it, or a write to a read-only
  memslot -- is a data or instruction abort from a lower EL (EC 0x24 / 0x20), with ISV, SAS,
  SSE, SRT, SF and WnR decoded from the instruction (Arm ARM D24.2.45 "ISS encoding for an
  exception from a Data Abort");
* an MSR/MRS the embedder says traps to EL2 (`sysreg_traps`: for a REC, the GIC CPU interface
  registers TF-RMM programs to trap) is EC 0x18 with Op0, Op2, Op1, CRn, Rt, CRm and the
  direction decoded from the instruction (Arm ARM D24.2.45, "ISS encoding for an exception
  from MSR, MRS, or System instruction execution in AArch64 state"); every other MSR/MRS
  unicorn executes itself. Unicorn calls the hook at run time for every MSR/MRS once one is
  installed, so only engines that need it (a REC's) install it;
* everything else the guest takes at its own EL1 (SVC, BRK, UNDEFINED, stage-1 aborts) goes
  to its vector table at VBAR_EL1, as AArch64.TakeException does (Arm ARM D1.10): unicorn
  reports these exceptions to the embedder instead of delivering them, so this module
  delivers them.

Guest memory is mapped into unicorn zero-copy from whoever owns it: a normal VM's memslots
(the VMM's pages, so the VMM sees the guest's writes, as with KVM), a realm's granules (the
RMM's memory: the host never sees them). Each vCPU or REC keeps one engine, so the guest's EL1
system registers (SCTLR, TCR, TTBRs, VBAR...) persist across runs as they do in hardware.

WFI completes at once, a legal behaviour (the Arm ARM lets a WFI wake for no reason), and
neither host exits to userspace for it (KVM blocks in the kernel; TF-RMM traps WFI only when
REC_ENTER_FLAG_TRAP_WFI is set, which the v9 kernel never does).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum, auto
from typing import Protocol

try:  # the sim's kernel imports without unicorn; only running a guest needs it
    from unicorn import (
        UC_ARCH_ARM64,
        UC_HOOK_INSN,
        UC_HOOK_INTR,
        UC_HOOK_MEM_FETCH_UNMAPPED,
        UC_HOOK_MEM_READ_UNMAPPED,
        UC_HOOK_MEM_WRITE_PROT,
        UC_HOOK_MEM_WRITE_UNMAPPED,
        UC_MEM_FETCH_UNMAPPED,
        UC_MEM_WRITE_PROT,
        UC_MEM_WRITE_UNMAPPED,
        UC_MODE_ARM,
        UC_PROT_EXEC,
        UC_PROT_READ,
        UC_PROT_WRITE,
        UC_TLB_CPU,
        Uc,
        UcError,
    )
    from unicorn import arm64_const as r
except ImportError:  # pragma: no cover -- e.g. the arm64 tier's guest, which has no wheel
    Uc = None  # type: ignore[assignment,misc]

from backends.arch import MASK64 as _MASK64
from backends.sim.syndrome import (
    EC_DABT_LOW,
    EC_HVC64,
    EC_IABT_LOW,
    EC_SHIFT,
    EC_SMC64,
    EC_SYS64,
    EC_UNKNOWN,
    ESR_FNV,
    ESR_IL,
    ESR_ISV,
    ESR_SAS_SHIFT,
    ESR_SF,
    ESR_SRT_SHIFT,
    ESR_SSE,
    ESR_WNR,
)

# Exception classes the guest takes at its own EL1 (Arm ARM D24.2.40, ESR_EL1.EC).
EC_SVC64 = 0x15
EC_IABT_CUR = 0x21
EC_DABT_CUR = 0x25
EC_BRK64 = 0x3C
FSC_TRANSLATION_L3 = 0x07  # DFSC/IFSC: translation fault, level 3 (what stage 2 reports here)
FSC_TRANSLATION_L0 = 0x04

# QEMU's exception numbers (target/arm/cpu.h), which unicorn passes to UC_HOOK_INTR.
_EXCP_UDEF, _EXCP_SWI, _EXCP_PREFETCH_ABORT, _EXCP_DATA_ABORT = 1, 2, 3, 4
_EXCP_BKPT, _EXCP_HVC, _EXCP_SMC = 7, 11, 13

_PAGE = 0x1000
_PSTATE_EL1H_DAIF = 0x3C5
# Vector offsets from VBAR_EL1 (Arm ARM D1.10.2): synchronous exceptions only.
_VEC_CUR_SP0, _VEC_CUR_SPX, _VEC_LOWER_A64 = 0x000, 0x200, 0x400

# (CRn, CRm, op0, op1, op2) of the EL1 registers unicorn names only by encoding.
_SPSR_EL1 = (4, 0, 3, 0, 0)

_X: list[int] = []  # unicorn's ids of x0-x30, filled when the first engine is made


@dataclass(frozen=True)
class Region:
    """Guest RAM at [ipa, ipa + size), backed by host memory at `host` (page aligned)."""

    ipa: int
    size: int
    host: int
    writable: bool = True
    keep: object = field(default=None, compare=False)  # what keeps `host` valid while mapped


class GuestMemory(Protocol):
    """Guest memory through stage 2: the regions that have memory behind them. An access
    anywhere else is a stage-2 fault, for the hypervisor (or the RMM) to handle."""

    def regions(self) -> tuple[Region, ...]: ...


@dataclass
class CpuState:
    """The registers KVM and the RMM read and write between runs."""

    x: list[int] = field(default_factory=lambda: [0] * 31)  # x0-x30, unsigned 64-bit
    sp: int = 0  # the current SP: SP_EL1 in EL1h
    pc: int = 0
    pstate: int = _PSTATE_EL1H_DAIF  # EL1h with D, A, I, F masked; NZCV in [31:28]


@dataclass(frozen=True)
class El1Context:
    """What the EL1 side of the CPU holds that KVM's and the RMM's register copies show."""

    sp_el0: int
    elr_el1: int
    spsr_el1: int
    esr_el1: int
    far_el1: int
    vbar_el1: int
    sctlr_el1: int
    vregs: tuple[int, ...]
    fpsr: int
    fpcr: int


class TrapKind(StrEnum):
    DATA_ABORT = auto()  # stage-2 fault on a load or store
    INSN_ABORT = auto()  # stage-2 fault on an instruction fetch
    SMC = auto()  # trapped to EL2 by HCR_EL2.TSC
    HVC = auto()
    SYSREG = auto()  # an MSR/MRS trapped to EL2 (EC 0x18)
    UNDEFINED = auto()  # the CPU model cannot go on (insn says where); ESR is 0
    BUDGET = auto()  # the instruction budget ran out


@dataclass(frozen=True)
class Trap:
    """Why `run` stopped, with the syndrome registers EL2 would see."""

    kind: TrapKind
    esr: int  # ESR_EL2 as hardware would report it to EL2
    far: int  # FAR_EL2: the faulting virtual address
    hpfar: int  # HPFAR_EL2: FIPA = IPA[51:12] in bits [43:4]
    pc: int  # address of the instruction that trapped
    insn: int  # its encoding (0 when it could not be fetched)
    ipa: int = 0  # the faulting IPA in full (HPFAR has only its page)
    detail: str = ""

    @property
    def ec(self) -> int:
        return self.esr >> EC_SHIFT

    @property
    def iss(self) -> int:
        return self.esr & ((1 << 25) - 1)

    def describe(self) -> str:
        """One line for a person: what stopped the guest, and where."""
        at = f"at pc {self.pc:#x}"
        imm16 = self.iss & 0xFFFF
        match self.kind:
            case TrapKind.DATA_ABORT:
                if not self.esr & ESR_ISV:
                    return f"stage-2 data abort at IPA {self.ipa:#x} (no syndrome: ISV=0), {at}"
                size = 1 << ((self.iss >> ESR_SAS_SHIFT) & 3)
                reg = f"{'x' if self.iss & ESR_SF else 'w'}{(self.iss >> ESR_SRT_SHIFT) & 31}"
                what = f"{size}-byte {'write of' if self.iss & ESR_WNR else 'read into'} {reg}"
                return f"stage-2 data abort: {what} at IPA {self.ipa:#x}, {at}"
            case TrapKind.INSN_ABORT:
                return f"stage-2 instruction abort: nothing mapped at IPA {self.ipa:#x}"
            case TrapKind.SMC:
                return f"smc #{imm16:#x} {at}"
            case TrapKind.HVC:
                return f"hvc #{imm16:#x} {at}"
            case TrapKind.SYSREG:
                op = "mrs" if self.iss & 1 else "msr"
                return f"trapped {op} of S{(self.iss >> 20) & 3}_{(self.iss >> 14) & 7}_" \
                    f"C{(self.iss >> 10) & 15}_C{(self.iss >> 1) & 15}_{(self.iss >> 17) & 7} " \
                    f"(x{(self.iss >> 5) & 31}) {at}"
            case TrapKind.BUDGET:
                return f"no exit within the instruction budget; stopped {at}"
        return f"{self.detail or 'the CPU model stopped'} {at} (instruction {self.insn:#010x})"


def hpfar_of(ipa: int) -> int:
    return ((ipa >> 12) & ((1 << 40) - 1)) << 4


# --- the ISS of a stage-2 data abort (Arm ARM D24.2.45) ------------------------------------------


@dataclass(frozen=True)
class _Access:
    """A single-register load or store without writeback: the instructions for which a
    stage-2 data abort reports ISV=1 with SAS, SSE, SRT, SF and WnR."""

    size: int  # log2 bytes
    rt: int
    write: bool
    signed: bool
    sf: bool  # the register is 64-bit
    va: int


def _sext(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _extend(value: int, option: int, shift: int) -> int:
    """ExtendReg(): UXTW/SXTW/UXTX/SXTX of a register offset, then the LSL."""
    width = 32 if option & 3 == 2 else 64
    value &= (1 << width) - 1
    if option & 4:
        value = _sext(value, width)
    return (value << shift) & _MASK64


def decode_access(insn: int, read_x: object, pc: int) -> _Access | None:
    """The load/store groups of Arm ARM C4.1.4 that have a syndrome; None for the others
    (pairs, SIMD&FP registers, writeback, exclusives): their aborts report ISV=0."""
    reg = read_x  # Callable[[int, bool], int]: X[n], or SP for 31 when the flag says so
    size, opc = insn >> 30, (insn >> 22) & 3
    if insn & 0x3B00_0000 == 0x1800_0000:  # LDR (literal), LDRSW (literal), PRFM
        if opc == 0b11 or insn & (1 << 26):
            return None
        sf = opc != 0
        return _Access(3 if insn >> 30 & 1 else 2, insn & 31, False, opc == 0b10, sf,
                       (pc + (_sext((insn >> 5) & 0x7FFFF, 19) << 2)) & _MASK64)
    if insn & 0x3B00_0000 == 0x3900_0000:  # unsigned immediate offset
        offset = ((insn >> 10) & 0xFFF) << size
    elif insn & 0x3B20_0C00 in (0x3800_0000, 0x3800_0800):  # unscaled (LDUR) / unprivileged
        offset = _sext((insn >> 12) & 0x1FF, 9)
    elif insn & 0x3B20_0C00 == 0x3820_0800:  # register offset
        option, s = (insn >> 13) & 7, (insn >> 12) & 1
        if not option & 2:
            return None
        offset = _extend(reg((insn >> 16) & 31, False), option, size if s else 0)  # type: ignore[operator]
    else:
        return None
    if insn & (1 << 26) or (opc == 0b10 and size == 0b11) or (opc == 0b11 and size >= 0b10):
        return None  # SIMD&FP, PRFM and unallocated
    base = reg((insn >> 5) & 31, True)  # type: ignore[operator]
    write, signed = opc == 0b00, opc >= 0b10
    sf = opc == 0b10 or (opc < 0b10 and size == 0b11)
    return _Access(size, insn & 31, write, signed, sf, (base + offset) & _MASK64)


def data_abort_iss(acc: _Access | None, write: bool) -> int:
    if acc is None:
        return ESR_WNR if write else 0
    iss = ESR_ISV | (acc.size << ESR_SAS_SHIFT) | (acc.rt << ESR_SRT_SHIFT)
    iss |= (ESR_SF if acc.sf else 0) | (ESR_SSE if acc.signed else 0)
    return iss | (ESR_WNR if acc.write else 0)


def sysreg_esr(insn: int) -> int | None:
    """ESR_EL2 for a trapped MSR/MRS (register) -- encoding 1101 0101 00 L 1 o0 op1 CRn CRm op2
    Rt, Arm ARM C6.2.228/C6.2.230 -- or None for any other instruction. ISS: Op0 [21:20],
    Op2 [19:17], Op1 [16:14], CRn [13:10], Rt [9:5], CRm [4:1], Direction [0] (1 = read)."""
    if insn & 0xFFD0_0000 != 0xD510_0000:
        return None
    op0, op1 = 2 + ((insn >> 19) & 1), (insn >> 16) & 7
    crn, crm, op2, rt = (insn >> 12) & 15, (insn >> 8) & 15, (insn >> 5) & 7, insn & 31
    iss = op0 << 20 | op2 << 17 | op1 << 14 | crn << 10 | rt << 5 | crm << 1 | (insn >> 21) & 1
    return (EC_SYS64 << EC_SHIFT) | ESR_IL | iss


# --- the engine ----------------------------------------------------------------------------------


class Cpu:
    """One vCPU's unicorn engine, created on first run and kept with its EL1 state."""

    def __init__(self, sysreg_traps: Callable[[int], bool] | None = None) -> None:
        # Which MSR/MRS trap to EL2, given their ESR: the EL2 trap controls this CPU runs
        # under (None: none trap, unicorn executes every MSR/MRS as before).
        self._sysreg_traps = sysreg_traps
        self._uc: Uc | None = None
        self._mapped: dict[int, Region] = {}
        self._trap: Trap | None = None
        self._holds: dict[int, object] = {}

    # -- memory --
    def _engine(self) -> Uc:
        if self._uc is None:
            if Uc is None:
                raise RuntimeError("the sim's CPU needs unicorn: pip install 'unicorn>=2.1'")
            if not _X:
                _X.extend(getattr(r, f"UC_ARM64_REG_X{n}") for n in range(29))
                _X.extend((r.UC_ARM64_REG_X29, r.UC_ARM64_REG_X30))
            uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
            uc.ctl_set_tlb_mode(UC_TLB_CPU)  # the guest's own stage-1 tables translate
            uc.hook_add(UC_HOOK_INTR, self._on_exception)
            uc.hook_add(
                UC_HOOK_MEM_READ_UNMAPPED | UC_HOOK_MEM_WRITE_UNMAPPED
                | UC_HOOK_MEM_FETCH_UNMAPPED | UC_HOOK_MEM_WRITE_PROT,
                self._on_stage2_fault,
            )
            if self._sysreg_traps is not None:
                for ins in (r.UC_ARM64_INS_MRS, r.UC_ARM64_INS_MSR):
                    uc.hook_add(UC_HOOK_INSN, self._on_sysreg, None, 1, 0, ins)
            self._uc = uc
        return self._uc

    def _sync_memory(self, uc: Uc, mem: GuestMemory) -> None:
        want = {reg.ipa: reg for reg in mem.regions()}
        if want == self._mapped:
            return
        for ipa, reg in list(self._mapped.items()):
            if want.get(ipa) != reg:
                uc.mem_unmap(ipa, reg.size)
                del self._mapped[ipa]
        for ipa, reg in want.items():
            if ipa not in self._mapped:
                perms = UC_PROT_READ | UC_PROT_EXEC | (UC_PROT_WRITE if reg.writable else 0)
                uc.mem_map_ptr(ipa, reg.size, perms, reg.host)
                self._mapped[ipa] = reg
        uc.ctl_flush_tb()

    # -- registers --
    def _load_state(self, uc: Uc, st: CpuState) -> None:
        uc.reg_write(r.UC_ARM64_REG_PSTATE, st.pstate)
        for n in range(31):
            uc.reg_write(_X[n], st.x[n])
        uc.reg_write(r.UC_ARM64_REG_SP, st.sp)
        uc.reg_write(r.UC_ARM64_REG_PC, st.pc)

    def _store_state(self, uc: Uc, st: CpuState) -> None:
        for n in range(31):
            st.x[n] = uc.reg_read(_X[n])
        st.sp = uc.reg_read(r.UC_ARM64_REG_SP)
        st.pc = uc.reg_read(r.UC_ARM64_REG_PC)
        st.pstate = uc.reg_read(r.UC_ARM64_REG_PSTATE)

    def _read_x(self, n: int, sp: bool) -> int:
        assert self._uc is not None
        if n == 31:
            return int(self._uc.reg_read(r.UC_ARM64_REG_SP)) if sp else 0
        return int(self._uc.reg_read(_X[n]))

    def _insn_at(self, pc: int) -> int:
        assert self._uc is not None
        try:
            return int.from_bytes(self._uc.mem_read(pc, 4), "little")
        except UcError:
            return 0

    # -- running --
    def run(self, st: CpuState, mem: GuestMemory, budget: int = 100_000) -> Trap:
        """Execute from st.pc until an exception to EL2, or until `budget` instructions."""
        uc = self._engine()
        self._sync_memory(uc, mem)
        self._load_state(uc, st)
        self._trap = None
        try:
            uc.emu_start(st.pc, _MASK64, count=budget)
        except UcError as err:
            if self._trap is None:
                self._trap = self._stopped(f"the CPU model stopped ({err})")
        self._store_state(uc, st)
        trap = self._trap
        if trap is None:
            return Trap(TrapKind.BUDGET, 0, 0, 0, st.pc, 0)
        if trap.kind in (TrapKind.SMC, TrapKind.DATA_ABORT, TrapKind.INSN_ABORT,
                         TrapKind.SYSREG):
            st.pc = trap.pc  # the preferred return is the instruction itself
        return trap

    def _stopped(self, why: str) -> Trap:
        pc = self._read_x_pc()
        return Trap(TrapKind.UNDEFINED, 0, 0, 0, pc, self._insn_at(pc), detail=why)

    def _read_x_pc(self) -> int:
        assert self._uc is not None
        return int(self._uc.reg_read(r.UC_ARM64_REG_PC))

    def _halt(self, trap: Trap) -> None:
        self._trap = trap
        assert self._uc is not None
        self._uc.emu_stop()

    def _on_stage2_fault(
        self, uc: Uc, kind: int, ipa: int, size: int, value: int, _data: object
    ) -> bool:
        pc = self._read_x_pc()
        insn = self._insn_at(pc)
        if kind == UC_MEM_FETCH_UNMAPPED:
            esr = (EC_IABT_LOW << EC_SHIFT) | ESR_IL | FSC_TRANSLATION_L3
            self._trap = Trap(TrapKind.INSN_ABORT, esr, pc, hpfar_of(ipa), pc, 0, ipa=ipa)
            return False
        write = kind in (UC_MEM_WRITE_UNMAPPED, UC_MEM_WRITE_PROT)
        acc = decode_access(insn, self._read_x, pc)
        # FAR_EL2 is the VA; with the MMU off it is the IPA. Its page offset is the IPA's.
        far = acc.va if acc is not None else ipa
        esr = (EC_DABT_LOW << EC_SHIFT) | ESR_IL | data_abort_iss(acc, write) | FSC_TRANSLATION_L3
        self._trap = Trap(TrapKind.DATA_ABORT, esr, far, hpfar_of(ipa), pc, insn, ipa=ipa)
        return False

    def _on_sysreg(self, uc: Uc, _reg: int, _cp_reg: object, _data: object) -> bool:
        """Unicorn's MSR/MRS hook, before the access: True skips the instruction. The pc is the
        instruction's own (the preferred return of a trapped MSR/MRS); the host or the RMM
        steps past it when it has emulated the access."""
        assert self._sysreg_traps is not None
        pc = self._read_x_pc()
        insn = self._insn_at(pc)
        esr = sysreg_esr(insn)
        if esr is None or not self._sysreg_traps(esr):
            return False
        self._halt(Trap(TrapKind.SYSREG, esr, 0, 0, pc, insn))
        return True

    def _on_exception(self, uc: Uc, excp: int, _data: object) -> None:
        pc = self._read_x_pc()
        if excp == _EXCP_SMC:  # pc is past the SMC; a trapped SMC returns to the SMC itself
            insn = self._insn_at(pc - 4)
            esr = (EC_SMC64 << EC_SHIFT) | ESR_IL | ((insn >> 5) & 0xFFFF)
            self._halt(Trap(TrapKind.SMC, esr, 0, 0, pc - 4, insn))
            return
        if excp in (_EXCP_HVC, _EXCP_UDEF):
            # HVC returns to the next instruction. Unicorn's CPU has no EL2 enabled, so an
            # HVC arrives as UNDEFINED at the HVC itself; on the sim's machine EL2 exists.
            at = pc - 4 if excp == _EXCP_HVC else pc
            insn = self._insn_at(at)
            if insn & 0xFFE0_001F == 0xD400_0002:
                esr = (EC_HVC64 << EC_SHIFT) | ESR_IL | ((insn >> 5) & 0xFFFF)
                uc.reg_write(r.UC_ARM64_REG_PC, at + 4)
                self._halt(Trap(TrapKind.HVC, esr, 0, 0, at, insn))
                return
            self._take_el1((EC_UNKNOWN << EC_SHIFT) | ESR_IL, pc, None)
            return
        if excp == _EXCP_SWI:  # SVC: preferred return is the next instruction
            insn = self._insn_at(pc - 4)
            self._take_el1((EC_SVC64 << EC_SHIFT) | ESR_IL | ((insn >> 5) & 0xFFFF), pc, None)
            return
        if excp == _EXCP_BKPT:
            insn = self._insn_at(pc)
            self._take_el1((EC_BRK64 << EC_SHIFT) | ESR_IL | ((insn >> 5) & 0xFFFF), pc, None)
            return
        if excp in (_EXCP_DATA_ABORT, _EXCP_PREFETCH_ABORT):
            self._stage1_abort(pc, excp == _EXCP_DATA_ABORT)
            return
        self._halt(self._stopped(f"exception {excp}, which the sim's machine does not raise"))

    def _stage1_abort(self, pc: int, data: bool) -> None:
        """A stage-1 fault, taken at EL1. Unicorn does not say which fault or where; the
        address is decoded from the instruction where it has a syndrome, otherwise FnV says
        FAR is not valid. Reported as a translation fault (level 0)."""
        from_el0 = not (self._uc.reg_read(r.UC_ARM64_REG_PSTATE) >> 2) & 3  # type: ignore[union-attr]
        if not data:
            ec = 0x20 if from_el0 else EC_IABT_CUR
            self._take_el1((ec << EC_SHIFT) | ESR_IL | FSC_TRANSLATION_L0, pc, pc)
            return
        insn = self._insn_at(pc)
        acc = decode_access(insn, self._read_x, pc)
        ec = EC_DABT_LOW if from_el0 else EC_DABT_CUR
        iss = data_abort_iss(acc, False) & ~ESR_ISV | FSC_TRANSLATION_L0
        if acc is None:
            iss |= ESR_FNV
        self._take_el1((ec << EC_SHIFT) | ESR_IL | iss, pc, acc.va if acc else None)

    def _take_el1(self, esr: int, ret: int, far: int | None) -> None:
        """AArch64.TakeException to EL1: ELR, SPSR, ESR, FAR, then EL1h with DAIF masked at
        VBAR_EL1 + the synchronous vector for where the exception came from."""
        uc = self._uc
        assert uc is not None
        pstate = int(uc.reg_read(r.UC_ARM64_REG_PSTATE))
        el, spsel = (pstate >> 2) & 3, pstate & 1
        offset = _VEC_LOWER_A64 if el == 0 else (_VEC_CUR_SPX if spsel else _VEC_CUR_SP0)
        uc.reg_write(r.UC_ARM64_REG_ELR_EL1, ret)
        uc.reg_write(r.UC_ARM64_REG_CP_REG, (*_SPSR_EL1, pstate))
        uc.reg_write(r.UC_ARM64_REG_ESR_EL1, esr)
        if far is not None:
            uc.reg_write(r.UC_ARM64_REG_FAR_EL1, far)
        sp = int(uc.reg_read(r.UC_ARM64_REG_SP))
        uc.reg_write(r.UC_ARM64_REG_SP_EL1 if spsel and el else r.UC_ARM64_REG_SP_EL0, sp)
        uc.reg_write(r.UC_ARM64_REG_PSTATE, (pstate & 0xF000_0000) | _PSTATE_EL1H_DAIF)
        uc.reg_write(r.UC_ARM64_REG_SP, int(uc.reg_read(r.UC_ARM64_REG_SP_EL1)))
        uc.reg_write(r.UC_ARM64_REG_PC, int(uc.reg_read(r.UC_ARM64_REG_VBAR_EL1)) + offset)

    def el1_context(self) -> El1Context | None:
        """The EL1 registers as the guest left them, or None before the first run."""
        uc = self._uc
        if uc is None:
            return None
        vregs = tuple(int(uc.reg_read(getattr(r, f"UC_ARM64_REG_Q{n}"))) for n in range(32))
        return El1Context(
            sp_el0=int(uc.reg_read(r.UC_ARM64_REG_SP_EL0)),
            elr_el1=int(uc.reg_read(r.UC_ARM64_REG_ELR_EL1)),
            spsr_el1=int(uc.reg_read(r.UC_ARM64_REG_CP_REG, _SPSR_EL1)),
            esr_el1=int(uc.reg_read(r.UC_ARM64_REG_ESR_EL1)),
            far_el1=int(uc.reg_read(r.UC_ARM64_REG_FAR_EL1)),
            vbar_el1=int(uc.reg_read(r.UC_ARM64_REG_VBAR_EL1)),
            sctlr_el1=int(uc.reg_read(r.UC_ARM64_REG_CP_REG, (1, 0, 3, 0, 0))),
            vregs=vregs,
            fpsr=int(uc.reg_read(r.UC_ARM64_REG_FPSR)),
            fpcr=int(uc.reg_read(r.UC_ARM64_REG_FPCR)),
        )

    def read_virtual(self, va: int, size: int) -> bytes | None:
        """Guest memory at a VA through the guest's own stage 1 (for a disassembly view)."""
        uc = self._uc
        if uc is None:
            return None
        try:
            return bytes(uc.mem_read(va, size))
        except UcError:
            return None


def buffer_address(buf: bytearray) -> tuple[int, object]:
    """The address of a bytearray's storage and the export that keeps it from moving."""
    view = (ctypes.c_char * len(buf)).from_buffer(buf)
    return ctypes.addressof(view), view
