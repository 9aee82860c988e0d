"""The tier's realms: the realm demo as the app's VMM runs it, and the RMM probe.

Both use the sim's realm parameters (sim_rmm.demo_realm_params) and the demo's memory layout.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from backends import guests
from backends.machine import DEMO_X0
from tests.rmm.scenario import Op, OpKind, RealmScenario, RmiRealmParams

INIT_RIPAS = (guests.REALM_RAM_BASE, guests.REALM_RAM_BASE + guests.REALM_INIT_RIPAS_SIZE)

# The demo: the VMM answers the host call at E3 with x1 (E4 writes the struct's gprs[1] back)
# and the MMIO read at E5 (E6 writes it back). Exits are numbered from 0: E1 is exit 0.
DEMO_HOST_CALL_X1 = 0x0000_5EED_0000_0E3E
DEMO_MMIO_DATA = 0x1234_5678_9ABC_DEF0


def demo(params: RmiRealmParams) -> RealmScenario:
    return RealmScenario(
        "demo", params, guests.REALM_DEMO, INIT_RIPAS, (DEMO_X0, 0, 0, 0, 0, 0, 0, 0),
        ops=(Op(2, OpKind.SET_REG, 1, DEMO_HOST_CALL_X1),
             Op(4, OpKind.MMIO_DATA, 0, DEMO_MMIO_DATA)),
    )


# --- the probe ----------------------------------------------------------------------------------

PROBE_MMIO_DATA = 0x0000_00AA_55AA_55AA


def distinctive(stage: guests.ProbeStage, n: int) -> int:
    """The value the host gives x<n> at `stage`: nothing the guest computes looks like it."""
    return 0xD15C_0000_0000_0000 | stage.code << 16 | n


@dataclass(frozen=True)
class ProbePoint:
    """Where a stage's evidence is in the exit stream."""

    stage: guests.ProbeStage
    exit_under_test: int | None  # the exit after which the host writes (None: REC_CREATE)
    report: int  # the exit whose gprs are the guest's x0-x30 afterwards
    struct_report: int | None  # the exit whose gprs are the guest's host-call struct


def probe_points() -> list[ProbePoint]:
    """Exit numbers from the probe's steps: each step after the entry ends in one exit."""
    exits = [s.name for s in guests.RMM_PROBE.steps if s.name not in ("wrong-entry", "end")]
    points = []
    for st in guests.PROBE_STAGES:
        under_test = None if st.name == "create" else exits.index(f"P-{st.name}")
        struct = exits.index("P-host-call-struct") if st.struct_report else None
        points.append(ProbePoint(st, under_test, exits.index(f"R-{st.name}"), struct))
    return points


def probe(params: RmiRealmParams, reject_ripas: bool = False) -> RealmScenario:
    """After each exit under test, the VMM sets every x<n> (KVM_SET_ONE_REG, which KVM carries
    to rec_enter only after a host call or PSCI exit) and the host also writes the same value
    straight into rec_enter.gprs[n] -- except gprs[0] after an MMIO read, which is KVM's (the
    read data). So a value the guest does not see was refused by the RMM itself."""
    stages = {p.stage.name: p for p in probe_points()}
    ops: list[Op] = []
    for name, p in stages.items():
        if p.exit_under_test is None:
            continue
        for n in range(31):
            value = distinctive(p.stage, n)
            ops.append(Op(p.exit_under_test, OpKind.SET_REG, n, value))
            if not (name == "mmio-read" and n == 0):
                ops.append(Op(p.exit_under_test, OpKind.ENTER_GPR, n, value))
        if name == "mmio-read":
            ops.append(Op(p.exit_under_test, OpKind.MMIO_DATA, 0, PROBE_MMIO_DATA))
    if reject_ripas:
        ops.append(Op(stages["ripas-change"].exit_under_test or 0, OpKind.RIPAS_REJECT))
    create = stages["create"].stage
    gprs = tuple(distinctive(create, n) for n in range(8))
    name = "probe-reject" if reject_ripas else "probe"
    return RealmScenario(name, params, guests.RMM_PROBE, INIT_RIPAS, gprs, ops=tuple(ops))


def psci_probe(params: RmiRealmParams) -> RealmScenario:
    """Two RECs: REC 0 turns REC 1 on and asks for its state; the host completes both calls."""
    return RealmScenario(
        "psci-probe", params, guests.RMM_PSCI_PROBE, INIT_RIPAS, (0,) * 8, n_recs=2,
        secondary_pc=guests.PSCI_PROBE_SECONDARY,
    )


def psci_report(stage: guests.ProbeStage) -> int:
    """The exit number of a PSCI probe stage's report."""
    exits = [s.name for s in guests.RMM_PSCI_PROBE.steps if s.name not in ("end", "secondary")]
    return exits.index(f"R-{stage.name}")


def realms(params: RmiRealmParams) -> list[RealmScenario]:
    """One boot's realms, each with its own VMID: the demo; the probe; the probe again with
    the VMM refusing the RIPAS change (REC_ENTER_FLAG_RIPAS_RESPONSE); the PSCI probe."""
    return [
        demo(params),
        probe(replace(params, vmid=params.vmid + 1)),
        probe(replace(params, vmid=params.vmid + 2), reject_ripas=True),
        psci_probe(replace(params, vmid=params.vmid + 3)),
    ]
