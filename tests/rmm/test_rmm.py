"""The real-RMM tier: TF-RMM under QEMU's emulated RME, driven at RMI level by tools/rmmhost,
against the sim's RMM driven the same way (sim_host.py) -- exit by exit -- and the rules'
effective/ignored verdicts against what a real RMM hands the guest.

One QEMU boot per firmware image runs the whole scenario (the realm demo, the probe realm, the
probe with a refused RIPAS change): the two RMM 1.0 builds, which the rules and the sim model,
and RMM 2.0 (TF-RMM v0.9.0), held against the sim's RMM 1.0 model and against RMM 1.0 itself.
REALMTUI_RMM_TIER=required (set by .ci/run): QEMU >= 8.2, the cross compiler and the firmware
must be there. Unset: the tier skips, saying in one line what is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backends import guests
from backends.machine import DEMO_X0
from realmtui import rules
from realmtui.context import ExitCause, Profile, RealmState, VcpuContext, VmKind
from realmtui.regs import PC, describe, x_id
from realmtui.verdict import Access
from tests.rmm import cases, firmware
from tests.rmm.compare import (
    as_rmi_1_0,
    check,
    differences,
    normalize,
    plumbing_failures,
    without,
)
from tests.rmm.known_differences import ALLOWED, ALLOWED_2_0
from tests.rmm.sim_host import SimHost
from tests.rmm.sim_rmm import demo_realm_params
from tests.rmm.verdicts import mismatches, observe, probe_exits, resumed_in_order

REALMS = cases.realms(demo_realm_params())
NAMES = [r.name for r in REALMS]
DEMO, PROBE, PROBE_REJECT, PSCI_PROBE = 0, 1, 2, 3
ALL_IMAGES = firmware.RMM_1_0 + firmware.RMM_2_0
SHUTDOWN = 0x102  # REC_ENTER on a SYSTEM_OFF realm: RMI_ERROR_REALM, index 1


@pytest.fixture(scope="module")
def host_image(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    why = firmware.missing()
    if why:
        if os.environ.get("REALMTUI_RMM_TIER") == "required":
            pytest.fail(f"the real-RMM tier is required, but {why}")
        pytest.skip(f"real-RMM tier: {why}")
    return firmware.build_host(tmp_path_factory.mktemp("rmmhost"))


class Boots:
    """One boot per image, on first use; the records normalized."""

    def __init__(self, host: bytes, scratch: Path) -> None:
        self.host = host
        self.scratch = scratch
        self._done: dict[str, tuple[firmware.Boot, list[dict]]] = {}

    def __call__(self, image: str) -> tuple[firmware.Boot, list[dict]]:
        if image not in self._done:
            b = firmware.boot(image, self.host, REALMS, self.scratch / image)
            print(f"\n{image}: QEMU {b.wall_s:.2f} s, {len(b.records)} records")
            self._done[image] = (b, normalize(b.records))
        return self._done[image]


@pytest.fixture(scope="module")
def boots(host_image: bytes, tmp_path_factory: pytest.TempPathFactory) -> Boots:
    return Boots(host_image, tmp_path_factory.mktemp("rmm-boots"))


@pytest.fixture(scope="module")
def sim() -> list[dict]:
    records = SimHost().run(REALMS)
    assert records[-1]["t"] == "done", records[-3:]
    assert plumbing_failures(records) == []
    return records


@pytest.mark.parametrize("image", ALL_IMAGES)
def test_the_host_runs_every_realm_to_system_off_on_tf_rmm(boots: Boots, image: str) -> None:
    boot, real = boots(image)
    assert boot.returncode == 0 and real and real[-1]["t"] == "done", boot.tail()
    assert not [r for r in real if r["t"] in ("fail", "crash")], boot.tail()
    assert plumbing_failures(real) == []
    for realm in (DEMO, PROBE, PROBE_REJECT, PSCI_PROBE):
        last = [r for r in real if r["t"] == "exit" and r["realm"] == realm][-1]
        assert last["ret"] == SHUTDOWN, f"{NAMES[realm]}: REC_ENTER after SYSTEM_OFF gave {last}"


@pytest.mark.parametrize("image", firmware.RMM_1_0)
def test_tf_rmm_differs_from_the_sim_only_as_the_table_says(
    boots: Boots, sim: list[dict], image: str
) -> None:
    verdict = check(differences(boots(image)[1], sim, NAMES), ALLOWED)
    assert verdict.ok, verdict.explain()


@pytest.mark.parametrize("image", firmware.RMM_2_0)
def test_rmm_2_0_differs_from_the_sims_rmm_1_0_only_as_the_tables_say(
    boots: Boots, sim: list[dict], image: str
) -> None:
    """The sim has no RMM 2.0 model: RMM 2.0 against the sim's RMM 1.0, which differs from it
    only as RMM 1.0 does, plus REC_CREATE's stateful first answer."""
    real = as_rmi_1_0(boots(image)[1])
    rmi_1_0_only = {"REC_AUX_COUNT"}  # RMI 2.0 asks for the REC's granules instead
    verdict = check(differences(real, without(sim, rmi_1_0_only), NAMES), ALLOWED_2_0)
    assert verdict.ok, verdict.explain()
    assert {r["plane"] for r in real if r["t"] == "exit" and r["ret"] == 0} == {0}


@pytest.mark.parametrize("image", ALL_IMAGES)
def test_the_demo_on_tf_rmm_shows_what_the_app_teaches(boots: Boots, image: str) -> None:
    """E1 writes the x0 given before REC creation, E2 a zero x8, E4 the host call's answer,
    E6 the MMIO read's data; E7 asks for RIPAS RAM on the EMPTY range; E8 turns it off."""
    exits = [r for r in boots(image)[1] if r["t"] == "exit" and r["realm"] == DEMO]
    assert [r.get("reason") for r in exits[:8]] == [0, 0, 5, 0, 0, 0, 4, 3]
    assert exits[0]["gprs"][0] == DEMO_X0
    assert exits[1]["gprs"][0] == 0  # x8: REC_CREATE takes only x0-x7
    assert exits[2]["gprs"][1] == guests.HOSTCALL_ARG1_INITIAL
    assert exits[3]["gprs"][0] == cases.DEMO_HOST_CALL_X1
    assert exits[5]["gprs"][0] == cases.DEMO_MMIO_DATA
    assert (exits[6]["ripas_base"], exits[6]["ripas_top"], exits[6]["ripas_value"]) == (
        guests.RIPAS_CHANGE_BASE, guests.RIPAS_CHANGE_TOP, guests.RIPAS_RAM)
    assert exits[7]["gprs"][0] == guests.PSCI_SYSTEM_OFF
    assert exits[8]["ret"] == SHUTDOWN


@pytest.mark.parametrize("image", firmware.RMM_1_0)
def test_the_verdicts_hold_on_tf_rmm(boots: Boots, image: str) -> None:
    exits = probe_exits(boots(image)[1], PROBE)
    assert resumed_in_order(exits) == []
    assert mismatches(observe(exits)) == []


@pytest.mark.parametrize("image", ALL_IMAGES)
def test_after_system_off_no_write_reaches_the_guest_on_tf_rmm(boots: Boots, image: str) -> None:
    """The demo's E8: the REC_ENTER after PSCI SYSTEM_OFF fails (so the guest never runs to
    see anything), and the rules call every x0-x30 and pc write ignored there, whether the
    app still shows the PSCI exit or already the shutdown."""
    exits = [r for r in boots(image)[1] if r["t"] == "exit" and r["realm"] == DEMO]
    assert exits[-2]["reason"] == 3 and exits[-2]["gprs"][0] == guests.PSCI_SYSTEM_OFF
    assert exits[-1]["ret"] == SHUTDOWN
    regs = [describe(x_id(n)) for n in range(31)] + [describe(PC)]
    for cause in (ExitCause.PSCI, ExitCause.SHUTDOWN):
        for profile in Profile:
            ctx = VcpuContext(VmKind.REALM, profile, RealmState.ACTIVE, rec_created=True,
                              last_exit=cause, has_run=True)
            assert {rules.verdict(r, ctx).access for r in regs} == {Access.IGNORED}


@pytest.mark.parametrize("image", firmware.RMM_2_0)
def test_rmm_2_0_hands_the_guest_what_rmm_1_0_does(boots: Boots, image: str) -> None:
    """No profile models the v13+ series yet; what the RMM takes from rec_enter at each of these
    points is the same in TF-RMM v0.9.0 as in rmm-spec-v1.0-rel0, x0-x30 and pc alike."""
    rmm_2 = probe_exits(boots(image)[1], PROBE)
    rmm_1 = probe_exits(boots(firmware.RMM_1_0[0])[1], PROBE)
    assert resumed_in_order(rmm_2) == []
    seen_2 = {(o.stage, o.register): o.seen for o in observe(rmm_2)}
    seen_1 = {(o.stage, o.register): o.seen for o in observe(rmm_1)}
    assert seen_2 == seen_1


@pytest.mark.parametrize("image", ALL_IMAGES)
def test_a_refused_ripas_change_reaches_the_guest_as_reject_on_tf_rmm(
    boots: Boots, image: str
) -> None:
    """RIPAS_RESPONSE set and no RTT_SET_RIPAS: the guest gets RSI_SUCCESS, no progress
    (x1 = base) and RSI_REJECT in x2 (TF-RMM run.c complete_set_ripas)."""
    real = boots(image)[1]
    ripas = next(p for p in cases.probe_points() if p.stage.name == "ripas-change")
    for realm, progress, response in ((PROBE, guests.RIPAS_CHANGE_TOP, 0),
                                      (PROBE_REJECT, guests.RIPAS_CHANGE_BASE, 1)):
        report = probe_exits(real, realm)[ripas.report]
        assert report["gprs"][:3] == [0, progress, response], NAMES[realm]
    assert not [r for r in real if r["t"] == "rmi" and r["cmd"] == "RTT_SET_RIPAS"
                and r["realm"] == PROBE_REJECT]


@pytest.mark.parametrize("image", ALL_IMAGES)
def test_psci_complete_answers_cpu_on_and_affinity_info_on_tf_rmm(
    boots: Boots, image: str
) -> None:
    """CPU_ON and AFFINITY_INFO for REC 1 exit with the FID and the target MPIDR only; once
    the host completes each (RMI_PSCI_COMPLETE, status SUCCESS) the caller sees PSCI_SUCCESS,
    then ON, with x1-x3 cleared (TF-RMM psci.c psci_complete_request)."""
    real = [r for r in boots(image)[1] if r.get("realm") == PSCI_PROBE]
    exits = probe_exits(real, PSCI_PROBE)
    cpu_on, affinity = guests.PSCI_PROBE_STAGES
    for fid, stage in ((guests.PSCI_CPU_ON_64, cpu_on), (guests.PSCI_AFFINITY_INFO_64, affinity)):
        report = cases.psci_report(stage)
        call = exits[report - 1]
        assert (call["reason"], call["gprs"][:2], set(call["gprs"][2:])) == (3, [fid, 1], {0})
        assert exits[report]["imm"] == stage.code
        assert exits[report]["gprs"][:4] == [0, 0, 0, 0]  # SUCCESS / AFFINITY_INFO ON (0)
    completes = [r["ret"] for r in real if r["t"] == "rmi" and r["cmd"] == "PSCI_COMPLETE"]
    assert completes == [0, 0]


def test_the_verdicts_hold_on_the_sim_rmm(sim: list[dict]) -> None:
    """The same probe through the sim's RMM (no QEMU needed)."""
    exits = probe_exits(sim, PROBE)
    assert resumed_in_order(exits) == []
    assert mismatches(observe(exits)) == []


def test_the_probe_sees_what_the_host_call_and_rec_create_hand_over(sim: list[dict]) -> None:
    """The probe can tell 'seen' from 'not seen': the two effective cases are seen."""
    seen = {(o.stage, o.register) for o in observe(probe_exits(sim, PROBE)) if o.seen}
    assert {("create", f"x{n}") for n in range(8)} | {("create", "pc")} <= seen
    assert {("host-call", f"x{n}") for n in range(31)} <= seen
    assert not {s for s, _ in seen} - {"create", "host-call"}


def test_the_scenario_blob_fits_between_the_host_and_its_stack() -> None:
    from tests.rmm.scenario import SCENARIO_OFFSET, pack

    # tools/rmmhost/host.ld: .bss (and above it the stack) starts at 0x60200000.
    assert SCENARIO_OFFSET + len(pack(REALMS)) <= 0x20_0000
