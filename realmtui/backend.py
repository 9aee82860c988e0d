"""Choosing the kernel behind the ioctl boundary, with a clear answer when it can't be had."""

from __future__ import annotations

import errno
import grp
import os
import platform
from typing import Any

from backends.kernel import Kernel
from backends.machine import DemoMachine, MachineSpec
from realmtui.context import Profile

BACKENDS = ("sim", "kvm")
KVM_PATH = "/dev/kvm"


class BackendUnavailable(Exception):
    """The backend can't run here; the message says why and what to use instead."""


def open_kernel(name: str, profile: Profile = Profile.V9, kvm_path: str = KVM_PATH) -> Kernel:
    if name.startswith(("agent:", "ssh://")):
        # The ioctls run on another host, behind `realmtui agent` (realmtui/remote.py).
        from realmtui.remote import RemoteUnavailable, RemoteVmm

        try:
            return RemoteVmm(name, profile.value)  # type: ignore[return-value]
        except RemoteUnavailable as e:
            raise BackendUnavailable(str(e)) from None
    if name == "sim":
        from backends.sim import RealmSeries, SimHost, SimKernel

        series = RealmSeries(profile.value)  # the sim runs the kernel the profile describes
        return SimKernel(SimHost(series=series))
    if name == "kvm":
        check_kvm_host(kvm_path)
        from backends.linux import LinuxKernel

        return LinuxKernel()
    raise BackendUnavailable(
        f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}, agent:COMMAND or "
        "ssh://[user@]host[:port]"
    )


def build_machine(kernel: Any, spec: MachineSpec) -> Any:
    """The demo VM's VMM: here, over `kernel`; or on the agent's host, for a RemoteVmm."""
    if hasattr(kernel, "machine"):
        return kernel.machine(spec)
    return DemoMachine(kernel, spec)


def check_kvm_host(kvm_path: str = KVM_PATH, machine: str | None = None) -> None:
    """Refuse early, with the reason, where the real backend cannot work."""
    arch = machine or platform.machine()
    if arch not in ("aarch64", "arm64"):
        raise BackendUnavailable(
            f"the kvm backend drives arm64 KVM; this host is {arch} — use --backend sim"
        )
    if not os.path.exists(kvm_path):
        raise BackendUnavailable(
            f"{kvm_path} does not exist: KVM is not available on this host (no kernel support, "
            "or the kvm module is not loaded; in a VM, nested virtualisation must be on) — "
            "use --backend sim"
        )
    if not os.access(kvm_path, os.R_OK | os.W_OK):
        raise BackendUnavailable(permission_message(kvm_path))


def permission_message(kvm_path: str = KVM_PATH) -> str:
    try:
        st = os.stat(kvm_path)
        group = grp.getgrgid(st.st_gid).gr_name
    except (OSError, KeyError):
        group = "kvm"
    return (
        f"permission denied opening {kvm_path}: it needs read and write access, which the "
        f"'{group}' group has — add yourself with `sudo usermod -aG {group} $USER` and log in "
        "again, or run as root"
    )


def errno_text(err: int) -> str:
    return errno.errorcode.get(err, str(err))
