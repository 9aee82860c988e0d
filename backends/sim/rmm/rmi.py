"""The Realm Management Monitor: realms, RECs and the RMI commands the host calls.

Behaviour follows TF-RMM at tag rmm-spec-v1.0-rel0 (runtime/rmi/realm.c, rec.c, run.c,
rtt.c). The RMM owns the realm's protected memory and the REC's registers; the host sees
only what it writes into rec_exit. Nothing here knows about KVM.
"""

from __future__ import annotations

from dataclasses import dataclass

from backends import smccc
from backends.arch import MASK64
from backends.sim.cpu import CpuState
from backends.sim.rmm import exit as core_exit
from backends.sim.rmm import rsi, sysregs
from backends.sim.rmm.granules import RealmMemory
from backends.sim.rmm.realm import (
    PSTATE_EL1H_DAIF,
    Realm,
    RealmState,
    Rec,
    realm_dfr0,
    rec_engine,
)
from backends.sim.rmm.smc_rmi import (
    REC_CREATE_NR_GPRS,
    REC_ENTER_FLAG_EMULATED_MMIO,
    REC_ENTER_FLAG_INJECT_SEA,
    REC_ENTER_FLAG_RIPAS_RESPONSE,
    REC_PARAMS_FLAG_RUNNABLE,
    REC_RUN_GPRS,
    RealmParams,
    RecExit,
    RecParams,
    RecRun,
    RmiStatus,
    rmi_pack,
)
from backends.sim.syndrome import (
    EC_DABT_LOW,
    esr_ec,
    esr_isv,
    esr_sas_bytes,
    esr_sf,
    esr_srt,
    esr_sse,
    esr_wnr,
)
from backends.smccc import RIPAS_RAM

PSCI_STATUS_SUCCESS, PSCI_STATUS_DENIED = smccc.PSCI_SUCCESS, smccc.PSCI_DENIED


@dataclass(frozen=True)
class RmmLimits:
    """What this RMM offers realms (RMI_FEATURES register 0) on the CPU it runs on."""

    ipa_bits: int = 48
    max_sve_vq: int | None = 4  # None: no SVE
    pmu_counters: int | None = 6  # None: no PMU
    hw_dfr0: int = 0x1030_5106  # what read_id_aa64dfr0_el1() gives the RMM on this CPU

    @property
    def num_bps(self) -> int:
        return ((self.hw_dfr0 >> 12) & 0xF) + 1

    @property
    def num_wps(self) -> int:
        return ((self.hw_dfr0 >> 20) & 0xF) + 1


class Rmm:
    def __init__(self, slice_instructions: int, limits: RmmLimits, abi_major: int = 1) -> None:
        self.slice = slice_instructions
        # RMI ABI 1.0 (TF-RMM <= v0.8.0) or 2.0 (tf-rmm-v0.9.0 and later, RMI 2.0 only): the
        # v9-v12 kernels speak 1.0, v13/v14 2.0 (cca-uapi-v12-v16.md C8).
        self.abi_major = abi_major
        self.limits = limits
        self.hw_dfr0 = limits.hw_dfr0

    # --- RMI_FEATURES register 0 (runtime/rmi/feature.c) -----------------------------------
    def features0(self) -> int:
        """RmiFeatureRegister0 as TF-RMM rmm-spec-v1.0-rel0 lays it out (lib/smc/include/
        smc-rmi.h): S2SZ [7:0], SVE_EN [9], SVE_VL [13:10], NUM_BPS [19:14], NUM_WPS [25:20],
        PMU_EN [26], PMU_NUM_CTRS [31:27], HASH_SHA_256 [32], HASH_SHA_512 [33] (counts minus
        one, as the fields are encoded). The real-RMM tier reads TF-RMM's value this way."""
        lim = self.limits
        value = lim.ipa_bits | (lim.num_bps - 1) << 14 | (lim.num_wps - 1) << 20
        if lim.max_sve_vq:
            value |= 1 << 9 | (lim.max_sve_vq - 1) << 10
        if lim.pmu_counters is not None:
            value |= 1 << 26 | lim.pmu_counters << 27
        return value | 1 << 32 | 1 << 33

    # --- realm lifecycle (runtime/rmi/realm.c) ---------------------------------------------
    def realm_create(self, params: RealmParams) -> tuple[int, Realm | None]:
        """RMI_REALM_CREATE's parameter checks (realm.c validate_realm_params): every
        requested feature within what RMI_FEATURES offers, else RMI_ERROR_INPUT."""
        lim = self.limits
        ok = (
            32 <= params.ipa_width <= lim.ipa_bits
            and 2 <= params.num_bps <= lim.num_bps
            and 2 <= params.num_wps <= lim.num_wps
            and params.hash_algo in (0, 1)
            and (params.sve_vq is None or (lim.max_sve_vq or 0) >= params.sve_vq >= 1)
            and (params.pmu_num_ctrs is None or (
                lim.pmu_counters is not None and params.pmu_num_ctrs <= lim.pmu_counters
            ))
        )
        if not ok:
            return rmi_pack(RmiStatus.ERROR_INPUT), None
        return rmi_pack(RmiStatus.SUCCESS), Realm(params, RealmMemory(params.ipa_width))

    def realm_activate(self, realm: Realm) -> int:
        if realm.state is not RealmState.NEW:
            return rmi_pack(RmiStatus.ERROR_REALM)
        realm.state = RealmState.ACTIVE
        return rmi_pack(RmiStatus.SUCCESS)

    # --- memory (runtime/rmi/rtt.c, data.c) --------------------------------------------------
    def rtt_init_ripas(self, realm: Realm, base: int, top: int) -> tuple[int, int]:
        if realm.state is not RealmState.NEW:
            return rmi_pack(RmiStatus.ERROR_REALM), base
        if not realm.memory.is_protected_range(base, top):
            return rmi_pack(RmiStatus.ERROR_INPUT), base
        realm.memory.set_ripas(base, top, RIPAS_RAM)
        return rmi_pack(RmiStatus.SUCCESS), top

    def data_create(self, realm: Realm, ipa: int, data: bytes) -> int:
        """RMI_DATA_CREATE: copy one granule from the host into protected memory."""
        if realm.state is not RealmState.NEW:
            return rmi_pack(RmiStatus.ERROR_REALM)
        if not realm.memory.is_protected_range(ipa, ipa + len(data)):
            return rmi_pack(RmiStatus.ERROR_INPUT)
        if realm.memory.ripas_of(ipa) != RIPAS_RAM:
            return rmi_pack(RmiStatus.ERROR_RTT)
        realm.memory.write_granule(ipa, data)
        return rmi_pack(RmiStatus.SUCCESS)

    def rtt_set_ripas(self, realm: Realm, rec: Rec, base: int, top: int) -> tuple[int, int]:
        """RMI_RTT_SET_RIPAS: the host carries out a RIPAS change the REC asked for."""
        req = rec.set_ripas
        if req is None or base != req.addr or top > req.top:
            return rmi_pack(RmiStatus.ERROR_INPUT), base
        realm.memory.set_ripas(base, top, req.ripas)
        req.addr = top
        return rmi_pack(RmiStatus.SUCCESS), top

    # --- RECs (runtime/rmi/rec.c) ------------------------------------------------------------
    def rec_create(self, realm: Realm, params: RecParams) -> tuple[int, Rec | None]:
        if realm.state is not RealmState.NEW:
            return rmi_pack(RmiStatus.ERROR_REALM), None
        # RECs must be created in ascending MPIDR order: the MPIDR names the next index.
        if params.mpidr & 0xFF != len(realm.recs) or params.mpidr >> 8 & 0xFFFF_FFFF:
            return rmi_pack(RmiStatus.ERROR_INPUT), None
        regs = list(params.gprs[:REC_CREATE_NR_GPRS]) + [0] * (31 - REC_CREATE_NR_GPRS)
        p = realm.params
        rec = Rec(
            realm=realm,
            index=len(realm.recs),
            mpidr=params.mpidr,
            cpu=CpuState(x=regs, sp=0, pc=params.pc, pstate=PSTATE_EL1H_DAIF),
            runnable=bool(params.flags & REC_PARAMS_FLAG_RUNNABLE),
            pmcr=(p.pmu_num_ctrs or 0) << 11 | 0x40,  # PMCR_EL0.N from the realm, LC set
            id_aa64dfr0=realm_dfr0(self.hw_dfr0),
            zcr_vq=p.sve_vq,
        )
        realm.recs.append(rec)
        return rmi_pack(RmiStatus.SUCCESS), rec

    # --- RMI_PSCI_COMPLETE (runtime/rmi/rec.c, runtime/rsi/psci.c psci_complete_request) --
    def psci_complete(self, caller: Rec | None, target: Rec | None, status: int) -> int:
        """Every failure is RMI_ERROR_INPUT: a REC address that names no REC, no PSCI
        request pending on the caller, a target from another realm or not the one the
        request named, or a status other than SUCCESS / DENIED."""
        if caller is None or target is None or target.realm is not caller.realm:
            return rmi_pack(RmiStatus.ERROR_INPUT)
        req = caller.psci_pending
        if req is None or target.mpidr != req.target_mpidr:
            return rmi_pack(RmiStatus.ERROR_INPUT)
        if status not in (PSCI_STATUS_SUCCESS, PSCI_STATUS_DENIED):
            return rmi_pack(RmiStatus.ERROR_INPUT)
        caller.psci_pending = None
        if req.fid in (smccc.PSCI_AFFINITY_INFO, smccc.PSCI_AFFINITY_INFO_64):
            caller.cpu.x[0] = smccc.PSCI_AFFINITY_ON if target.runnable else smccc.PSCI_AFFINITY_OFF
        elif status == PSCI_STATUS_DENIED:
            caller.cpu.x[0] = smccc.PSCI_DENIED
        elif target.runnable:
            caller.cpu.x[0] = smccc.PSCI_ALREADY_ON
        else:
            target.cpu = CpuState(
                x=[req.context_id] + [0] * 30, sp=0, pc=req.entry, pstate=PSTATE_EL1H_DAIF
            )
            target.engine = rec_engine()  # PSCI CPU_ON: the target starts from reset (MMU off)
            target.runnable = True
            caller.cpu.x[0] = smccc.PSCI_SUCCESS
        caller.cpu.x[1:4] = [0, 0, 0]
        return rmi_pack(RmiStatus.SUCCESS)

    # --- RMI_REC_ENTER (runtime/rmi/run.c) ---------------------------------------------------
    def rec_enter(self, rec: Rec, run_page: RecRun) -> int:
        realm = rec.realm
        if realm.state is RealmState.NEW:
            return rmi_pack(RmiStatus.ERROR_REALM, 0)
        if realm.state is RealmState.SYSTEM_OFF:
            return rmi_pack(RmiStatus.ERROR_REALM, 1)
        if not rec.runnable or rec.psci_pending:
            return rmi_pack(RmiStatus.ERROR_REC)
        enter = run_page.enter
        if enter.flags & REC_ENTER_FLAG_INJECT_SEA:
            # The sim's CPU has no EL1 exception model to deliver an abort into.
            if esr_ec(rec.last_esr) != EC_DABT_LOW:
                return rmi_pack(RmiStatus.ERROR_REC)
            rec.stopped = "the host injected a synchronous external abort"
        elif enter.flags & REC_ENTER_FLAG_EMULATED_MMIO:
            if not self._complete_mmio(rec, enter.gprs[0]):
                return rmi_pack(RmiStatus.ERROR_REC)
        sysregs.complete(rec, enter.gprs[0])  # a forwarded MRS takes the host's value
        rec.host_call_delivered = None
        if rec.host_call_ipa is not None:
            # runtime/rmi/run.c complete_host_call: all 31 gprs go back into the guest's
            # struct rsi_host_call, and the call returns RSI_SUCCESS.
            gprs = tuple(g & MASK64 for g in enter.gprs[:REC_RUN_GPRS])
            rsi.write_host_call_gprs(realm.memory, rec.host_call_ipa, gprs)
            rec.cpu.x[0] = smccc.RSI_SUCCESS
            rec.host_call_delivered = gprs
            rec.host_call_ipa = None
        if rec.set_ripas is not None:
            rsi.complete_ripas_change(rec, bool(enter.flags & REC_ENTER_FLAG_RIPAS_RESPONSE))
            rec.set_ripas = None
        run_page.exit = RecExit()  # TF-RMM zeroes rec_exit on every entry
        rec.at_entry = CpuState(
            x=list(rec.cpu.x), sp=rec.cpu.sp, pc=rec.cpu.pc, pstate=rec.cpu.pstate
        )
        if rec.stopped:
            ret = core_exit.sim_stop(rec, run_page.exit, rec.cpu.pc, 0)
        else:
            ret = core_exit.run_rec(rec, run_page.exit, self.slice)
        if self.abi_major >= 2:
            # RMM 2.0 names the plane that exited (TF-RMM v0.9.0 runtime/core/exit.c:
            # rec_exit->plane = rec->active_plane_id); this RMM runs P0 only.
            run_page.exit.plane = 0
        return ret

    def _complete_mmio(self, rec: Rec, value: int) -> bool:
        esr = rec.last_esr
        if esr_ec(esr) != EC_DABT_LOW or not esr_isv(esr):
            return False
        if not esr_wnr(esr) and esr_srt(esr) != 31:
            size = esr_sas_bytes(esr)
            value &= (1 << (8 * size)) - 1
            if esr_sse(esr) and value >> (8 * size - 1):
                value |= MASK64 ^ ((1 << (8 * size)) - 1)
            if not esr_sf(esr):
                value &= 0xFFFF_FFFF
            rec.cpu.x[esr_srt(esr)] = value
        rec.cpu.pc = (rec.cpu.pc + 4) & MASK64
        return True
