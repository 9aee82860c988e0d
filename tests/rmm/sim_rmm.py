"""Where the sim keeps its RMM, and what the sim's KVM asks it for.

The sim's RMM has an RMI entry of its own (backends/sim/rmm/handler.py): function ids and
physical addresses, with the parameter and rec_run pages in a normal-world memory at TF-RMM's
offsets -- the door the sim's KVM uses, and the one sim_host.py drives exactly as tools/rmmhost
drives TF-RMM. This module is the only one in the tier that knows those names.
"""

from __future__ import annotations

from typing import Any

from backends.machine import DemoMachine, MachineSpec
from backends.sim.kernel import SimKernel
from backends.sim.rmm.handler import PhysicalMemory, RmiHandler
from tests.rmm.scenario import GRANULE, RmiRealmParams

RMI_REALM_CREATE = 0xC400_0158
# struct rmi_realm_params (TF-RMM rmm-spec-v1.0-rel0 smc-rmi.h): the fields KVM fills.
PARAMS_FLAGS, PARAMS_S2SZ, PARAMS_SVE_VL, PARAMS_NUM_BPS = 0x0, 0x8, 0x10, 0x18
PARAMS_NUM_WPS, PARAMS_PMU_NUM_CTRS, PARAMS_ALGORITHM = 0x20, 0x28, 0x30


def _sim_vm() -> tuple[Any, DemoMachine]:
    """A simulated demo VM, built: (the sim's VM object, its machine)."""
    kernel = SimKernel()
    machine = DemoMachine(kernel, MachineSpec())
    machine.build()
    return kernel.object(machine._vm().fd), machine


def demo_realm_params() -> RmiRealmParams:
    """The realm parameters page the sim's KVM hands its RMM at RMI_REALM_CREATE for the demo
    machine (realm_create_rd), read back field by field."""
    vm, machine = _sim_vm()
    pages: list[bytes] = []
    smc = vm.rmi.smc

    def spy(fid: int, *args: int) -> tuple[int, ...]:
        if fid == RMI_REALM_CREATE:
            pages.append(vm.rmi.memory.read(args[1], GRANULE))
        return tuple(smc(fid, *args))

    vm.rmi.smc = spy
    try:
        machine.create_realm()
    finally:
        machine.close()
    page = pages[0]

    def field(off: int, size: int = 4) -> int:
        return int.from_bytes(page[off : off + size], "little")

    return RmiRealmParams(
        s2sz=field(PARAMS_S2SZ),
        num_bps=field(PARAMS_NUM_BPS),
        num_wps=field(PARAMS_NUM_WPS),
        algorithm=field(PARAMS_ALGORITHM, 1),
        flags=field(PARAMS_FLAGS, 8),
        sve_vl=field(PARAMS_SVE_VL),
        pmu_num_ctrs=field(PARAMS_PMU_NUM_CTRS),
    )


def rmi_entry() -> tuple[RmiHandler, PhysicalMemory]:
    """The sim's RMM, configured as a simulated VM gets it (its host's CPU), behind its RMI
    entry, with an empty normal-world memory."""
    vm, machine = _sim_vm()
    machine.close()
    ns = PhysicalMemory()
    return RmiHandler(vm.rmi.rmm, ns), ns
