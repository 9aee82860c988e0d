"""The RMI host of tools/rmmhost, in Python, against the sim's RMM: the same scenario, the same
RMI calls in the same order with the same arguments (granules from the same pool, parameter and
rec_run pages at TF-RMM's offsets), the same KVM copy points, the same records.

This is the second account of tools/rmmhost/rmmhost.c (host_main, run_realm, pre_enter,
handle_exit, psci_complete); the differential test holds their `enter` records against each
other too, so a slip in either host shows up before any RMM difference does. RMI 1.0 only:
the sim has no RMM 2.0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.rmm.scenario import GRANULE, OpKind, RealmScenario
from tests.rmm.sim_rmm import rmi_entry

MASK64 = (1 << 64) - 1


def _fid(n: int) -> int:
    return 0xC400_0150 + n  # TF-RMM rmm-spec-v1.0-rel0 smc-rmi.h, as tools/rmmhost/rmi.h


RMI_VERSION, RMI_GRANULE_DELEGATE, RMI_DATA_CREATE = _fid(0x0), _fid(0x1), _fid(0x3)
RMI_REALM_ACTIVATE, RMI_REALM_CREATE, RMI_REC_CREATE = _fid(0x7), _fid(0x8), _fid(0xA)
RMI_REC_ENTER, RMI_RTT_CREATE, RMI_PSCI_COMPLETE = _fid(0xC), _fid(0xD), _fid(0x14)
RMI_FEATURES, RMI_REC_AUX_COUNT = _fid(0x15), _fid(0x17)
RMI_RTT_INIT_RIPAS, RMI_RTT_SET_RIPAS = _fid(0x18), _fid(0x19)
RMI_ABI_1_0 = 0x1_0000
RMI_MEASURE_CONTENT = 1
MAX_REC_AUX_GRANULES = 16

# rmmhost's memory (tools/rmmhost/README.md): the pool it delegates from, its parameter pages
# and rec_run in .bss, the scenario blob after the image.
POOL_BASE = 0x8000_0000
NS_REALM_PARAMS, NS_REC_PARAMS, NS_RUN = 0x6020_0000, 0x6020_1000, 0x6020_2000
NS_IMAGES = 0x6010_0000
S2_L1_BLOCK, S2_L2_BLOCK = 1 << 30, 1 << 21

# struct rmi_realm_params, rmi_rec_params, rmi_rec_run (smc-rmi.h)
REALM_PARAMS = {"flags": 0x0, "s2sz": 0x8, "sve_vl": 0x10, "num_bps": 0x18, "num_wps": 0x20,
                "pmu_num_ctrs": 0x28, "vmid": 0x800, "rtt_base": 0x808,
                "rtt_level_start": 0x810, "rtt_num_start": 0x818}
REALM_PARAMS_ALGORITHM = 0x30
REC_PARAMS = {"flags": 0x0, "mpidr": 0x100, "pc": 0x200, "num_aux": 0x800}
REC_PARAMS_GPRS, REC_PARAMS_AUX = 0x300, 0x808
ENTER_FLAGS, ENTER_GPRS, EXIT = 0x0, 0x200, 0x800
EXIT_FIELDS = {"reason": 0x0, "esr": 0x100, "far": 0x108, "hpfar": 0x110, "cntp_ctl": 0x400,
               "cntv_ctl": 0x410, "ripas_base": 0x500, "ripas_top": 0x508}
EXIT_GPRS, EXIT_RIPAS_VALUE, EXIT_IMM = 0x200, 0x510, 0x600

RMI_EXIT_SYNC, RMI_EXIT_IRQ, RMI_EXIT_FIQ = 0, 1, 2
RMI_EXIT_PSCI, RMI_EXIT_RIPAS_CHANGE, RMI_EXIT_HOST_CALL = 3, 4, 5
REC_ENTER_FLAG_EMULATED_MMIO = 1 << 0
REC_ENTER_FLAG_RIPAS_RESPONSE = 1 << 4
REC_PARAMS_FLAG_RUNNABLE = 1
EC_DABT_LOW = 0x24
ESR_ISV = 1 << 24
ESR_SF = 1 << 15
ESR_WNR = 1 << 6
# [PATCH v9 23/43]: the PSCI calls KVM completes with RMI_PSCI_COMPLETE (status SUCCESS).
PSCI_COMPLETED = frozenset({0x8400_0003, 0xC400_0003, 0x8400_0004, 0xC400_0004})


class HostStop(Exception):
    """A must-succeed RMI command failed: rmmhost prints a `fail` record and powers off."""


@dataclass
class KvmVcpu:
    """struct kvm_vcpu of rmmhost.c: KVM's copy of x0-x30 and what it keeps from the last exit."""

    x: list[int] = field(default_factory=lambda: [0] * 31)
    fault_esr: int = 0
    mmio_pending: bool = False
    prev_reason: int = -1
    ripas_base: int = 0
    ripas_top: int = 0


class SimHost:
    def __init__(self) -> None:
        self.rmm, self.ns = rmi_entry()
        self.records: list[dict] = []
        self.realm_no = 0
        self.pool = POOL_BASE

    # --- plumbing ---------------------------------------------------------------------------------
    def _rmi(self, cmd: str, must: bool, fid: int, *args: int) -> tuple[int, ...]:
        x = self.rmm.smc(fid, *args)
        self.records.append({"t": "rmi", "realm": self.realm_no, "cmd": cmd, "ret": x[0],
                             "x1": x[1]})
        if must and x[0] != 0:
            self.records.append({"t": "fail", "realm": self.realm_no, "cmd": cmd, "ret": x[0]})
            raise HostStop(cmd)
        return x

    def _granule(self) -> int:
        pa, self.pool = self.pool, self.pool + GRANULE
        self._rmi("GRANULE_DELEGATE", True, RMI_GRANULE_DELEGATE, pa)
        return pa

    def _put(self, pa: int, value: int, size: int = 8) -> None:
        self.ns.write(pa, (value & MASK64).to_bytes(8, "little")[:size])

    def _get(self, pa: int, size: int = 8) -> int:
        return int.from_bytes(self.ns.read(pa, size), "little")

    # --- host_main --------------------------------------------------------------------------------
    def run(self, realms: list[RealmScenario]) -> list[dict]:
        self.records.append({"t": "start"})
        try:
            if self._rmi("VERSION", False, RMI_VERSION, RMI_ABI_1_0)[0] != 0:
                self.records.append({"t": "fail", "cmd": "VERSION"})
                return self.records
            self._rmi("FEATURES", True, RMI_FEATURES, 0)
            images = NS_IMAGES
            for i, scn in enumerate(realms):
                self.realm_no = i
                self.ns.write(images, scn.image)
                self._realm(scn, images)
                images += len(scn.image)
        except HostStop:
            return self.records
        self.records.append({"t": "done"})
        return self.records

    # --- run_realm --------------------------------------------------------------------------------
    def _realm(self, s: RealmScenario, image_pa: int) -> None:
        p = s.params
        rd = self._granule()
        if self.pool & GRANULE:
            self._granule()  # two starting-level RTTs, 8 KiB aligned
        root = self._granule()
        self._granule()
        self.ns.write(NS_REALM_PARAMS, bytes(GRANULE))
        values = {"flags": p.flags, "s2sz": p.s2sz, "sve_vl": p.sve_vl, "num_bps": p.num_bps,
                  "num_wps": p.num_wps, "pmu_num_ctrs": p.pmu_num_ctrs, "vmid": p.vmid,
                  "rtt_base": root, "rtt_level_start": p.rtt_level_start, "rtt_num_start": 2}
        for name, value in values.items():
            self._put(NS_REALM_PARAMS + REALM_PARAMS[name], value)
        self._put(NS_REALM_PARAMS + REALM_PARAMS_ALGORITHM, p.algorithm, 1)
        self._rmi("REALM_CREATE", True, RMI_REALM_CREATE, rd, NS_REALM_PARAMS)
        load = s.program.load_address
        self._rmi("RTT_CREATE", True, RMI_RTT_CREATE, rd, self._granule(),
                  load & ~(S2_L1_BLOCK - 1), 2)
        self._rmi("RTT_CREATE", True, RMI_RTT_CREATE, rd, self._granule(),
                  load & ~(S2_L2_BLOCK - 1), 3)
        base, top = s.init_ripas
        while base < top:
            nxt = self._rmi("RTT_INIT_RIPAS", True, RMI_RTT_INIT_RIPAS, rd, base, top)[1]
            if nxt <= base:
                break
            base = nxt
        for off in range(0, len(s.image), GRANULE):
            self._rmi("DATA_CREATE", True, RMI_DATA_CREATE, rd, self._granule(), load + off,
                      image_pa + off, RMI_MEASURE_CONTENT)
        aux = self._rmi("REC_AUX_COUNT", True, RMI_REC_AUX_COUNT, rd)[1]
        recs = []
        for idx in range(min(max(1, s.n_recs), 2)):
            rec = self._granule()
            self.ns.write(NS_REC_PARAMS, bytes(GRANULE))
            first = idx == 0
            self._put(NS_REC_PARAMS + REC_PARAMS["flags"], REC_PARAMS_FLAG_RUNNABLE if first else 0)
            self._put(NS_REC_PARAMS + REC_PARAMS["mpidr"], idx)
            self._put(NS_REC_PARAMS + REC_PARAMS["pc"], s.pc if first else s.secondary_pc)
            for n, value in enumerate(s.rec_gprs if first else (0,) * 8):
                self._put(NS_REC_PARAMS + REC_PARAMS_GPRS + 8 * n, value)
            self._put(NS_REC_PARAMS + REC_PARAMS["num_aux"], aux)
            for n in range(min(aux, MAX_REC_AUX_GRANULES)):
                self._put(NS_REC_PARAMS + REC_PARAMS_AUX + 8 * n, self._granule())
            self._rmi("REC_CREATE", True, RMI_REC_CREATE, rd, rec, NS_REC_PARAMS)
            recs.append(rec)
        self._rmi("REALM_ACTIVATE", True, RMI_REALM_ACTIVATE, rd)
        self._loop(s, rd, recs)

    def _loop(self, s: RealmScenario, rd: int, recs: list[int]) -> None:
        """The KVM_RUN loop."""
        v = KvmVcpu()
        self.ns.write(NS_RUN, bytes(GRANULE))
        for n in range(s.max_exits):
            self._pre_enter(s, v, rd, recs[0], n - 1)
            self.records.append({
                "t": "enter", "realm": self.realm_no, "n": n, "flags": self._get(NS_RUN),
                "gprs": [self._get(NS_RUN + ENTER_GPRS + 8 * i) for i in range(31)],
            })
            ret = self.rmm.smc(RMI_REC_ENTER, recs[0], NS_RUN)[0]
            record: dict = {"t": "exit", "realm": self.realm_no, "n": n, "ret": ret}
            if ret == 0:
                x = NS_RUN + EXIT
                record.update({k: self._get(x + off) for k, off in EXIT_FIELDS.items()})
                record["gprs"] = [self._get(x + EXIT_GPRS + 8 * i) for i in range(31)]
                record["ripas_value"] = self._get(x + EXIT_RIPAS_VALUE, 1)
                record["imm"] = self._get(x + EXIT_IMM, 4)
            self.records.append(record)
            if ret != 0 or not self._handle_exit(v, record, recs):
                return
            for op in s.ops_at(n, OpKind.SET_REG):
                v.x[op.idx] = op.value & MASK64

    def _pre_enter(self, s: RealmScenario, v: KvmVcpu, rd: int, rec: int, n: int) -> None:
        """kvm_rec_pre_enter + kvm_handle_mmio_return ([PATCH v9 16/43], [PATCH v9 18/43])."""
        flags = 0
        if n >= 0:
            if v.mmio_pending:
                v.mmio_pending = False
                if not v.fault_esr & ESR_WNR:
                    size = 1 << ((v.fault_esr >> 22) & 3)
                    data = next((o.value for o in s.ops_at(n, OpKind.MMIO_DATA)), 0)
                    if size < 8:
                        data &= (1 << (8 * size)) - 1
                    if not v.fault_esr & ESR_SF:
                        data &= 0xFFFF_FFFF
                    self._put(NS_RUN + ENTER_GPRS, data)
                flags |= REC_ENTER_FLAG_EMULATED_MMIO
            if v.prev_reason in (RMI_EXIT_HOST_CALL, RMI_EXIT_PSCI):
                for i, value in enumerate(v.x):
                    self._put(NS_RUN + ENTER_GPRS + 8 * i, value)
            elif v.prev_reason == RMI_EXIT_RIPAS_CHANGE:
                if s.ops_at(n, OpKind.RIPAS_REJECT):
                    flags |= REC_ENTER_FLAG_RIPAS_RESPONSE
                else:  # kvm_complete_ripas_change
                    base = v.ripas_base
                    while base < v.ripas_top:
                        ret, nxt, *_ = self._rmi("RTT_SET_RIPAS", False, RMI_RTT_SET_RIPAS, rd,
                                                 rec, base, v.ripas_top)
                        if ret != 0 or nxt <= base:
                            break
                        base = nxt
            for op in s.ops_at(n, OpKind.ENTER_GPR):
                self._put(NS_RUN + ENTER_GPRS + 8 * op.idx, op.value)
        self._put(NS_RUN + ENTER_FLAGS, flags)

    def _handle_exit(self, v: KvmVcpu, x: dict, recs: list[int]) -> bool:
        """handle_rec_exit: False where KVM would not re-enter."""
        v.fault_esr = x["esr"]
        v.prev_reason = reason = x["reason"]
        if reason == RMI_EXIT_SYNC:
            if (x["esr"] >> 26) & 0x3F != EC_DABT_LOW or not x["esr"] & ESR_ISV:
                return False
            if x["esr"] & ESR_WNR:
                v.x[0] = x["gprs"][0]
            v.mmio_pending = True
            return True
        if reason in (RMI_EXIT_IRQ, RMI_EXIT_FIQ):
            return True
        if reason in (RMI_EXIT_PSCI, RMI_EXIT_HOST_CALL):
            target = x["gprs"][1] & 0xFF
            if reason == RMI_EXIT_PSCI and x["gprs"][0] & 0xFFFF_FFFF in PSCI_COMPLETED and (
                target < len(recs)
            ):  # realm_psci_complete ([PATCH v9 23/43])
                self._rmi("PSCI_COMPLETE", False, RMI_PSCI_COMPLETE, recs[0], recs[target], 0)
            v.x = list(x["gprs"])
            return True
        if reason == RMI_EXIT_RIPAS_CHANGE:
            v.ripas_base, v.ripas_top = x["ripas_base"], x["ripas_top"]
            return True
        return False
