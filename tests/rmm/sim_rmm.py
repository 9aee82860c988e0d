"""The sim's RMM as an RMI endpoint: RMI commands in (RMI-encoded arguments), RMI results out.

The one module that knows where the sim keeps its RMM and how to call it; sim_host.py drives
the endpoint exactly as tools/rmmhost drives TF-RMM. Two ways in, whichever the sim has:

* `SmcEndpoint`: the sim's own RMI entry (backends/sim/rmm/handler.py RmiHandler, once the
  sim is laid out as kvm/ and rmm/): function ids and physical addresses, with the parameter
  and rec_run pages written at TF-RMM's offsets into a normal-world memory, as tools/rmmhost
  hands them to TF-RMM.
* `MethodEndpoint`: today's layout, backends/sim/rmm.py's Rmm methods, below KVM.

Either way the sim's RMM has no stage-2 tables or auxiliary REC granules, so delegation,
RTT_CREATE, REC_AUX_COUNT, RMI_VERSION and RMI_FEATURES stay out of the comparison (`MODELLED`
lists the commands compared); the differential test checks that TF-RMM accepted them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Protocol

from backends.machine import DemoMachine, MachineSpec
from backends.sim.kernel import SimKernel
from tests.rmm.scenario import GRANULE, RMI_REALM_FLAG_PMU, RMI_REALM_FLAG_SVE, RmiRealmParams

MODELLED = frozenset(
    {"REALM_CREATE", "RTT_INIT_RIPAS", "DATA_CREATE", "REC_CREATE", "REALM_ACTIVATE",
     "RTT_SET_RIPAS", "PSCI_COMPLETE"}
)
NOT_IN_THIS_SIM = -1  # the status the adapter gives a command this sim's RMM lacks


def _sim_vm() -> tuple[Any, Any]:
    """A simulated demo VM, built and with its realm created: (the sim's VM object, machine)."""
    kernel = SimKernel()
    machine = DemoMachine(kernel, MachineSpec())
    machine.build()
    return kernel.object(machine._vm().fd), machine


def demo_realm_params() -> RmiRealmParams:
    """What the sim's KVM passes to RMI_REALM_CREATE for the demo machine, RMI-encoded the way
    realm_create_rd does: s2sz is the IPA width, num_bps/num_wps are ID_AA64DFR0_EL1's BRPs/WRPs
    fields as they stand (the count minus one; [PATCH v9 34/43]), the SVE length is the VL field
    (VQ - 1, [PATCH v9 38/43])."""
    vm, machine = _sim_vm()
    try:
        machine.create_realm()
        p = vm.realm.rd.params  # the sim's RealmParams: counts, not RMI fields
    finally:
        machine.close()
    flags = (RMI_REALM_FLAG_SVE if p.sve_vq else 0) | (
        RMI_REALM_FLAG_PMU if p.pmu_num_ctrs is not None else 0
    )
    return RmiRealmParams(
        s2sz=p.ipa_width,
        num_bps=p.num_bps - 1,
        num_wps=p.num_wps - 1,
        algorithm=p.hash_algo,
        flags=flags,
        sve_vl=(p.sve_vq - 1) if p.sve_vq else 0,
        pmu_num_ctrs=p.pmu_num_ctrs or 0,
    )


def _sim_rmm() -> Any:
    """The RMM a simulated VM gets, configured as the sim configures it (its host's CPU)."""
    vm, machine = _sim_vm()
    machine.close()
    return vm.rmm


@dataclass
class ExitFields:
    """The rec_exit fields both hosts print."""

    reason: int
    esr: int
    far: int
    hpfar: int
    gprs: list[int]
    ripas_base: int
    ripas_top: int
    ripas_value: int
    imm: int
    cntv_ctl: int
    cntp_ctl: int


class Endpoint(Protocol):
    def realm_create(self, p: RmiRealmParams) -> tuple[int, Any]: ...
    def rtt_init_ripas(self, rd: Any, base: int, top: int) -> tuple[int, int]: ...
    def data_create(self, rd: Any, ipa: int, data: bytes) -> int: ...
    def rec_create(
        self, rd: Any, flags: int, mpidr: int, pc: int, gprs: tuple[int, ...]
    ) -> tuple[int, Any]: ...
    def realm_activate(self, rd: Any) -> int: ...
    def rtt_set_ripas(self, rd: Any, rec: Any, base: int, top: int) -> tuple[int, int]: ...
    def psci_complete(self, caller: Any, target: Any, status: int) -> int: ...
    def rec_enter(self, rec: Any, flags: int, gprs: list[int]) -> tuple[int, ExitFields]: ...


def endpoint() -> Endpoint:
    """The sim's RMI entry if it has one, else its RMM's methods."""
    try:
        handler = importlib.import_module("backends.sim.rmm.handler")
    except ImportError:
        return MethodEndpoint()
    return SmcEndpoint(handler)


# --- the sim's RMI entry: function ids and physical addresses ----------------------------------

# TF-RMM rmm-spec-v1.0-rel0 lib/smc/include/smc-rmi.h (tools/rmmhost/rmi.h has the same).
def _fid(n: int) -> int:
    return 0xC400_0150 + n


RMI_GRANULE_DELEGATE, RMI_DATA_CREATE, RMI_REALM_ACTIVATE = _fid(0x1), _fid(0x3), _fid(0x7)
RMI_REALM_CREATE, RMI_REC_CREATE, RMI_REC_ENTER = _fid(0x8), _fid(0xA), _fid(0xC)
RMI_RTT_CREATE, RMI_PSCI_COMPLETE, RMI_REC_AUX_COUNT = _fid(0xD), _fid(0x14), _fid(0x17)
RMI_RTT_INIT_RIPAS, RMI_RTT_SET_RIPAS = _fid(0x18), _fid(0x19)
# struct rmi_realm_params / rmi_rec_params / rmi_rec_run offsets (same header).
REALM_PARAMS = {"flags": 0x0, "s2sz": 0x8, "sve_vl": 0x10, "num_bps": 0x18, "num_wps": 0x20,
                "pmu_num_ctrs": 0x28, "algorithm": 0x30, "vmid": 0x800, "rtt_base": 0x808,
                "rtt_level_start": 0x810, "rtt_num_start": 0x818}
REC_PARAMS_FLAGS, REC_PARAMS_MPIDR, REC_PARAMS_PC, REC_PARAMS_GPRS = 0x0, 0x100, 0x200, 0x300
ENTER_FLAGS, ENTER_GPRS, EXIT = 0x0, 0x200, 0x800
EXIT_FIELDS = {"reason": 0x0, "esr": 0x100, "far": 0x108, "hpfar": 0x110, "cntp_ctl": 0x400,
               "cntv_ctl": 0x410, "ripas_base": 0x500, "ripas_top": 0x508}
EXIT_GPRS, EXIT_RIPAS_VALUE, EXIT_IMM = 0x200, 0x510, 0x600

# Normal-world pages and the delegation pool, as tools/rmmhost lays them out.
NS_REALM_PARAMS, NS_REC_PARAMS, NS_RUN, NS_SRC = 0x6020_0000, 0x6020_1000, 0x6020_2000, 0x6020_3000
POOL = 0x8000_0000


class SmcEndpoint:
    def __init__(self, handler: Any) -> None:
        self.ns = handler.PhysicalMemory()
        self.rmi = handler.RmiHandler(_sim_rmm(), self.ns)
        self.next = POOL

    def _u64(self, pa: int, value: int) -> None:
        self.ns.write(pa, (value & (2**64 - 1)).to_bytes(8, "little"))

    def _read(self, pa: int) -> int:
        return int.from_bytes(self.ns.read(pa, 8), "little")

    def _granule(self) -> int:
        pa, self.next = self.next, self.next + GRANULE
        self.rmi.smc(RMI_GRANULE_DELEGATE, pa)
        return pa

    def realm_create(self, p: RmiRealmParams) -> tuple[int, Any]:
        rd = self._granule()
        if self.next % (2 * GRANULE):
            self._granule()
        root = self._granule()
        self._granule()
        self.ns.write(NS_REALM_PARAMS, bytes(GRANULE))
        values = {"flags": p.flags, "s2sz": p.s2sz, "sve_vl": p.sve_vl, "num_bps": p.num_bps,
                  "num_wps": p.num_wps, "pmu_num_ctrs": p.pmu_num_ctrs, "vmid": p.vmid,
                  "rtt_base": root, "rtt_level_start": p.rtt_level_start, "rtt_num_start": 2}
        for name, value in values.items():
            self._u64(NS_REALM_PARAMS + REALM_PARAMS[name], value)
        self.ns.write(NS_REALM_PARAMS + REALM_PARAMS["algorithm"], bytes([p.algorithm]))
        ret = self.rmi.smc(RMI_REALM_CREATE, rd, NS_REALM_PARAMS)[0]
        for level in (2, 3):  # the host's RTTs: no effect on the sim's RMM beyond the granule
            self.rmi.smc(RMI_RTT_CREATE, rd, self._granule(), 0, level)
        return ret, rd

    def rtt_init_ripas(self, rd: Any, base: int, top: int) -> tuple[int, int]:
        x = self.rmi.smc(RMI_RTT_INIT_RIPAS, rd, base, top)
        return x[0], x[1]

    def data_create(self, rd: Any, ipa: int, data: bytes) -> int:
        self.ns.write(NS_SRC, data.ljust(GRANULE, b"\0"))
        return self.rmi.smc(RMI_DATA_CREATE, rd, self._granule(), ipa, NS_SRC, 1)[0]

    def rec_create(
        self, rd: Any, flags: int, mpidr: int, pc: int, gprs: tuple[int, ...]
    ) -> tuple[int, Any]:
        self.rmi.smc(RMI_REC_AUX_COUNT, rd)
        rec = self._granule()
        self.ns.write(NS_REC_PARAMS, bytes(GRANULE))
        self._u64(NS_REC_PARAMS + REC_PARAMS_FLAGS, flags)
        self._u64(NS_REC_PARAMS + REC_PARAMS_MPIDR, mpidr)
        self._u64(NS_REC_PARAMS + REC_PARAMS_PC, pc)
        for n, value in enumerate(gprs):
            self._u64(NS_REC_PARAMS + REC_PARAMS_GPRS + 8 * n, value)
        return self.rmi.smc(RMI_REC_CREATE, rd, rec, NS_REC_PARAMS)[0], rec

    def realm_activate(self, rd: Any) -> int:
        return int(self.rmi.smc(RMI_REALM_ACTIVATE, rd)[0])

    def rtt_set_ripas(self, rd: Any, rec: Any, base: int, top: int) -> tuple[int, int]:
        x = self.rmi.smc(RMI_RTT_SET_RIPAS, rd, rec, base, top)
        return x[0], x[1]

    def psci_complete(self, caller: Any, target: Any, status: int) -> int:
        return int(self.rmi.smc(RMI_PSCI_COMPLETE, caller, target, status)[0])

    def rec_enter(self, rec: Any, flags: int, gprs: list[int]) -> tuple[int, ExitFields]:
        self._u64(NS_RUN + ENTER_FLAGS, flags)
        for n, value in enumerate(gprs):
            self._u64(NS_RUN + ENTER_GPRS + 8 * n, value)
        ret = int(self.rmi.smc(RMI_REC_ENTER, rec, NS_RUN)[0])
        x = NS_RUN + EXIT
        fields = {name: self._read(x + off) for name, off in EXIT_FIELDS.items()}
        return ret, ExitFields(
            gprs=[self._read(x + EXIT_GPRS + 8 * n) for n in range(31)],
            ripas_value=self.ns.read(x + EXIT_RIPAS_VALUE, 1)[0],
            imm=int.from_bytes(self.ns.read(x + EXIT_IMM, 4), "little"), **fields,
        )


# --- today's layout: the Rmm's methods ---------------------------------------------------------


class MethodEndpoint:
    def __init__(self) -> None:
        self.rmm = _sim_rmm()
        self.rmi = importlib.import_module("backends.sim.rmi")

    def realm_create(self, p: RmiRealmParams) -> tuple[int, Any]:
        params = self.rmi.RealmParams(
            ipa_width=p.s2sz,
            hash_algo=p.algorithm,
            pmu_num_ctrs=p.pmu_num_ctrs if p.flags & RMI_REALM_FLAG_PMU else None,
            num_bps=p.num_bps + 1,
            num_wps=p.num_wps + 1,
            sve_vq=p.sve_vl + 1 if p.flags & RMI_REALM_FLAG_SVE else None,
        )
        return 0, self.rmm.realm_create(params)

    def rtt_init_ripas(self, rd: Any, base: int, top: int) -> tuple[int, int]:
        return self.rmm.rtt_init_ripas(rd, base, top)

    def data_create(self, rd: Any, ipa: int, data: bytes) -> int:
        return int(self.rmm.data_create(rd, ipa, data))

    def rec_create(
        self, rd: Any, flags: int, mpidr: int, pc: int, gprs: tuple[int, ...]
    ) -> tuple[int, Any]:
        params = self.rmi.RecParams(flags=flags, mpidr=mpidr, pc=pc, gprs=gprs)
        return self.rmm.rec_create(rd, params)

    def realm_activate(self, rd: Any) -> int:
        return int(self.rmm.realm_activate(rd))

    def rtt_set_ripas(self, rd: Any, rec: Any, base: int, top: int) -> tuple[int, int]:
        return self.rmm.rtt_set_ripas(rd, rec, base, top)

    def psci_complete(self, caller: Any, target: Any, status: int) -> int:
        complete = getattr(self.rmm, "psci_complete", None)
        if complete is None:
            return NOT_IN_THIS_SIM
        return int(complete(caller, target, status))

    def rec_enter(self, rec: Any, flags: int, gprs: list[int]) -> tuple[int, ExitFields]:
        run = self.rmi.RecRun()
        run.enter.flags = flags
        run.enter.gprs = list(gprs)
        ret = self.rmm.rec_enter(rec, run)
        x = run.exit
        return int(ret), ExitFields(
            int(x.exit_reason), x.esr, x.far, x.hpfar, list(x.gprs), x.ripas_base,
            x.ripas_top, x.ripas_value, x.imm, x.cntv_ctl, x.cntp_ctl,
        )
