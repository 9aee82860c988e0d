"""Choosing the kernel behind the ioctl boundary, with a clear answer when it can't be had."""

from __future__ import annotations

import errno
import grp
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from backends.detect import Detection, detect, read_sysfs
from backends.kernel import Kernel
from backends.machine import DemoMachine, MachineSpec
from backends.series import SUPPORTED
from realmtui.context import Profile

BACKENDS = ("sim", "kvm")
# Backends whose ioctls run on another host, behind `realmtui agent` (realmtui/remote.py).
REMOTE_PREFIXES = ("agent:", "ssh://")
KVM_PATH = "/dev/kvm"


class BackendUnavailable(Exception):
    """The backend can't run here; the message says why and what to use instead."""


class RecInspector(Protocol):
    """What the simulation alone can show: the REC as the RMM holds it, and what KVM read
    from rec_exit (backends/sim/confidential_peek.py)."""

    def rec_now(self, vcpu_fd: int) -> Any: ...
    def rec_at_last_entry(self, vcpu_fd: int) -> Any: ...
    def last_kernel_esr(self, vcpu_fd: int) -> int | None: ...
    def kvm_rec_exit_reason(self, vcpu_fd: int) -> int | None: ...
    def rec_exit_plane(self, vcpu_fd: int) -> int | None: ...
    def read_protected(self, vcpu_fd: int, ipa: int, size: int) -> bytes | None: ...


class Machine(Protocol):
    """The demo VM's VMM as the session drives it: backends/machine.DemoMachine here, or
    realmtui/remote.RemoteMachine on an agent's host."""

    program: Any
    vcpu: Any
    realm_created: bool
    rec_created: bool
    active: bool

    def build(self) -> None: ...
    def create_realm(self) -> None: ...
    def finalize_rec(self) -> None: ...
    def activate(self) -> None: ...
    def first_run_done(self) -> None: ...
    def read_shared(self, ipa: int, size: int) -> bytes | None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Backend:
    """An opened backend: the kernel behind the ioctl boundary, its name for the header, the
    profile it runs (named, or found on the host), the REC inspector only the sim has, and
    what builds the demo VM (a DemoMachine over the kernel unless `machines` says otherwise:
    a remote backend's VM is built by the agent, on its host)."""

    kernel: Any  # a Kernel; for agent:/ssh://, the RemoteVmm that stands for the agent
    name: str  # "sim", "kvm", or where a remote one runs ("kvm on ssh://fvp")
    profile: Profile
    inspector: RecInspector | None = None
    found: str = ""  # how the profile was found on a real host ("" when it was named)
    machines: Callable[[MachineSpec], Machine] | None = None

    def build_machine(self, spec: MachineSpec) -> Machine:
        if self.machines is not None:
            return self.machines(spec)
        return DemoMachine(self.kernel, spec)

    @property
    def lost(self) -> bool:
        """A remote backend whose connection dropped: only a restart (which reconnects)
        can go on."""
        return bool(getattr(self.kernel, "lost", False))


def bundle(kernel: Kernel, profile: Profile = Profile.V9) -> Backend:
    """A Backend around a kernel someone opened already (tests, a restart)."""
    inspector = _inspector(kernel)
    return Backend(kernel, "sim" if inspector is not None else "kvm", profile, inspector)


def _inspector(kernel: Kernel) -> RecInspector | None:
    if "backends.sim.kernel" not in sys.modules:
        return None  # the sim was never loaded: no SimKernel exists (and a real host's
        # bare Python need not import it)
    from backends.sim import confidential_peek

    return confidential_peek.inspector_for(kernel)


def open_backend(
    name: str, profile: Profile | None = None, kvm_path: str = KVM_PATH,
    sysfs: Any = read_sysfs,
) -> Backend:
    """Open `name`. The sim runs the kernel the profile names (v9 when none is named); the
    kvm backend takes the named profile, or finds the host's series (backends/detect.py);
    agent:COMMAND and ssh:// ask the agent, which opens its own backend (and so detects the
    series on its host)."""
    if name.startswith(REMOTE_PREFIXES):
        from realmtui.remote import RemoteUnavailable, RemoteVmm

        try:
            vmm = RemoteVmm(name, profile.value if profile is not None else None)
        except RemoteUnavailable as e:
            raise BackendUnavailable(str(e)) from None
        # No inspector: behind an agent, as on any real host, the REC is confidential.
        return Backend(vmm, vmm.name, Profile(vmm.profile), found=vmm.found,
                       machines=vmm.machine)
    if name == "sim":
        from backends.sim import RealmSeries, SimHost, SimKernel

        chosen = profile or Profile.V9
        # The sim runs the kernel the profile describes.
        return bundle(SimKernel(SimHost(series=RealmSeries(chosen.value))), chosen)
    if name == "kvm":
        check_kvm_host(kvm_path)
        from backends.linux import LinuxKernel

        kernel = LinuxKernel()
        if profile is not None:
            return Backend(kernel, "kvm", profile)
        found = detect(kernel, sysfs)
        return Backend(kernel, "kvm", profile_of(found), found="; ".join(found.tried))
    raise BackendUnavailable(
        f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}, agent:COMMAND or "
        "ssh://[user@]host[:port]"
    )


def profile_of(found: Detection) -> Profile:
    """The profile for what detection found, or BackendUnavailable saying what was tried."""
    if found.series is None or found.series.name not in SUPPORTED:
        raise BackendUnavailable(found.message())
    return Profile(found.series.name)


def open_kernel(name: str, profile: Profile = Profile.V9, kvm_path: str = KVM_PATH) -> Kernel:
    return open_backend(name, profile, kvm_path).kernel


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
    """Advice that is true of the node: a group only when that group can read and write it."""
    try:
        st = os.stat(kvm_path)
        group = grp.getgrgid(st.st_gid).gr_name
    except (OSError, KeyError):
        st, group = None, "kvm"
    if st is not None and st.st_mode & 0o060 != 0o060:
        return (
            f"permission denied opening {kvm_path}: it needs read and write access, which only "
            f"its owner has (mode {st.st_mode & 0o777:o}) — run as root, or ask the "
            "administrator to give it a kvm group with read and write (e.g. a udev rule)"
        )
    return (
        f"permission denied opening {kvm_path}: it needs read and write access, which the "
        f"'{group}' group has — add yourself with `sudo usermod -aG {group} $USER` and log in "
        "again, or run as root"
    )


def errno_text(err: int) -> str:
    return errno.errorcode.get(err, str(err))
