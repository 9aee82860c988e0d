"""SMCs from the realm, as the RMM answers them: RSI commands and PSCI.

TF-RMM rmm-spec-v1.0-rel0: runtime/rsi/host_call.c, runtime/rsi/memory.c, runtime/rsi/
psci.c, runtime/core/handler.c. Each handler fills a result the way handle_realm_rsi does:
registers to write back into the REC (UPDATE_REC: x0-x4, whatever the handler left unset is
zero), an exit to the host in rec_exit, or both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from backends.arch import GRANULE_SIZE, MASK64, MPIDR_AFFINITY_MASK
from backends.sim.rmm.realm import PsciRequest, RealmState, Rec, SetRipas
from backends.sim.rmm.smc_rmi import RecExit, RmiExit
from backends.smccc import (
    HOST_CALL_GPRS_OFFSET,
    HOST_CALL_SIZE,
    PSCI_AFFINITY_INFO,
    PSCI_AFFINITY_INFO_64,
    PSCI_AFFINITY_ON,
    PSCI_ALREADY_ON,
    PSCI_CPU_OFF,
    PSCI_CPU_ON,
    PSCI_CPU_ON_64,
    PSCI_CPU_SUSPEND,
    PSCI_CPU_SUSPEND_64,
    PSCI_FEATURES,
    PSCI_INVALID_ADDRESS,
    PSCI_INVALID_PARAMETERS,
    PSCI_NOT_SUPPORTED,
    PSCI_SUCCESS,
    PSCI_SYSTEM_OFF,
    PSCI_SYSTEM_RESET,
    PSCI_VERSION,
    PSCI_VERSION_1_1,
    RIPAS_RAM,
    RSI_ABI_VERSION_1_0,
    RSI_ACCEPT,
    RSI_ERROR_INPUT,
    RSI_FEATURES,
    RSI_HOST_CALL,
    RSI_IPA_STATE_GET,
    RSI_IPA_STATE_SET,
    RSI_REALM_CONFIG,
    RSI_REJECT,
    RSI_SUCCESS,
    RSI_VERSION,
    SMC_UNKNOWN,
    SMCCC_VERSION,
    SMCCC_VERSION_1_2,
    is_psci,
)

if TYPE_CHECKING:
    from backends.sim.rmm.granules import RealmMemory

# struct smc_result as handle_realm_rsi copies it back into the REC (x0-x4).
SMC_RESULT_REGS = 5
# psci.c psci_features: the calls this RMM implements; everything else is NOT_SUPPORTED.
PSCI_FEATURES_SUPPORTED = frozenset({
    PSCI_CPU_SUSPEND, PSCI_CPU_SUSPEND_64, PSCI_CPU_OFF, PSCI_CPU_ON, PSCI_CPU_ON_64,
    PSCI_AFFINITY_INFO, PSCI_AFFINITY_INFO_64, PSCI_SYSTEM_OFF, PSCI_SYSTEM_RESET,
    PSCI_FEATURES, SMCCC_VERSION,
})


@dataclass
class RsiResult:
    """struct rsi_result: what handle_realm_rsi does after the handler (UPDATE_REC, exit)."""

    update_rec: bool = True
    exit_to_host: bool = False
    x: list[int] = field(default_factory=lambda: [0] * SMC_RESULT_REGS)


def handle_smc(rec: Rec, rec_exit: RecExit) -> bool:
    """One SMC from the realm. True when the host must see it (rec_exit is filled).

    A trapped SMC leaves pc at the SMC; the RMM steps over it whether it answers the call
    itself or exits to the host, so the realm resumes after the SMC either way.
    """
    regs = rec.cpu.x
    fid = regs[0] & 0xFFFF_FFFF
    rec.cpu.pc = (rec.cpu.pc + 4) & MASK64
    res = RsiResult()
    if fid == RSI_HOST_CALL:
        _host_call(rec, rec_exit, res)
    elif fid == RSI_IPA_STATE_SET:
        _ipa_state_set(rec, rec_exit, res)
    elif fid == RSI_IPA_STATE_GET:
        _ipa_state_get(rec, res)
    elif fid == RSI_VERSION:
        res.x[:3] = [RSI_SUCCESS, RSI_ABI_VERSION_1_0, RSI_ABI_VERSION_1_0]
    elif fid == RSI_REALM_CONFIG:
        _realm_config(rec, res)
    elif fid == RSI_FEATURES:
        res.x[0] = RSI_SUCCESS
    elif fid == SMCCC_VERSION:
        res.x[0] = SMCCC_VERSION_1_2
    elif is_psci(fid):
        _psci(rec, rec_exit, fid, res)
    else:
        res.x[0] = SMC_UNKNOWN  # unknown FIDs get SMC_UNKNOWN and no exit (handler.c)
    if res.update_rec:
        regs[:SMC_RESULT_REGS] = [v & MASK64 for v in res.x]
    return res.exit_to_host


def _host_call(rec: Rec, rec_exit: RecExit, res: RsiResult) -> None:
    ipa = rec.cpu.x[1]
    mem = rec.realm.memory
    crosses = ipa // GRANULE_SIZE != (ipa + HOST_CALL_SIZE - 1) // GRANULE_SIZE
    raw = None if ipa % HOST_CALL_SIZE or crosses else mem.read(ipa, HOST_CALL_SIZE)
    if raw is None:
        # Misaligned, crossing a granule, unprotected or RIPAS EMPTY (host_call.c).
        res.x[0] = RSI_ERROR_INPUT
        return
    rec_exit.exit_reason = RmiExit.HOST_CALL
    rec_exit.imm = int.from_bytes(raw[0:2], "little")
    for i in range(31):
        off = HOST_CALL_GPRS_OFFSET + 8 * i
        rec_exit.gprs[i] = int.from_bytes(raw[off : off + 8], "little")
    rec.host_call_ipa = ipa
    # The REC's registers stay as they are until the host answers (run.c complete_host_call).
    res.update_rec, res.exit_to_host = False, True


def _realm_config(rec: Rec, res: RsiResult) -> None:
    """TF-RMM runtime/rsi/config.c handle_rsi_realm_config: x1 is the IPA of a granule of
    protected RAM; the RMM writes struct rsi_realm_config there (ipa_width at 0, hash_algo at
    8 -- RMM v1.0 B5.4.2 RsiRealmConfig)."""
    ipa = rec.cpu.x[1]
    mem = rec.realm.memory
    if ipa % GRANULE_SIZE or not mem.in_par(ipa) or mem.ripas_of(ipa) != RIPAS_RAM:
        res.x[0] = RSI_ERROR_INPUT
        return
    p = rec.realm.params
    data = p.ipa_width.to_bytes(8, "little") + bytes([p.hash_algo])
    mem.write(ipa, data.ljust(GRANULE_SIZE, b"\0"))
    res.x[0] = RSI_SUCCESS


def write_host_call_gprs(mem: RealmMemory, ipa: int, gprs: tuple[int, ...]) -> None:
    data = b"".join(g.to_bytes(8, "little") for g in gprs)
    mem.write(ipa + HOST_CALL_GPRS_OFFSET, data)


def read_host_call_gprs(mem: RealmMemory, ipa: int) -> tuple[int, ...] | None:
    raw = mem.read(ipa + HOST_CALL_GPRS_OFFSET, 8 * 31)
    if raw is None:
        return None
    return tuple(int.from_bytes(raw[8 * i : 8 * i + 8], "little") for i in range(31))


def _ipa_state_set(rec: Rec, rec_exit: RecExit, res: RsiResult) -> None:
    regs = rec.cpu.x
    base, top, ripas = regs[1], regs[2], regs[3]
    mem = rec.realm.memory
    if ripas > RIPAS_RAM or not mem.is_protected_range(base, top):
        res.x[0] = RSI_ERROR_INPUT  # memory.c: bad RIPAS, unaligned, empty or not in PAR
        return
    rec.set_ripas = SetRipas(base=base, top=top, addr=base, ripas=ripas)
    rec_exit.exit_reason = RmiExit.RIPAS_CHANGE
    rec_exit.ripas_base = base
    rec_exit.ripas_top = top
    rec_exit.ripas_value = ripas
    # memory.c: UPDATE_REC_EXIT_TO_HOST with x0 = RSI_SUCCESS, x1 = top, so x2-x3 read 0 until
    # complete_set_ripas writes x0-x2 (x3 stays 0: seen on TF-RMM by tests/rmm).
    res.x[0], res.x[1] = RSI_SUCCESS, top
    res.exit_to_host = True


def _ipa_state_get(rec: Rec, res: RsiResult) -> None:
    """memory.c handle_rsi_ipa_state_get (RMM v1.0): x1 start, x2 end; returns x1 = the top
    of the run of granules from start that share its RIPAS, x2 = that RIPAS."""
    start, end = rec.cpu.x[1], rec.cpu.x[2]
    mem = rec.realm.memory
    if not mem.is_protected_range(start, end):
        res.x[0] = RSI_ERROR_INPUT
        return
    ripas = mem.ripas_of(start)
    top = start
    while top < end and mem.ripas_of(top) == ripas:
        top += GRANULE_SIZE
    res.x[:3] = [RSI_SUCCESS, top, ripas]


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


def _target_rec(rec: Rec, mpidr: int) -> Rec | None:
    """psci.c: the target must be a REC of this realm, named by its MPIDR."""
    for other in rec.realm.recs:
        if other.mpidr == mpidr & MPIDR_AFFINITY_MASK:
            return other
    return None


def _psci(rec: Rec, rec_exit: RecExit, fid: int, res: RsiResult) -> None:
    """runtime/rsi/psci.c: PSCI is emulated by the RMM; the host is told of what it must act
    on, with the FID (and the target for CPU_ON/AFFINITY_INFO) in gprs and nothing else. The
    realm's result is in its x0-x4 already; whatever the host later puts in rec_enter.gprs is
    not read."""
    regs = rec.cpu.x
    res.x[0] = PSCI_SUCCESS
    if fid == PSCI_VERSION:
        res.x[0] = PSCI_VERSION_1_1
    elif fid == PSCI_FEATURES:
        ok = regs[1] & 0xFFFF_FFFF in PSCI_FEATURES_SUPPORTED
        res.x[0] = PSCI_SUCCESS if ok else PSCI_NOT_SUPPORTED
    elif fid in (PSCI_CPU_SUSPEND, PSCI_CPU_SUSPEND_64):
        _exit_psci(rec_exit, fid, res)  # a notification: the call has succeeded already
    elif fid == PSCI_CPU_OFF:
        rec.runnable = False
        _exit_psci(rec_exit, fid, res)
    elif fid in (PSCI_SYSTEM_OFF, PSCI_SYSTEM_RESET):
        rec.realm.state = RealmState.SYSTEM_OFF
        _exit_psci(rec_exit, fid, res)
    elif fid in (PSCI_CPU_ON, PSCI_CPU_ON_64):
        _cpu_on(rec, rec_exit, fid, res)
    elif fid in (PSCI_AFFINITY_INFO, PSCI_AFFINITY_INFO_64):
        _affinity_info(rec, rec_exit, fid, res)
    else:
        res.x[0] = PSCI_NOT_SUPPORTED


def _exit_psci(rec_exit: RecExit, fid: int, res: RsiResult, target: int | None = None) -> None:
    rec_exit.exit_reason = RmiExit.PSCI
    rec_exit.gprs[0] = fid
    if target is not None:
        rec_exit.gprs[1] = target
    res.exit_to_host = True


def _cpu_on(rec: Rec, rec_exit: RecExit, fid: int, res: RsiResult) -> None:
    target_mpidr, entry = rec.cpu.x[1], rec.cpu.x[2]
    if not rec.realm.memory.in_par(entry):
        res.x[0] = PSCI_INVALID_ADDRESS
        return
    target = _target_rec(rec, target_mpidr)
    if target is None:
        res.x[0] = PSCI_INVALID_PARAMETERS
        return
    if target is rec:
        res.x[0] = PSCI_ALREADY_ON
        return
    rec.psci_pending = PsciRequest(fid, target.mpidr, entry, rec.cpu.x[3])
    _exit_psci(rec_exit, fid, res, target.mpidr)


def _affinity_info(rec: Rec, rec_exit: RecExit, fid: int, res: RsiResult) -> None:
    target_mpidr, lowest_level = rec.cpu.x[1], rec.cpu.x[2]
    target = _target_rec(rec, target_mpidr)
    if lowest_level != 0 or target is None:
        res.x[0] = PSCI_INVALID_PARAMETERS
        return
    if target is rec:
        res.x[0] = PSCI_AFFINITY_ON  # the caller is running, so it is ON: no exit
        return
    rec.psci_pending = PsciRequest(fid, target.mpidr, 0, 0)
    _exit_psci(rec_exit, fid, res, target.mpidr)
