"""The RMM's entry from the normal world: an RMI call by function id and arguments, as an SMC
delivers it (TF-RMM rmm-spec-v1.0-rel0 runtime/core/handler.c handle_ns_smc, with the granule
checks of runtime/rmi/granule.c and the command bodies of runtime/rmi/*.c).

Arguments are physical addresses, as on hardware: granules the host delegated (an RD, a REC,
a data granule) and normal-world pages (realm and REC parameters, the rec_run page, a data
source), which the RMM reads and writes through `NsMemory`. The commands run the same Rmm
methods the sim's KVM calls, so a sequence driven here exercises the RMM the KVM half uses.

Not modelled: stage-2 tables. RMI_RTT_CREATE/DESTROY only move a granule between DELEGATED
and RTT; the sim's RMM maps protected memory without them. REC_AUX_COUNT is 0: the sim keeps
a REC's state in the REC itself.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from backends.arch import GRANULE_SIZE, MASK64
from backends.sim.rmm.realm import Realm, Rec
from backends.sim.rmm.rmi import Rmm
from backends.sim.rmm.smc_rmi import (
    REC_EXIT_OFFSET,
    RMI_ABI_VERSION_1_0,
    RMI_ABI_VERSION_2_0,
    RMI_DATA_CREATE,
    RMI_FEATURES,
    RMI_GRANULE_DELEGATE,
    RMI_GRANULE_UNDELEGATE,
    RMI_PSCI_COMPLETE,
    RMI_REALM_ACTIVATE,
    RMI_REALM_CREATE,
    RMI_REC_AUX_COUNT,
    RMI_REC_CREATE,
    RMI_REC_ENTER,
    RMI_RTT_CREATE,
    RMI_RTT_DESTROY,
    RMI_RTT_INIT_RIPAS,
    RMI_RTT_SET_RIPAS,
    RMI_VERSION,
    RecRun,
    RmiStatus,
    realm_params_from_bytes,
    rec_enter_from_bytes,
    rec_exit_to_bytes,
    rec_params_from_bytes,
    rmi_pack,
    rmi_status,
)
from backends.smccc import SMC_UNKNOWN

RESULT_REGS = 5  # x0-x4, as struct smc_result carries them back


class NsMemory(Protocol):
    """Normal-world physical memory as the RMM reads and writes it."""

    def read(self, pa: int, size: int) -> bytes: ...

    def write(self, pa: int, data: bytes) -> None: ...


class PhysicalMemory:
    """A plain NsMemory: zero-filled granules, created on first touch."""

    def __init__(self) -> None:
        self._granules: dict[int, bytearray] = {}

    def _granule(self, pa: int) -> bytearray:
        return self._granules.setdefault(pa & ~(GRANULE_SIZE - 1), bytearray(GRANULE_SIZE))

    def read(self, pa: int, size: int) -> bytes:
        out = bytearray()
        while size:
            off = pa % GRANULE_SIZE
            n = min(size, GRANULE_SIZE - off)
            out += self._granule(pa)[off : off + n]
            pa, size = pa + n, size - n
        return bytes(out)

    def write(self, pa: int, data: bytes) -> None:
        while data:
            off = pa % GRANULE_SIZE
            n = min(len(data), GRANULE_SIZE - off)
            self._granule(pa)[off : off + n] = data[:n]
            pa, data = pa + n, data[n:]


class GranuleState(StrEnum):
    """enum granule_state (runtime/include/granule_types.h), the ones the sim tracks."""

    NS = "ns"  # undelegated
    DELEGATED = "delegated"
    RD = "rd"
    REC = "rec"
    DATA = "data"
    RTT = "rtt"


class RmiHandler:
    """handle_ns_smc: `smc(fid, *args)` -> (x0, x1, x2, x3, x4)."""

    def __init__(self, rmm: Rmm, ns: NsMemory, pa_bits: int = 48) -> None:
        self.rmm = rmm
        self.ns = ns
        self.pa_limit = 1 << pa_bits
        self.state: dict[int, GranuleState] = {}
        self.realms: dict[int, Realm] = {}
        self.recs: dict[int, Rec] = {}

    def smc(self, fid: int, *args: int) -> tuple[int, ...]:
        x = [a & MASK64 for a in args] + [0] * 6
        handler = {
            RMI_VERSION: self._version,
            RMI_FEATURES: self._features,
            RMI_GRANULE_DELEGATE: self._delegate,
            RMI_GRANULE_UNDELEGATE: self._undelegate,
            RMI_REALM_CREATE: self._realm_create,
            RMI_REALM_ACTIVATE: self._realm_activate,
            RMI_REC_CREATE: self._rec_create,
            RMI_REC_AUX_COUNT: self._rec_aux_count,
            RMI_DATA_CREATE: self._data_create,
            RMI_RTT_CREATE: self._rtt_create,
            RMI_RTT_DESTROY: self._rtt_destroy,
            RMI_RTT_INIT_RIPAS: self._rtt_init_ripas,
            RMI_RTT_SET_RIPAS: self._rtt_set_ripas,
            RMI_REC_ENTER: self._rec_enter,
            RMI_PSCI_COMPLETE: self._psci_complete,
        }.get(fid & 0xFFFF_FFFF)
        if handler is None:
            out: list[int] = [SMC_UNKNOWN]
        else:
            out = list(handler(*x[:6]))
        return tuple((out + [0] * RESULT_REGS)[:RESULT_REGS])

    # --- granules (runtime/rmi/granule.c) -------------------------------------------------------
    def _valid(self, pa: int) -> bool:
        return pa % GRANULE_SIZE == 0 and pa < self.pa_limit

    def _of(self, pa: int) -> GranuleState:
        return self.state.get(pa, GranuleState.NS)

    def _is(self, pa: int, state: GranuleState) -> bool:
        return self._valid(pa) and self._of(pa) is state

    def _delegate(self, pa: int, *_: int) -> tuple[int, ...]:
        if not self._is(pa, GranuleState.NS):
            return (rmi_pack(RmiStatus.ERROR_INPUT),)
        self.state[pa] = GranuleState.DELEGATED
        return (rmi_pack(RmiStatus.SUCCESS),)

    def _undelegate(self, pa: int, *_: int) -> tuple[int, ...]:
        if not self._is(pa, GranuleState.DELEGATED):
            return (rmi_pack(RmiStatus.ERROR_INPUT),)
        del self.state[pa]
        return (rmi_pack(RmiStatus.SUCCESS),)

    # --- version and features ---------------------------------------------------------------------
    def _version(self, requested: int, *_: int) -> tuple[int, ...]:
        # runtime/rmi/version.c: SUCCESS only for the version the RMM implements; it answers
        # its lower and higher supported version either way (TF-RMM v0.9.0: 2.0 and 2.0).
        ours = RMI_ABI_VERSION_2_0 if self.rmm.abi_major >= 2 else RMI_ABI_VERSION_1_0
        status = RmiStatus.SUCCESS if requested == ours else RmiStatus.ERROR_INPUT
        return rmi_pack(status), ours, ours

    def _features(self, index: int, *_: int) -> tuple[int, ...]:
        return rmi_pack(RmiStatus.SUCCESS), self.rmm.features0() if index == 0 else 0

    # --- realms (runtime/rmi/realm.c) -------------------------------------------------------------
    def _realm_create(self, rd: int, params_pa: int, *_: int) -> tuple[int, ...]:
        if not self._is(rd, GranuleState.DELEGATED) or not self._is(params_pa, GranuleState.NS):
            return (rmi_pack(RmiStatus.ERROR_INPUT),)
        params = realm_params_from_bytes(self.ns.read(params_pa, GRANULE_SIZE))
        status, realm = self.rmm.realm_create(params)
        if realm is not None:
            self.state[rd] = GranuleState.RD
            self.realms[rd] = realm
        return (status,)

    def _realm(self, rd: int) -> Realm | None:
        return self.realms.get(rd) if self._is(rd, GranuleState.RD) else None

    def _realm_activate(self, rd: int, *_: int) -> tuple[int, ...]:
        realm = self._realm(rd)
        if realm is None:
            return (rmi_pack(RmiStatus.ERROR_INPUT),)
        return (self.rmm.realm_activate(realm),)

    # --- RECs (runtime/rmi/rec.c, run.c) ----------------------------------------------------------
    def _rec_create(self, rd: int, rec_pa: int, params_pa: int, *_: int) -> tuple[int, ...]:
        realm = self._realm(rd)
        if (realm is None or not self._is(rec_pa, GranuleState.DELEGATED)
                or not self._is(params_pa, GranuleState.NS)):
            return (rmi_pack(RmiStatus.ERROR_INPUT),)
        params = rec_params_from_bytes(self.ns.read(params_pa, GRANULE_SIZE))
        status, rec = self.rmm.rec_create(realm, params)
        if rec is not None:
            self.state[rec_pa] = GranuleState.REC
            self.recs[rec_pa] = rec
        return (status,)

    def _rec(self, pa: int) -> Rec | None:
        return self.recs.get(pa) if self._is(pa, GranuleState.REC) else None

    def _rec_aux_count(self, rd: int, *_: int) -> tuple[int, ...]:
        if self._realm(rd) is None:
            return (rmi_pack(RmiStatus.ERROR_INPUT),)
        return rmi_pack(RmiStatus.SUCCESS), 0

    def _rec_enter(self, rec_pa: int, run_pa: int, *_: int) -> tuple[int, ...]:
        rec = self._rec(rec_pa)
        if rec is None or not self._is(run_pa, GranuleState.NS):
            return (rmi_pack(RmiStatus.ERROR_INPUT),)
        run = RecRun(enter=rec_enter_from_bytes(self.ns.read(run_pa, REC_EXIT_OFFSET)))
        status = self.rmm.rec_enter(rec, run)
        if rmi_status(status) == RmiStatus.SUCCESS:
            self.ns.write(run_pa + REC_EXIT_OFFSET, rec_exit_to_bytes(run.exit))
        return (status,)

    def _psci_complete(self, caller: int, target: int, status: int, *_: int) -> tuple[int, ...]:
        return (self.rmm.psci_complete(self._rec(caller), self._rec(target), status),)

    # --- memory (runtime/rmi/rtt.c, data.c) -------------------------------------------------------
    def _data_create(
        self, rd: int, data_pa: int, ipa: int, src: int, flags: int, *_: int
    ) -> tuple[int, ...]:
        realm = self._realm(rd)
        if (realm is None or not self._is(data_pa, GranuleState.DELEGATED)
                or not self._is(src, GranuleState.NS)):
            return (rmi_pack(RmiStatus.ERROR_INPUT),)
        status = self.rmm.data_create(realm, ipa, self.ns.read(src, GRANULE_SIZE))
        if rmi_status(status) == RmiStatus.SUCCESS:
            self.state[data_pa] = GranuleState.DATA
        return (status,)

    def _rtt_create(self, rd: int, rtt: int, *_: int) -> tuple[int, ...]:
        if self._realm(rd) is None or not self._is(rtt, GranuleState.DELEGATED):
            return (rmi_pack(RmiStatus.ERROR_INPUT),)
        self.state[rtt] = GranuleState.RTT
        return (rmi_pack(RmiStatus.SUCCESS),)

    def _rtt_destroy(self, rd: int, rtt: int, *_: int) -> tuple[int, ...]:
        if self._realm(rd) is None or not self._is(rtt, GranuleState.RTT):
            return (rmi_pack(RmiStatus.ERROR_INPUT),)
        self.state[rtt] = GranuleState.DELEGATED
        return (rmi_pack(RmiStatus.SUCCESS),)

    def _rtt_init_ripas(self, rd: int, base: int, top: int, *_: int) -> tuple[int, ...]:
        realm = self._realm(rd)
        if realm is None:
            return (rmi_pack(RmiStatus.ERROR_INPUT),)
        return self.rmm.rtt_init_ripas(realm, base, top)

    def _rtt_set_ripas(self, rd: int, rec_pa: int, base: int, top: int, *_: int) -> tuple[int, ...]:
        realm, rec = self._realm(rd), self._rec(rec_pa)
        if realm is None or rec is None:
            return (rmi_pack(RmiStatus.ERROR_INPUT),)
        return self.rmm.rtt_set_ripas(realm, rec, base, top)
