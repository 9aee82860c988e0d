"""Which CCA host series a kernel carries, asked the way a VMM can ask a real /dev/kvm.

Never from a capability number alone: every number the series used (243, 244, 247, 248, 249,
251) is an unrelated mainline capability today (cca-uapi-v12-v16.md §0). The order:
  1. /sys/module/kvm/parameters/kvm_cap_arm_rmi, where a kernel exports its cap number (the
     NV-Kernels convention NVIDIA's QEMU reads, §1.2) -- then confirmed by a realm VM;
  2. KVM_CREATE_VM with v14's realm type (bit 30); EINVAL means "not this one" (O11);
  3. KVM_CREATE_VM with the v9-v13 realm type (bits 11:8), and which realm cap the realm VM
     answers to (v12+ answer only their allow-list on a realm VM, O10).
The explicit --profile comes before all of this, in realmtui/backend.py.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass

from backends import abi
from backends.errors import KvmError
from backends.kernel import Kernel
from backends.series import SERIES, SUPPORTED, Series
from backends.vmm import Kvm

SYSFS_CAP = "/sys/module/kvm/parameters/kvm_cap_arm_rmi"


def _sharing(vm_type: int) -> tuple[str, ...]:
    """The series that ask for a realm with this VM type, newest first: a realm VM that
    answers one of their caps is of that series (seed shares v9's uAPI: only --profile
    names it)."""
    return tuple(
        s.name for s in reversed(SERIES.values())
        if s.realm_vm_type == vm_type and s.name != "seed"
    )


@dataclass(frozen=True)
class Detection:
    series: Series | None
    tried: tuple[str, ...]  # what was asked, and the answer, in order

    @property
    def supported(self) -> bool:
        return self.series is not None and self.series.name in SUPPORTED

    def message(self) -> str:
        """Why no profile could be chosen: what was tried and which kernels are supported."""
        kernels = ", ".join(
            f"{SERIES[n].name} ({SERIES[n].cap_name} {SERIES[n].cap}, realm VM type "
            f"0x{SERIES[n].realm_vm_type:x})" for n in SUPPORTED if n != "seed"
        )
        tried = "; ".join(self.tried)
        if self.series is not None:
            head = (f"this kernel looks like the CCA host series {self.series.name} "
                    f"({self.series.posting}), which realmtui does not drive")
        else:
            head = "this kernel has no realm support: found no CCA host series"
        return f"{head} — tried: {tried}. Supported: {kernels}. Use --profile to name one, " \
               "--vm normal, or --backend sim"


def read_sysfs(path: str = SYSFS_CAP) -> str | None:
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return None


def detect(kernel: Kernel, sysfs: Callable[[], str | None] = read_sysfs) -> Detection:
    kvm = Kvm(kernel)
    try:
        return _detect(kvm, sysfs)
    finally:
        kvm.close()


def _ipa(kvm: Kvm) -> int:
    limit = kvm.check_extension(abi.KVM_CAP_ARM_VM_IPA_SIZE)
    return min(40, limit) if limit else 0


def _realm_cap(kvm: Kvm, vm_type: int, names: tuple[str, ...], tried: list[str]) -> str | None:
    """Create a realm VM of this type; which of `names` its realm cap answers. None (and a
    line in `tried`) when the kernel refuses the type."""
    try:
        vm = kvm.create_vm(vm_type | _ipa(kvm))
    except KvmError as e:
        why = "not this one" if e.errno == errno.EINVAL else (
            "the series is there but no RMM answered" if e.errno == errno.EPERM else "refused"
        )
        tried.append(f"KVM_CREATE_VM(0x{vm_type:x}): {e.errno_name} ({why})")
        return None
    try:
        for name in names:
            if vm.check_extension(SERIES[name].cap) == 1:
                return name
    finally:
        vm.close()
    tried.append(f"KVM_CREATE_VM(0x{vm_type:x}): a realm VM, but none of the caps of "
                 f"{', '.join(names)} answered")
    return None


def _detect(kvm: Kvm, sysfs: Callable[[], str | None]) -> Detection:
    tried: list[str] = []
    text = sysfs()
    if text is None:
        tried.append(f"{SYSFS_CAP}: absent")
    else:
        number = int(text) if text.isdigit() else -1
        named = [s.name for s in SERIES.values()
                 if s.cap_name == "KVM_CAP_ARM_RMI" and s.cap == number]
        tried.append(f"{SYSFS_CAP}: {text!r}" + ("" if named else " (no series used it)"))
        for name in named:
            found = _realm_cap(kvm, SERIES[name].realm_vm_type, (name,), tried)
            if found:
                return Detection(SERIES[found], tuple(tried))
    for vm_type in (abi.KVM_VM_TYPE_ARM_REALM_V14, abi.KVM_VM_TYPE_ARM_REALM):
        found = _realm_cap(kvm, vm_type, _sharing(vm_type), tried)
        if found:
            return Detection(SERIES[found], tuple(tried))
    return Detection(None, tuple(tried))
