"""Finding the CCA host series of a real host (backends/detect.py), tried against simulated
kernels that answer as each series does: sysfs first, then the v14 realm type, then the
v9-v13 one; EINVAL means "not this one"; never a capability number alone."""

from __future__ import annotations

import errno
import os
from typing import Any

import pytest

from backends import abi
from backends.detect import SYSFS_CAP, Detection, detect
from backends.series import SERIES
from backends.sim import RealmSeries, SimHost, SimKernel
from realmtui.backend import BackendUnavailable, profile_of
from realmtui.context import Profile


class Recording:
    """A simulated kernel that records the VM types asked for, and can answer every
    KVM_CHECK_EXTENSION on the system fd with 1 (an unrelated mainline cap of that number)."""

    def __init__(self, series: RealmSeries, every_cap: bool = False,
                 create_errno: int | None = None) -> None:
        self.inner = SimKernel(SimHost(series=series))
        self.every_cap = every_cap
        self.create_errno = create_errno
        self.vm_types: list[int] = []
        self.system_fds: set[int] = set()

    def open(self, path: str) -> int:
        fd = self.inner.open(path)
        self.system_fds.add(fd)
        return fd

    def ioctl(self, fd: int, request: int, arg: Any = 0) -> int:
        if request == abi.KVM_CREATE_VM:
            self.vm_types.append(int(arg) & ~abi.KVM_VM_TYPE_ARM_IPA_SIZE_MASK)
            if self.create_errno is not None:
                raise OSError(self.create_errno, os.strerror(self.create_errno))
        if request == abi.KVM_CHECK_EXTENSION and self.every_cap and fd in self.system_fds:
            return 1
        return self.inner.ioctl(fd, request, arg)

    def mmap(self, fd: int, length: int) -> Any:
        return self.inner.mmap(fd, length)

    def munmap(self, mapping: Any) -> None:
        self.inner.munmap(mapping)

    def close(self, fd: int) -> None:
        self.inner.close(fd)


BIT30, BITS_11_8 = abi.KVM_VM_TYPE_ARM_REALM_V14, abi.KVM_VM_TYPE_ARM_REALM


@pytest.mark.parametrize("name,probes", [
    ("v9", [BIT30, BITS_11_8]), ("v10", [BIT30, BITS_11_8]), ("v12", [BIT30, BITS_11_8]),
    ("v13", [BIT30, BITS_11_8]), ("v14", [BIT30]),
])
def test_each_series_is_found_by_probing_the_vm_type(name: str, probes: list[int]) -> None:
    kernel = Recording(RealmSeries(name))
    found = detect(kernel, sysfs=lambda: None)  # type: ignore[arg-type]
    assert found.series is SERIES[name]
    assert kernel.vm_types == probes  # v14's type first, EINVAL read as "not this one"
    assert found.tried[0] == f"{SYSFS_CAP}: absent"
    if probes == [BIT30, BITS_11_8]:
        assert found.tried[1] == "KVM_CREATE_VM(0x40000000): EINVAL (not this one)"


@pytest.mark.parametrize("name", ["v12", "v13", "v14"])
def test_the_sysfs_cap_number_names_the_series_and_one_probe_confirms_it(name: str) -> None:
    kernel = Recording(RealmSeries(name))
    found = detect(kernel, sysfs=lambda: str(SERIES[name].cap))  # type: ignore[arg-type]
    assert found.series is SERIES[name]
    assert kernel.vm_types == [SERIES[name].realm_vm_type]  # its own type, nothing else


def test_a_sysfs_number_is_not_believed_without_a_realm_vm() -> None:
    kernel = Recording(RealmSeries.NONE)
    found = detect(kernel, sysfs=lambda: "249")  # type: ignore[arg-type]
    assert found.series is None
    assert found.tried[0] == f"{SYSFS_CAP}: '249'"


def test_a_kernel_without_the_series_is_not_found_even_if_every_cap_answers() -> None:
    """243..251 are mainline caps now: a kernel answering them all is still not a realm host."""
    kernel = Recording(RealmSeries.NONE, every_cap=True)
    found = detect(kernel, sysfs=lambda: None)  # type: ignore[arg-type]
    assert found.series is None and kernel.vm_types == [BIT30, BITS_11_8]
    message = found.message()
    assert message.startswith("this kernel has no realm support: found no CCA host series")
    assert f"{SYSFS_CAP}: absent" in message
    assert "KVM_CREATE_VM(0x40000000): EINVAL" in message
    assert "KVM_CREATE_VM(0x100): EINVAL" in message
    for name in ("v9", "v10", "v12", "v13", "v14"):
        assert f"{name} (KVM_CAP_ARM_" in message
    assert "--profile" in message and "--backend sim" in message


def test_the_series_without_an_rmm_is_told_apart() -> None:
    kernel = Recording(RealmSeries.V9, create_errno=errno.EPERM)
    found = detect(kernel, sysfs=lambda: None)  # type: ignore[arg-type]
    assert found.series is None
    assert "EPERM (the series is there but no RMM answered)" in found.message()


def test_a_found_series_realmtui_cannot_drive_is_refused_by_name() -> None:
    found = Detection(SERIES["v15"], ("KVM_CREATE_VM(0x40000000): a realm VM",))
    with pytest.raises(BackendUnavailable) as e:
        profile_of(found)
    assert "series v15" in str(e.value) and "does not drive" in str(e.value)
    assert profile_of(Detection(SERIES["v14"], ())) is Profile.V14


def test_the_kvm_backend_without_a_profile_finds_the_hosts_series(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from realmtui.backend import open_backend

    monkeypatch.setattr("realmtui.backend.check_kvm_host", lambda path: None)
    monkeypatch.setattr("backends.linux.LinuxKernel",
                        lambda: Recording(RealmSeries.V13))
    backend = open_backend("kvm", None, sysfs=lambda: None)
    # The header says kvm; only the sim has a REC inspector.
    assert (backend.profile, backend.name, backend.inspector) == (Profile.V13, "kvm", None)
    assert "KVM_CREATE_VM(0x40000000): EINVAL" in backend.found
    named = open_backend("kvm", Profile.V12, sysfs=lambda: None)
    assert named.profile is Profile.V12 and named.found == ""  # --profile comes first
