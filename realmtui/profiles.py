"""The series descriptor's teaching half: per profile, the lifecycle steps a user takes (key,
batch verb, hint, what the kernel does), the registers a realm's SET_ONE_REG lets through,
the realm register list, and a one-line description.

The uAPI half (cap, VM type, ioctls, RMM version) is backends/series.py, which the VMM and the
sim's kernel read; the sim implements each kernel's behaviour itself and never reads this.
Adding a profile: an entry here and in backends/series.py, and the kernel's behaviour in the
sim.
"""

from __future__ import annotations

from dataclasses import dataclass

from backends.series import SERIES, Series
from realmtui.context import Profile
from realmtui.model import Stage


@dataclass(frozen=True)
class Step:
    verb: str  # the batch verb and the app's action: create, finalize, activate
    key: str  # the app's key
    label: str  # the footer's word for it
    before: Stage
    after: Stage
    hint: str  # what the status line suggests before the step
    kernel: str  # what the kernel does for it (help, batch help)
    done: str = ""  # what to say once it is done ("" : the stage's label)


@dataclass(frozen=True)
class ProfileInfo:
    profile: Profile
    summary: str  # one line for --help and the palette
    steps: tuple[Step, ...]
    # Beyond x0-x30 and pc, what the realm filter of SET_ONE_REG lets through.
    settable: tuple[str, ...]
    # Why each step the profile lacks is missing (batch and the app answer with it).
    missing: dict[str, str]
    # What a realm vCPU's KVM_GET_REG_LIST holds, in words (README, help).
    reg_list: str
    # Where the x0-x7 and pc of the REC come from: the call that creates the REC.
    rec_creator: str
    # Whether KVM copies x0-x30 into rec_enter after a PSCI exit (v9-v13) or completes the
    # call itself and copies nothing (v14, cca-uapi-v12-v16.md C5/C6).
    gprs_after_psci: bool = True

    @property
    def uapi(self) -> Series:
        return SERIES[self.profile.value]

    @property
    def implicit(self) -> bool:
        return self.uapi.implicit

    def step(self, verb: str) -> Step | None:
        return next((s for s in self.steps if s.verb == verb), None)

    def step_from(self, stage: Stage) -> Step | None:
        return next((s for s in self.steps if s.before is stage), None)


_V9_STEPS = (
    Step("create", "c", "Create realm", Stage.REALM_NEW, Stage.REALM_CREATED,
         "c creates the realm",
         "KVM_ENABLE_CAP(KVM_CAP_ARM_RME) CREATE_REALM, INIT_RIPAS and POPULATE the image"),
    Step("finalize", "f", "Create REC", Stage.REALM_CREATED, Stage.REC_CREATED,
         "f creates the REC (x0-x7 and pc go into it)",
         "KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_REC): RMI_REC_CREATE with x0-x7 and pc"),
    Step("activate", "a", "Activate", Stage.REC_CREATED, Stage.ACTIVE,
         "a activates the realm", "KVM_ENABLE_CAP(KVM_CAP_ARM_RME) ACTIVATE_REALM"),
)

_RMI_STEPS = (
    Step("create", "c", "Populate", Stage.REALM_NEW, Stage.REALM_CREATED,
         "c populates the image (the first populate creates the realm)",
         "KVM_ARM_RMI_POPULATE: the first call creates the realm (RMI_REALM_CREATE), then "
         "RMI_DATA_CREATE per granule",
         "realm created and populated; the first run activates it and creates the REC"),
)


def _missing(name: str) -> dict[str, str]:
    return {
        "finalize": f"{name} has no REC-creation step: the first run creates the RECs "
                    "(from x0-x7 and pc as they are then)",
        "activate": f"{name} has no activation step: the first run activates the realm",
    }


_V9_LIST = "core registers, SVE_VLS with SVE, ID_AA64DFR0_EL1, PMCR_EL0 with a PMU"
_V9_SETTABLE = ("PMCR_EL0", "ID_AA64DFR0_EL1", "KVM_REG_ARM64_SVE_VLS")
_RMI_REC = "the first KVM_RUN (kvm_activate_realm creates every REC)"

PROFILES: dict[Profile, ProfileInfo] = {
    p.profile: p
    for p in (
        ProfileInfo(
            Profile.SEED, "v9 up to patch 22: SET_ONE_REG on a realm takes x0-x30 and pc only",
            _V9_STEPS, (), {}, "upstream's list (EPERM until the REC runs)",
            "KVM_ARM_VCPU_FINALIZE(REC)",
        ),
        ProfileInfo(
            Profile.V9, "the v9 series (KVM_CAP_ARM_RME 243, RMM 1.0): realm parameters as "
            "registers", _V9_STEPS, _V9_SETTABLE, {}, _V9_LIST, "KVM_ARM_VCPU_FINALIZE(REC)",
        ),
        ProfileInfo(
            Profile.V10, "v10 (KVM_CAP_ARM_RME 244, RMM 1.0): v9's rules",
            _V9_STEPS, _V9_SETTABLE, {}, _V9_LIST, "KVM_ARM_VCPU_FINALIZE(REC)",
        ),
        ProfileInfo(
            Profile.V12, "v12 (KVM_CAP_ARM_RMI 247, RMM 1.0): populate creates the realm, the "
            "first run activates it", _RMI_STEPS, _V9_SETTABLE, _missing("v12"), _V9_LIST,
            _RMI_REC,
        ),
        ProfileInfo(
            Profile.V13, "v13 (KVM_CAP_ARM_RMI 248, RMM 2.0-bet0): v12's lifecycle, "
            "POPULATE _IOWR", _RMI_STEPS, _V9_SETTABLE, _missing("v13"), _V9_LIST, _RMI_REC,
        ),
        ProfileInfo(
            # [PATCH v14 41/44]: PMCR_EL0 is no longer settable (C1, C10).
            Profile.V14, "v14 (KVM_CAP_ARM_RMI 249, realm VM type bit 30, RMM 2.0-bet1): no "
            "PSCI_COMPLETE, PMCR_EL0 not settable", _RMI_STEPS,
            ("ID_AA64DFR0_EL1", "KVM_REG_ARM64_SVE_VLS"), _missing("v14"), _V9_LIST, _RMI_REC,
            gprs_after_psci=False,
        ),
    )
}


def info(profile: Profile) -> ProfileInfo:
    return PROFILES[profile]


def help_lines() -> str:
    """--profile's help: every series with its line."""
    return "; ".join(f"{p}: {PROFILES[p].summary}" for p in Profile)
