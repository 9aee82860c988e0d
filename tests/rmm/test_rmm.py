"""The real-RMM tier: TF-RMM under QEMU's emulated RME, driven at RMI level by tools/rmmhost,
against the sim's RMM driven the same way (sim_host.py) -- exit by exit -- and the rules'
effective/ignored verdicts against what a real RMM hands the guest.

One QEMU boot per RMM 1.0 image runs the whole scenario (the realm demo, then the probe realm).
REALMTUI_RMM_TIER=required (set by .ci/run): QEMU >= 8.2, the cross compiler and the firmware
must be there. Unset: the tier skips, saying in one line what is missing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from backends import guests
from backends.machine import DEMO_X0
from tests.rmm import cases, firmware
from tests.rmm.compare import check, differences, normalize, plumbing_failures
from tests.rmm.known_differences import ALLOWED
from tests.rmm.sim_host import SimHost
from tests.rmm.sim_rmm import demo_realm_params
from tests.rmm.verdicts import mismatches, observe, probe_exits, resumed_in_order

REALMS = cases.realms(demo_realm_params())
NAMES = [r.name for r in REALMS]
DEMO, PROBE, PROBE_REJECT = 0, 1, 2


@pytest.fixture(scope="module")
def host_image(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    why = firmware.missing()
    if why:
        if os.environ.get("REALMTUI_RMM_TIER") == "required":
            pytest.fail(f"the real-RMM tier is required, but {why}")
        pytest.skip(f"real-RMM tier: {why}")
    return firmware.build_host(tmp_path_factory.mktemp("rmmhost"))


_boots: dict[str, firmware.Boot] = {}


@pytest.fixture(scope="module", params=firmware.RMM_1_0)
def boot(request: pytest.FixtureRequest, host_image: bytes,
         tmp_path_factory: pytest.TempPathFactory) -> firmware.Boot:
    image = request.param
    if image not in _boots:
        t0 = time.monotonic()
        b = firmware.boot(image, host_image, REALMS, tmp_path_factory.mktemp(image))
        print(f"\n{image}: QEMU {b.wall_s:.2f} s, {len(b.records)} records "
              f"({time.monotonic() - t0:.2f} s with the blob)")
        _boots[image] = b
    return _boots[image]


@pytest.fixture(scope="module")
def sim() -> list[dict]:
    return SimHost().run(REALMS)


def _real(boot: firmware.Boot) -> list[dict]:
    return normalize(boot.records)


def test_the_host_runs_both_realms_to_system_off_on_tf_rmm(boot: firmware.Boot) -> None:
    real = _real(boot)
    assert boot.returncode == 0 and real and real[-1]["t"] == "done", boot.tail()
    assert not [r for r in real if r["t"] in ("fail", "crash")], boot.tail()
    assert plumbing_failures(real) == []
    for realm in (DEMO, PROBE, PROBE_REJECT):
        last = [r for r in real if r["t"] == "exit" and r["realm"] == realm][-1]
        assert last["ret"] == 0x102, f"{NAMES[realm]}: REC_ENTER after SYSTEM_OFF gave {last}"


def test_tf_rmm_differs_from_the_sim_only_as_the_table_says(
    boot: firmware.Boot, sim: list[dict]
) -> None:
    verdict = check(differences(_real(boot), sim, NAMES), ALLOWED)
    assert verdict.ok, verdict.explain()


def test_the_demo_on_tf_rmm_shows_what_the_app_teaches(boot: firmware.Boot) -> None:
    """E1 writes the x0 given before REC creation, E4 the host call's answer, E6 the MMIO
    read's data; E7 asks for RIPAS RAM on the EMPTY range; E8 turns the realm off."""
    exits = [r for r in _real(boot) if r["t"] == "exit" and r["realm"] == DEMO]
    reasons = [r.get("reason") for r in exits[:8]]
    assert reasons == [0, 0, 5, 0, 0, 0, 4, 3]
    assert exits[0]["gprs"][0] == DEMO_X0
    assert exits[1]["gprs"][0] == 0  # x8: REC_CREATE takes only x0-x7
    assert exits[2]["gprs"][1] == guests.HOSTCALL_ARG1_INITIAL
    assert exits[3]["gprs"][0] == cases.DEMO_HOST_CALL_X1
    assert exits[5]["gprs"][0] == cases.DEMO_MMIO_DATA
    assert (exits[6]["ripas_base"], exits[6]["ripas_top"], exits[6]["ripas_value"]) == (
        guests.RIPAS_CHANGE_BASE, guests.RIPAS_CHANGE_TOP, guests.RIPAS_RAM)
    assert exits[7]["gprs"][0] == guests.PSCI_SYSTEM_OFF
    assert exits[8]["ret"] == 0x102


def test_the_verdicts_hold_on_tf_rmm(boot: firmware.Boot) -> None:
    exits = probe_exits(_real(boot), PROBE)
    assert resumed_in_order(exits) == []
    assert mismatches(observe(exits)) == []


def test_a_refused_ripas_change_reaches_the_guest_as_reject_on_tf_rmm(
    boot: firmware.Boot,
) -> None:
    """RIPAS_RESPONSE set and no RTT_SET_RIPAS: the guest gets RSI_SUCCESS, no progress
    (x1 = base) and RSI_REJECT in x2 (TF-RMM run.c complete_set_ripas)."""
    real = _real(boot)
    ripas = next(p for p in cases.probe_points() if p.stage.name == "ripas-change")
    for realm, progress, response in ((PROBE, guests.RIPAS_CHANGE_TOP, 0),
                                      (PROBE_REJECT, guests.RIPAS_CHANGE_BASE, 1)):
        report = probe_exits(real, realm)[ripas.report]
        assert report["gprs"][:3] == [0, progress, response], NAMES[realm]
    assert not [r for r in real if r["t"] == "rmi" and r["cmd"] == "RTT_SET_RIPAS"
                and r["realm"] == PROBE_REJECT]


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


def test_the_scenario_blob_fits_between_the_host_and_its_stack(tmp_path: Path) -> None:
    from tests.rmm.scenario import SCENARIO_OFFSET, pack

    blob = pack(REALMS)
    # tools/rmmhost/host.ld: .bss (and above it the stack) starts at 0x60200000.
    assert SCENARIO_OFFSET + len(blob) <= 0x20_0000
