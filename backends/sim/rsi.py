"""SMCs from the realm, as the RMM answers them: RSI commands and PSCI.

TF-RMM rmm-spec-v1.0-rel0: runtime/rsi/host_call.c, runtime/rsi/memory.c, runtime/rsi/
psci.c, runtime/core/handler.c. Each handler either answers the realm in its registers and
lets it run on, or fills rec_exit for the host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backends.sim.realm_objects import RealmState, Rec, SetRipas
from backends.sim.rmi import RIPAS_RAM, RecExit, RmiExit

if TYPE_CHECKING:
    from backends.sim.realm_memory import RealmMemory

MASK64 = (1 << 64) - 1

# lib/smc/include/smc-rsi.h
RSI_VERSION = 0xC400_0190
RSI_FEATURES = 0xC400_0191
RSI_REALM_CONFIG = 0xC400_0196
RSI_IPA_STATE_SET = 0xC400_0197
RSI_IPA_STATE_GET = 0xC400_0198
RSI_HOST_CALL = 0xC400_0199
RSI_SUCCESS = 0
RSI_ERROR_INPUT = 1
RSI_ERROR_STATE = 2
RSI_ACCEPT = 0
RSI_REJECT = 1
RSI_ABI_VERSION_1_0 = 1 << 16

# Arm DEN0022 (PSCI) and DEN0028 (SMCCC)
SMCCC_VERSION = 0x8000_0000
SMCCC_VERSION_1_2 = 0x1_0002
SMC_UNKNOWN = MASK64  # -1
PSCI_VERSION = 0x8400_0000
PSCI_CPU_SUSPEND = 0x8400_0001
PSCI_CPU_SUSPEND_64 = 0xC400_0001
PSCI_CPU_OFF = 0x8400_0002
PSCI_SYSTEM_OFF = 0x8400_0008
PSCI_SYSTEM_RESET = 0x8400_0009
PSCI_FEATURES = 0x8400_000A
PSCI_VERSION_1_1 = 0x1_0001
PSCI_NOT_SUPPORTED = MASK64  # -1

HOST_CALL_SIZE = 0x100
HOST_CALL_GPRS_OFFSET = 8


def handle_smc(rec: Rec, rec_exit: RecExit) -> bool:
    """One SMC from the realm. True when the host must see it (rec_exit is filled).

    A trapped SMC leaves pc at the SMC; the RMM steps over it whether it answers the call
    itself or exits to the host, so the realm resumes after the SMC either way.
    """
    regs = rec.cpu.x
    fid = regs[0] & 0xFFFF_FFFF
    rec.cpu.pc = (rec.cpu.pc + 4) & MASK64
    if fid == RSI_HOST_CALL:
        return _host_call(rec, rec_exit)
    if fid == RSI_IPA_STATE_SET:
        return _ipa_state_set(rec, rec_exit)
    if fid == RSI_IPA_STATE_GET:
        regs[0], regs[1] = RSI_SUCCESS, rec.realm.memory.ripas_of(regs[1])
        return False
    if fid == RSI_VERSION:
        regs[0], regs[1], regs[2] = RSI_SUCCESS, RSI_ABI_VERSION_1_0, RSI_ABI_VERSION_1_0
        return False
    if fid == RSI_FEATURES:
        regs[0], regs[1] = RSI_SUCCESS, 0
        return False
    if fid == SMCCC_VERSION:
        regs[0] = SMCCC_VERSION_1_2
        return False
    if 0x8400_0000 <= fid <= 0x8400_001F or 0xC400_0000 <= fid <= 0xC400_001F:
        return _psci(rec, rec_exit, fid)
    regs[0] = SMC_UNKNOWN  # unknown FIDs get SMC_UNKNOWN and no exit (handler.c)
    return False


def _host_call(rec: Rec, rec_exit: RecExit) -> bool:
    ipa = rec.cpu.x[1]
    mem = rec.realm.memory
    crosses = ipa // 4096 != (ipa + HOST_CALL_SIZE - 1) // 4096
    raw = None if ipa % HOST_CALL_SIZE or crosses else mem.read(ipa, HOST_CALL_SIZE)
    if raw is None:
        # Misaligned, crossing a granule, unprotected or RIPAS EMPTY (host_call.c).
        rec.cpu.x[0] = RSI_ERROR_INPUT
        return False
    rec_exit.exit_reason = RmiExit.HOST_CALL
    rec_exit.imm = int.from_bytes(raw[0:2], "little")
    for i in range(31):
        off = HOST_CALL_GPRS_OFFSET + 8 * i
        rec_exit.gprs[i] = int.from_bytes(raw[off : off + 8], "little")
    rec.host_call_ipa = ipa
    return True


def write_host_call_gprs(mem: RealmMemory, ipa: int, gprs: tuple[int, ...]) -> None:
    data = b"".join(g.to_bytes(8, "little") for g in gprs)
    mem.write(ipa + HOST_CALL_GPRS_OFFSET, data)


def _ipa_state_set(rec: Rec, rec_exit: RecExit) -> bool:
    regs = rec.cpu.x
    base, top, ripas = regs[1], regs[2], regs[3]
    mem = rec.realm.memory
    if ripas > RIPAS_RAM or not mem.is_protected_range(base, top):
        regs[0] = RSI_ERROR_INPUT  # memory.c: bad RIPAS, unaligned, empty or not in PAR
        return False
    rec.set_ripas = SetRipas(base=base, top=top, addr=base, ripas=ripas)
    rec_exit.exit_reason = RmiExit.RIPAS_CHANGE
    rec_exit.ripas_base = base
    rec_exit.ripas_top = top
    rec_exit.ripas_value = ripas
    return True


def complete_ripas_change(rec: Rec, host_rejected: bool) -> None:
    """run.c complete_set_ripas: the realm learns how far the host got and whether it
    refused."""
    req = rec.set_ripas
    assert req is not None
    regs = rec.cpu.x
    regs[0] = RSI_SUCCESS
    regs[1] = req.addr
    incomplete = req.addr != req.top
    regs[2] = (
        RSI_REJECT if (req.ripas == RIPAS_RAM and incomplete and host_rejected) else RSI_ACCEPT
    )


def _psci(rec: Rec, rec_exit: RecExit, fid: int) -> bool:
    """runtime/rsi/psci.c: PSCI is emulated by the RMM; the host is told of what it must act
    on (CPU_SUSPEND, CPU_OFF, SYSTEM_OFF, SYSTEM_RESET), with the FID in gprs[0] and nothing
    else, and the realm's result is already in its x0 -- whatever the host later puts in
    rec_enter.gprs is not read."""
    regs = rec.cpu.x
    if fid == PSCI_VERSION:
        regs[0] = PSCI_VERSION_1_1
        return False
    if fid == PSCI_FEATURES:
        regs[0] = (
            0 if regs[1] & 0xFFFF_FFFF in (PSCI_VERSION, PSCI_SYSTEM_OFF) else PSCI_NOT_SUPPORTED
        )
        return False
    if fid in (PSCI_CPU_SUSPEND, PSCI_CPU_SUSPEND_64):
        regs[0] = 0  # PSCI_SUCCESS: the exit is only a notification
        rec_exit.exit_reason = RmiExit.PSCI
        rec_exit.gprs[0] = fid
        return True
    if fid in (PSCI_SYSTEM_OFF, PSCI_SYSTEM_RESET, PSCI_CPU_OFF):
        if fid == PSCI_CPU_OFF:
            rec.runnable = False
            regs[0] = 0
        else:
            rec.realm.state = RealmState.SYSTEM_OFF
        rec_exit.exit_reason = RmiExit.PSCI
        rec_exit.gprs[0] = fid
        return True
    regs[0] = PSCI_NOT_SUPPORTED
    return False
