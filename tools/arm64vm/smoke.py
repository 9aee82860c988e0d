"""Smoke test of the arm64 tier, run inside the emulated machine by run.py:

    python tools/arm64vm/run.py --script tools/arm64vm/smoke.py --out /tmp/x

Opens the guest's real /dev/kvm through backends.linux, prints two answers of the arm64
KVM and sends them back as a file. With --textual it also imports Textual (slow: several
seconds of TCG) to check the base image carries it.
"""

from __future__ import annotations

import json
import platform
import sys
import time

import guest_io

from backends import abi
from backends.linux import LinuxKernel


def main(argv: list[str]) -> int:
    t0 = time.monotonic()
    with LinuxKernel() as kernel:
        kvm = kernel.open("/dev/kvm")
        api = kernel.ioctl(kvm, abi.KVM_GET_API_VERSION)
        ipa = kernel.ioctl(kvm, abi.KVM_CHECK_EXTENSION, abi.KVM_CAP_ARM_VM_IPA_SIZE)
        vm = kernel.ioctl(kvm, abi.KVM_CREATE_VM, 0)
        vcpu = kernel.ioctl(vm, abi.KVM_CREATE_VCPU, 0)
        run = kernel.mmap(vcpu, kernel.ioctl(kvm, abi.KVM_GET_VCPU_MMAP_SIZE))
        # An arm64 vCPU answers nothing before KVM_ARM_VCPU_INIT: ENOEXEC (REPORT.md).
        one = abi.ffi.new("struct kvm_one_reg *")
        try:
            kernel.ioctl(vcpu, abi.KVM_GET_ONE_REG, one)
            before_init = 0
        except OSError as exc:
            before_init = exc.errno or 0
        kernel.munmap(run)
    facts = {
        "machine": platform.machine(),
        "kernel": platform.release(),
        "api_version": api,
        "ipa_size": ipa,
        "get_one_reg_before_init_errno": before_init,
        "python": platform.python_version(),
        "seconds": round(time.monotonic() - t0, 3),
    }
    print(f"KVM_GET_API_VERSION={api}")
    print(f"KVM_CHECK_EXTENSION(KVM_CAP_ARM_VM_IPA_SIZE)={ipa}")
    if "--textual" in argv:
        t1 = time.monotonic()
        import textual.app  # noqa: F401

        from textual import __version__ as textual_version

        facts["textual"] = textual_version
        facts["textual_import_s"] = round(time.monotonic() - t1, 2)
        print(f"textual {textual_version} imported in {facts['textual_import_s']} s")
    guest_io.send_file("smoke.json", json.dumps(facts, indent=1).encode())
    ok = facts["machine"] == "aarch64" and api == abi.KVM_API_VERSION and ipa > 0
    return 0 if ok else 1


if __name__ == "__main__":
    guest_io.result(main(sys.argv[1:]))
