"""System-register accesses the RMM hands to the host (TF-RMM runtime/core/sysregs.c
handle_sysreg_access_trap, handle_icc_el1_sysreg_trap, emulate_sysreg_access_ns; and
runtime/rmi/run.c complete_sysreg_emulation).

The GIC CPU interface registers a realm reaches through a trap -- the ICC_EL1 group of
SGI0R, SGI1R, ASGI1R and DIR (op0 3, op1 0, CRn 12, CRm 11), and ICC_PMR_EL1 -- are emulated
by the host: the REC exits with RMI_EXIT_SYNC, the syndrome unmodified (Rt included), the
value of a write in gprs[0], the pc already past the instruction. The value of a read comes
back at the next REC_ENTER in rec_enter.gprs[0]. The same in TF-RMM v0.8.0 (RMM 1.0/1.1),
v0.9.0 and main (RMM 2.0): cca-uapi-v12-v16.md C13.

A REC's CPU (backends/sim/cpu.py, built by realm.rec_engine) traps exactly these accesses to
EL2 with the syndrome hardware gives (EC 0x18); every other MSR/MRS of the realm the sim's
CPU executes itself. tests/test_sysreg_forwarding.py runs a realm guest's MSR through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backends.arch import MASK64
from backends.sim.rmm.smc_rmi import RecExit, RmiExit
from backends.sim.syndrome import (
    EC_SYS64,
    ICC_PMR_EL1,
    ICC_SGI_DIR_GROUP,
    esr_ec,
    esr_sysreg,
    esr_sysreg_is_read,
    esr_sysreg_rt,
)

if TYPE_CHECKING:  # realm.py builds a REC's CPU with `forwarded` as its trap set
    from backends.sim.rmm.realm import Rec

XZR = 31




def forwarded(esr: int) -> bool:
    """Whether the RMM gives this trapped access to the host (the ICC handlers of
    sysreg_handlers[]); every other trap it handles itself."""
    if esr_ec(esr) != EC_SYS64:
        return False
    op0, op1, crn, crm, _op2 = fields = esr_sysreg(esr)
    return (op0, op1, crn, crm) == ICC_SGI_DIR_GROUP or fields == ICC_PMR_EL1


def forward(rec: Rec, esr: int, rec_exit: RecExit) -> None:
    """handle_icc_el1_sysreg_trap, emulate_sysreg_access_ns, advance_pc."""
    rec.last_esr = esr
    rec_exit.exit_reason = RmiExit.SYNC
    rec_exit.esr = esr  # unmodified: the host needs Rt and the register (C13)
    if not esr_sysreg_is_read(esr):
        rt = esr_sysreg_rt(esr)
        rec_exit.gprs[0] = 0 if rt == XZR else rec.cpu.x[rt]  # get_sysreg_write_value
    rec.cpu.pc = (rec.cpu.pc + 4) & MASK64


def complete(rec: Rec, value: int) -> None:
    """complete_sysreg_emulation, at the REC_ENTER after a forwarded read: x[Rt] takes
    rec_enter.gprs[0]; no entry flag is needed. Applied once: the saved syndrome is dropped
    after it (the sim's reading; TF-RMM keeps last_run_info.esr until the next exit)."""
    esr = rec.last_esr
    if esr_ec(esr) != EC_SYS64:
        return
    rec.last_esr = 0
    if esr_sysreg_is_read(esr) and esr_sysreg_rt(esr) != XZR:
        rec.cpu.x[esr_sysreg_rt(esr)] = value & MASK64
