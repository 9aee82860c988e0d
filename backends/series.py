"""The CCA host series as uAPIs: what a VMM must call, and what a kernel of each posting
answers to, one entry per series.

This is the half of the series descriptor that the VMM (backends/machine.py), the detection
of a real host (backends/detect.py) and the sim's KVM read: numbers and shapes of the uAPI.
What each step means to a user, and the register rules, are the app's (realmtui/profiles.py).
Sources: ../shared/reference/cca-uapi-v12-v16.md (its audit overrides its body) and
cca-semantics.md for v9/v10.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from backends import abi


class Lifecycle(StrEnum):
    """How a VMM walks a realm to its first run."""

    # v9/v10: KVM_ENABLE_CAP(KVM_CAP_ARM_RME) sub-commands CONFIG/CREATE/INIT_RIPAS/POPULATE/
    # ACTIVATE, and the REC vCPU feature finalized by KVM_ARM_VCPU_FINALIZE(REC).
    ENABLE_CAP = "enable-cap"
    # v12 on: KVM_ARM_RMI_POPULATE creates the realm on its first call; the first KVM_RUN
    # activates it and creates every REC ([PATCH v12 ..], cca-uapi-v12-v16.md §1.2, C12, O4).
    IMPLICIT = "implicit"


@dataclass(frozen=True)
class Series:
    name: str  # the profile's name: seed, v9, v10, v12, v13, v14, v15
    posting: str  # which patches, and when
    cap_name: str
    cap: int  # the capability number this posting used (an unrelated mainline cap today)
    realm_vm_type: int  # the KVM_CREATE_VM type bits that ask for a realm
    lifecycle: Lifecycle
    rmm: str  # the RMM specification the posting targets
    rmi_major: int  # RMI ABI major version: 1 or 2
    populate_ioctl: int | None = None  # KVM_ARM_RMI_POPULATE's number (v12+)
    populate_returns_bytes: bool = False  # v12: the bytes populated; v13+: 0, args advanced
    psci_complete_ioctl: int | None = abi.KVM_ARM_VCPU_RMM_PSCI_COMPLETE  # None from v14
    sources: str = ""
    # Facts read in the patches themselves; False where only secondary sources exist.
    confirmed: bool = True

    @property
    def implicit(self) -> bool:
        return self.lifecycle is Lifecycle.IMPLICIT

    @property
    def vm_type_mask(self) -> int:
        """Bits of KVM_CREATE_VM's type this kernel knows (O11: v12/v13 check
        ~(ARM_MASK | IPA_SIZE_MASK) with ARM_MASK bits 11:8; v14 makes ARM_MASK the IPA size
        plus PROTECTED and REALM)."""
        if self.realm_vm_type == abi.KVM_VM_TYPE_ARM_REALM_V14:
            return (
                abi.KVM_VM_TYPE_ARM_IPA_SIZE_MASK | abi.KVM_VM_TYPE_ARM_REALM_V14
                | abi.KVM_VM_TYPE_ARM_PROTECTED
            )
        return abi.KVM_VM_TYPE_ARM_IPA_SIZE_MASK | abi.KVM_VM_TYPE_ARM_MASK


_RME = dict(cap_name="KVM_CAP_ARM_RME", realm_vm_type=abi.KVM_VM_TYPE_ARM_REALM,
            lifecycle=Lifecycle.ENABLE_CAP, rmm="1.0-rel0", rmi_major=1)

SERIES: dict[str, Series] = {
    s.name: s
    for s in (
        Series("seed", "v9 up to [PATCH v9 22/43] (2025-06)", cap=abi.KVM_CAP_ARM_RME_V9,
               sources="cca-semantics.md; [PATCH v9 06/43], [PATCH v9 22/43]", **_RME),
        Series("v9", "v9, 43 patches on v6.16-rc1 (2025-06-11)", cap=abi.KVM_CAP_ARM_RME_V9,
               sources="cca-semantics.md; [PATCH v9 06/43]", **_RME),
        Series("v10", "v10, 43 patches on v6.17-rc1 (2025-08-20)", cap=abi.KVM_CAP_ARM_RME_V10,
               sources="cca-semantics.md; [PATCH v10 06/43]", **_RME),
        Series(
            "v12", "v12, 46 patches on v6.19-rc1 (2025-12-17)", cap_name="KVM_CAP_ARM_RMI",
            cap=247, realm_vm_type=abi.KVM_VM_TYPE_ARM_REALM, lifecycle=Lifecycle.IMPLICIT,
            rmm="1.0-rel0", rmi_major=1, populate_ioctl=abi.KVM_ARM_RMI_POPULATE_V12,
            populate_returns_bytes=True,
            sources="v12 thread (read_file id 54803186317); cca-uapi-v12-v16.md C1-C9, O1-O12",
        ),
        Series(
            "v13", "v13, 48 patches on v7.0-rc1 (2026-03-18)", cap_name="KVM_CAP_ARM_RMI",
            cap=248, realm_vm_type=abi.KVM_VM_TYPE_ARM_REALM, lifecycle=Lifecycle.IMPLICIT,
            rmm="2.0-bet0", rmi_major=2, populate_ioctl=abi.KVM_ARM_RMI_POPULATE,
            sources="v13 thread (id 54644076975); TF-RMM tf-rmm-v0.9.0; cca-uapi-v12-v16.md C8",
        ),
        Series(
            "v14", "v14, 44 patches on v7.1-rc1 (2026-05-13)", cap_name="KVM_CAP_ARM_RMI",
            cap=249, realm_vm_type=abi.KVM_VM_TYPE_ARM_REALM_V14,
            lifecycle=Lifecycle.IMPLICIT, rmm="2.0-bet1", rmi_major=2,
            populate_ioctl=abi.KVM_ARM_RMI_POPULATE, psci_complete_ioctl=None,
            sources="v14 thread (id 54672288003), read in full; TF-RMM main cca.yaml",
        ),
        # v15: only the cover letter and secondary documents (OpenVMM's v15 notes) were
        # readable. Confirmed there: cap 251, RMM 2.0-bet2, guest_memfd in-place attributes
        # (KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES 250). Assumed as v14: the realm VM type
        # (bit 30), POPULATE _IOWR, no PSCI_COMPLETE.
        Series(
            "v15", "v15 on v7.2-rc1 (2026-07-15): patches not readable here",
            cap_name="KVM_CAP_ARM_RMI", cap=251, realm_vm_type=abi.KVM_VM_TYPE_ARM_REALM_V14,
            lifecycle=Lifecycle.IMPLICIT, rmm="2.0-bet2", rmi_major=2,
            populate_ioctl=abi.KVM_ARM_RMI_POPULATE, psci_complete_ioctl=None,
            sources="cover letter 20260715142841.80544-1-steven.price@arm.com; OpenVMM notes "
                    "(id 61982181007)",
            confirmed=False,
        ),
    )
}

# The series a VMM here can drive (v15's memory uAPI is unconfirmed: no profile for it).
SUPPORTED = ("seed", "v9", "v10", "v12", "v13", "v14")


def series(name: str) -> Series:
    try:
        return SERIES[name]
    except KeyError:
        raise ValueError(f"unknown series {name!r}: one of {', '.join(SERIES)}") from None


# rec_exit.exit_reason by name. RMM 1.0 (the v9-v12 kernels' rmi_smc.h): 0-6. RMM 2.0 as
# TF-RMM tf-rmm-v0.9.0 lib/smc/include/smc-rmi.h numbers the new ones (the v14 kernel's
# header numbers 9 and 10 differently, and handles none of them: C14).
RMI_EXIT_NAMES = {0: "SYNC", 1: "IRQ", 2: "FIQ", 3: "PSCI", 4: "RIPAS_CHANGE", 5: "HOST_CALL",
                  6: "SERROR"}
RMI_EXIT_NAMES_2_0 = {7: "S2AP_CHANGE", 8: "VDEV_REQUEST", 9: "DEV_MEM_MAP",
                      10: "VDEV_P2P_BINDING"}


def rmi_exit_name(reason: int, rmi_major: int) -> str:
    names = RMI_EXIT_NAMES | (RMI_EXIT_NAMES_2_0 if rmi_major >= 2 else {})
    name = names.get(reason)
    if name is None:
        return f"RMI exit reason {reason} (unknown to RMM {rmi_major}.0)"
    return f"RMI_EXIT_{name}"
