"""What a user sees when the kvm backend cannot work: one clear line and a non-zero status,
never a traceback. The arm64 side (a real 6.1 kernel refusing a realm) is checked by the
real-kernel tier, tests/arm64/test_real_kernel.py."""

from __future__ import annotations

import errno
import grp
import io
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from backends import abi
from backends.sim import RealmSeries, SimHost, SimKernel
from realmtui import cli
from realmtui.backend import BackendUnavailable, bundle, check_kvm_host
from realmtui.context import Profile, VmKind
from realmtui.session import Session, SessionConfig, SessionError

REPO = Path(__file__).resolve().parent.parent
ON_ARM64 = platform.machine() in ("aarch64", "arm64")


# --- check_kvm_host: before any ioctl -------------------------------------------------------


@pytest.mark.parametrize("machine", ["x86_64", "riscv64", "ppc64le"])
def test_another_architecture_is_told_to_use_the_sim(machine: str) -> None:
    with pytest.raises(BackendUnavailable) as e:
        check_kvm_host("/dev/kvm", machine=machine)
    assert str(e.value) == (
        f"the kvm backend drives arm64 KVM; this host is {machine} — use --backend sim"
    )


def test_no_kvm_device_says_kvm_is_missing(tmp_path: Path) -> None:
    missing = tmp_path / "kvm"
    with pytest.raises(BackendUnavailable) as e:
        check_kvm_host(str(missing), machine="aarch64")
    message = str(e.value)
    assert message.startswith(f"{missing} does not exist: KVM is not available on this host")
    assert "nested virtualisation" in message and message.endswith("use --backend sim")


def test_no_permission_names_the_group_to_join(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = tmp_path / "kvm"
    device.write_bytes(b"")
    device.chmod(0o660)
    group = grp.getgrgid(device.stat().st_gid).gr_name
    # As root every access check passes, so the test asks as an unprivileged user would.
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(BackendUnavailable) as e:
        check_kvm_host(str(device), machine="aarch64")
    message = str(e.value)
    assert message.startswith(f"permission denied opening {device}: it needs read and write")
    assert f"the '{group}' group has" in message
    assert f"sudo usermod -aG {group} $USER" in message


def test_an_owner_only_node_does_not_advise_joining_its_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12 item 17: a 0600 root:root node must not advise `usermod -aG root`."""
    device = tmp_path / "kvm"
    device.write_bytes(b"")
    device.chmod(0o600)
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(BackendUnavailable) as e:
        check_kvm_host(str(device), machine="aarch64")
    message = str(e.value)
    assert "usermod" not in message and "only its owner" in message and "run as root" in message


def test_an_arm64_host_with_a_usable_device_passes(tmp_path: Path) -> None:
    device = tmp_path / "kvm"
    device.write_bytes(b"")
    check_kvm_host(str(device), machine="aarch64")  # no exception
    check_kvm_host(str(device), machine="arm64")  # macOS spelling of the same architecture


# --- the CLI, as a user runs it -------------------------------------------------------------


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "realmtui", *args], input=stdin, capture_output=True, text=True,
        cwd=REPO, timeout=60,
    )


@pytest.mark.skipif(ON_ARM64, reason="this host is arm64: the kvm backend is meant to work")
@pytest.mark.parametrize("args", [
    ("--backend", "kvm"),
    ("--backend", "kvm", "--vm", "normal"),
    ("batch", "--backend", "kvm", "--vm", "normal"),
    ("batch", "--backend", "kvm", "--profile", "v10"),
])
def test_the_kvm_backend_on_this_host_exits_with_one_line(args: tuple[str, ...]) -> None:
    out = _cli(*args, stdin="state\n")
    assert out.returncode == cli.EXIT_UNAVAILABLE
    assert out.stdout == ""
    assert out.stderr == (
        f"realmtui: the kvm backend drives arm64 KVM; this host is {platform.machine()} — "
        "use --backend sim\n"
    )


# --- failures inside the kernel: the ioctl and the errno, by name ---------------------------


class FailingKernel:
    """The simulated kernel, except that one ioctl (or open) fails with a chosen errno."""

    name = "failing"

    def __init__(self, err: int, request: int | None = None, *, open_fails: bool = False,
                 host: SimHost | None = None) -> None:
        self.inner = SimKernel(host or SimHost())
        self.err, self.request, self.open_fails = err, request, open_fails

    def open(self, path: str) -> int:
        if self.open_fails:
            raise OSError(self.err, os.strerror(self.err))
        return self.inner.open(path)

    def ioctl(self, fd: int, request: int, arg: Any = 0) -> int:
        if request == self.request:
            raise OSError(self.err, os.strerror(self.err))
        return self.inner.ioctl(fd, request, arg)

    def mmap(self, fd: int, length: int) -> Any:
        return self.inner.mmap(fd, length)

    def munmap(self, mapping: Any) -> None:
        self.inner.munmap(mapping)

    def close(self, fd: int) -> None:
        self.inner.close(fd)


def _batch(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
           kernel: Any, *args: str, stdin: str = "state\n") -> tuple[int, str, str]:
    """`realmtui batch ARGS` in-process, on `kernel` instead of the one --backend names."""
    monkeypatch.setattr("realmtui.session.open_backend",
                        lambda name, profile: bundle(kernel, profile or Profile.V9))
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    status = cli.main(["batch", *args])
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.mark.parametrize("request_name,err", [
    ("KVM_CREATE_VM", errno.ENOMEM),
    ("KVM_CREATE_VCPU", errno.EMFILE),
    ("KVM_SET_USER_MEMORY_REGION", errno.EEXIST),
    ("KVM_ARM_PREFERRED_TARGET", errno.ENODEV),
    ("KVM_ARM_VCPU_INIT", errno.EBUSY),
    ("KVM_SET_ONE_REG", errno.EPERM),
])
def test_a_failing_ioctl_while_building_is_named_with_its_errno(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    request_name: str, err: int,
) -> None:
    kernel = FailingKernel(err, getattr(abi, request_name))
    status, out, message = _batch(monkeypatch, capsys, kernel, "--vm", "normal")
    assert status == cli.EXIT_UNAVAILABLE and out == ""
    name = errno.errorcode[err]
    assert message.startswith("realmtui: could not build the normal VM: ")
    assert f"{request_name}" in message and f"{name} ({os.strerror(err)})" in message
    assert message.count("\n") == 1 and "Traceback" not in message


def test_a_failing_kvm_run_is_an_answer_naming_the_ioctl(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    kernel = FailingKernel(errno.EFAULT, abi.KVM_RUN)
    status, out, err = _batch(monkeypatch, capsys, kernel, "--vm", "normal", stdin="run\n")
    assert status == 0 and err == ""
    answer = json.loads(out)
    assert answer == answer | {"command": "run", "ok": False, "errno": "EFAULT"}
    assert answer["error"] == "KVM_RUN: EFAULT (Bad address)"


def test_open_refused_by_the_kernel_gives_the_permission_advice(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """os.access may say yes and open(2) still say no (an LSM, a read-only mount)."""
    kernel = FailingKernel(errno.EACCES, open_fails=True)
    status, _, message = _batch(monkeypatch, capsys, kernel, "--vm", "normal")
    assert status == cli.EXIT_UNAVAILABLE
    assert message.startswith("realmtui: permission denied opening /dev/kvm: it needs read and")
    assert message.rstrip().endswith("(EACCES)") and "usermod -aG" in message


# --- a realm on a kernel that has none ------------------------------------------------------


def test_a_kernel_without_the_cca_series_has_no_realms() -> None:
    kernel = SimKernel(SimHost(series=RealmSeries.NONE))  # what Debian's 6.1 is
    with pytest.raises(SessionError) as e:
        Session(SessionConfig(vm=VmKind.REALM), kernel=kernel)
    assert str(e.value).startswith(
        "this kernel has no realm support: KVM_CREATE_VM with KVM_VM_TYPE_ARM_REALM failed "
        "with EINVAL"
    )
    assert "use --vm normal, or --backend sim" in str(e.value)


def test_a_kernel_with_the_series_but_no_rmm_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # [PATCH v9 09/43]: kvm_init_realm_vm returns -EPERM when no RMM answered at boot.
    kernel = FailingKernel(errno.EPERM, abi.KVM_CREATE_VM)
    status, out, message = _batch(monkeypatch, capsys, kernel, "--vm", "realm")
    assert status == cli.EXIT_UNAVAILABLE and out == ""
    assert message.startswith("realmtui: this kernel has the realm series but no RMM")


def test_the_realm_probe_is_the_vm_type_not_a_capability_number() -> None:
    """Upstream gave cap 243 to KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED: a kernel without realms
    must be found out by KVM_CREATE_VM, before any KVM_CHECK_EXTENSION(243/244) is asked."""
    asked: list[tuple[int, int]] = []

    class Recording(FailingKernel):
        def ioctl(self, fd: int, request: int, arg: Any = 0) -> int:
            if request in (abi.KVM_CHECK_EXTENSION, abi.KVM_ENABLE_CAP):
                cap = arg if isinstance(arg, int) else None
                asked.append((request, cap if cap is not None else -1))
            return super().ioctl(fd, request, arg)

    kernel = Recording(0, host=SimHost(series=RealmSeries.NONE))
    for profile in (Profile.V9, Profile.V10):
        with pytest.raises(SessionError):
            Session(SessionConfig(vm=VmKind.REALM, profile=profile), kernel=kernel)
    assert not [a for a in asked if a[1] in (abi.KVM_CAP_ARM_RME_V9, abi.KVM_CAP_ARM_RME_V10)]
    assert not [a for a in asked if a[0] == abi.KVM_ENABLE_CAP]


# --- the VM's IPA size comes from KVM_CAP_ARM_VM_IPA_SIZE ------------------------------------


class _RecordingVmType(FailingKernel):
    def __init__(self, host: SimHost) -> None:
        super().__init__(0, host=host)
        self.vm_types: list[int] = []

    def ioctl(self, fd: int, request: int, arg: Any = 0) -> int:
        if request == abi.KVM_CREATE_VM:
            self.vm_types.append(int(arg))
        return super().ioctl(fd, request, arg)


def test_a_normal_vm_asks_for_the_ipa_size_its_memory_map_needs() -> None:
    """Asking for 0 means 40 bits, which a host with a smaller stage 2 refuses: the VMM asks
    for what the demo's map needs (32 bits), within the host's limit."""
    kernel = _RecordingVmType(SimHost(ipa_limit=36))
    session = Session(SessionConfig(vm=VmKind.NORMAL), kernel=kernel)
    assert session.run().ok
    session.close()
    assert kernel.vm_types == [32]


def test_a_realm_too_wide_for_the_host_is_not_called_missing_realm_support() -> None:
    kernel = _RecordingVmType(SimHost(ipa_limit=36))
    with pytest.raises(SessionError) as e:
        Session(SessionConfig(vm=VmKind.REALM), kernel=kernel)
    message = str(e.value)
    assert "KVM_CHECK_EXTENSION(KVM_CAP_ARM_VM_IPA_SIZE)" in message
    assert "36-bit IPAs; the demo needs 40" in message
    assert "no realm support" not in message and kernel.vm_types == []
