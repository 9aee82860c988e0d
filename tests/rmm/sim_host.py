"""The RMI host of tools/rmmhost, in Python, against the sim's RMM: the same scenario, the same
RMI sequence, the same KVM copy points, the same records.

This is the second account of tools/rmmhost/rmmhost.c (run_realm, pre_enter, handle_exit);
the differential test holds their `enter` records against each other, so a host-side slip in
either shows up as a difference before any RMM difference does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.rmm.scenario import GRANULE, OpKind, RealmScenario
from tests.rmm.sim_rmm import endpoint

MASK64 = (1 << 64) - 1
RMI_EXIT_SYNC, RMI_EXIT_IRQ, RMI_EXIT_FIQ = 0, 1, 2
RMI_EXIT_PSCI, RMI_EXIT_RIPAS_CHANGE, RMI_EXIT_HOST_CALL = 3, 4, 5
REC_ENTER_FLAG_EMULATED_MMIO = 1 << 0
REC_ENTER_FLAG_RIPAS_RESPONSE = 1 << 4
REC_PARAMS_FLAG_RUNNABLE = 1
EC_DABT_LOW = 0x24
# [PATCH v9 23/43]: the PSCI calls KVM completes with RMI_PSCI_COMPLETE (status SUCCESS).
PSCI_COMPLETED = frozenset({0x8400_0003, 0xC400_0003, 0x8400_0004, 0xC400_0004})
ESR_ISV = 1 << 24
ESR_SF = 1 << 15
ESR_WNR = 1 << 6


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
        self.rmm = endpoint()
        self.records: list[dict] = []
        self.realm_no = 0

    def _rmi(self, cmd: str, ret: int, x1: int | None = None, must: bool = True) -> None:
        rec: dict = {"t": "rmi", "realm": self.realm_no, "cmd": cmd, "ret": ret}
        if x1 is not None:
            rec["x1"] = x1
        self.records.append(rec)
        if must and ret != 0:
            self.records.append({"t": "fail", "realm": self.realm_no, "cmd": cmd, "ret": ret})
            raise HostStop(cmd)

    def run(self, realms: list[RealmScenario]) -> list[dict]:
        self.records.append({"t": "start"})
        try:
            for i, scn in enumerate(realms):
                self.realm_no = i
                self._realm(scn)
        except HostStop:
            return self.records
        self.records.append({"t": "done"})
        return self.records

    def _realm(self, s: RealmScenario) -> None:
        ret, rd = self.rmm.realm_create(s.params)
        self._rmi("REALM_CREATE", ret)
        base, top = s.init_ripas
        while base < top:
            ret, nxt = self.rmm.rtt_init_ripas(rd, base, top)
            self._rmi("RTT_INIT_RIPAS", ret, nxt)
            if nxt <= base:
                break
            base = nxt
        image = s.image
        for off in range(0, len(image), GRANULE):
            ret = self.rmm.data_create(rd, s.program.load_address + off, image[off : off + GRANULE])
            self._rmi("DATA_CREATE", ret)
        recs = []
        for idx in range(max(1, s.n_recs)):
            first = idx == 0
            ret, made = self.rmm.rec_create(
                rd, REC_PARAMS_FLAG_RUNNABLE if first else 0, idx,
                s.pc if first else s.secondary_pc, s.rec_gprs if first else (0,) * 8,
            )
            self._rmi("REC_CREATE", ret)
            recs.append(made)
        self._rmi("REALM_ACTIVATE", self.rmm.realm_activate(rd))
        rec = recs[0]
        assert rec is not None
        v = KvmVcpu()
        gprs = [0] * 31
        for n in range(s.max_exits):
            flags = self._pre_enter(s, v, rd, rec, gprs, n - 1)
            self.records.append(
                {"t": "enter", "realm": self.realm_no, "n": n, "flags": flags, "gprs": list(gprs)}
            )
            ret, x = self.rmm.rec_enter(rec, flags, gprs)
            record: dict = {"t": "exit", "realm": self.realm_no, "n": n, "ret": ret}
            if ret == 0:
                record.update(vars(x))
                record["gprs"] = list(x.gprs)
            self.records.append(record)
            if ret != 0 or not self._handle_exit(v, record):
                return
            if record["reason"] == RMI_EXIT_PSCI:
                self._psci_complete(record, recs)
            for op in s.ops_at(n, OpKind.SET_REG):
                v.x[op.idx] = op.value & MASK64

    def _pre_enter(
        self, s: RealmScenario, v: KvmVcpu, rd: object, rec: object, gprs: list[int], n: int
    ) -> int:
        """kvm_rec_pre_enter + kvm_handle_mmio_return ([PATCH v9 16/43], [PATCH v9 18/43])."""
        flags = 0
        if n < 0:
            return flags
        if v.mmio_pending:
            v.mmio_pending = False
            if not v.fault_esr & ESR_WNR:
                size = 1 << ((v.fault_esr >> 22) & 3)
                data = next((o.value for o in s.ops_at(n, OpKind.MMIO_DATA)), 0)
                if size < 8:
                    data &= (1 << (8 * size)) - 1
                if not v.fault_esr & ESR_SF:
                    data &= 0xFFFF_FFFF
                gprs[0] = data
            flags |= REC_ENTER_FLAG_EMULATED_MMIO
        if v.prev_reason in (RMI_EXIT_HOST_CALL, RMI_EXIT_PSCI):
            gprs[:] = v.x
        elif v.prev_reason == RMI_EXIT_RIPAS_CHANGE:
            if s.ops_at(n, OpKind.RIPAS_REJECT):
                flags |= REC_ENTER_FLAG_RIPAS_RESPONSE
            else:
                base = v.ripas_base
                while base < v.ripas_top:
                    ret, nxt = self.rmm.rtt_set_ripas(rd, rec, base, v.ripas_top)  # type: ignore[arg-type]
                    self._rmi("RTT_SET_RIPAS", ret, nxt, must=False)
                    if ret != 0 or nxt <= base:
                        break
                    base = nxt
        for op in s.ops_at(n, OpKind.ENTER_GPR):
            gprs[op.idx] = op.value & MASK64
        return flags

    def _psci_complete(self, x: dict, recs: list) -> None:
        """realm_psci_complete ([PATCH v9 23/43]) for CPU_ON / AFFINITY_INFO."""
        target = x["gprs"][1] & 0xFF
        if x["gprs"][0] & 0xFFFF_FFFF in PSCI_COMPLETED and target < len(recs):
            self._rmi("PSCI_COMPLETE", self.rmm.psci_complete(recs[0], recs[target], 0),
                      must=False)

    @staticmethod
    def _handle_exit(v: KvmVcpu, x: dict) -> bool:
        """handle_rec_exit: False where KVM would not re-enter."""
        v.fault_esr = x["esr"]
        v.prev_reason = x["reason"]
        reason = x["reason"]
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
            v.x = list(x["gprs"])
            return True
        if reason == RMI_EXIT_RIPAS_CHANGE:
            v.ripas_base, v.ripas_top = x["ripas_base"], x["ripas_top"]
            return True
        return False
