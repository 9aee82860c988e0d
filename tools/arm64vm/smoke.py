"""Smoke test of the arm64 tier, run inside the emulated machine by run.py:

    python tools/arm64vm/run.py --script tools/arm64vm/smoke.py --out /tmp/x

Opens the guest's real /dev/kvm through backends.linux, prints two answers of the arm64
KVM and sends them back as smoke.json. textual_smoke.py adds a Textual screenshot.
"""

from __future__ import annotations

import json
import platform
import time

import guest_io

from backends import abi
from backends.linux import LinuxKernel


def kvm_facts() -> dict[str, object]:
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
    return {
        "machine": platform.machine(),
        "kernel": platform.release(),
        "api_version": api,
        "ipa_size": ipa,
        "get_one_reg_before_init_errno": before_init,
        "python": platform.python_version(),
        "seconds": round(time.monotonic() - t0, 3),
    }


def facts_ok(facts: dict[str, object]) -> bool:
    ipa = facts["ipa_size"]
    return (
        facts["machine"] == "aarch64"
        and facts["api_version"] == abi.KVM_API_VERSION
        and isinstance(ipa, int) and ipa > 0
    )


def main() -> int:
    facts = kvm_facts()
    print(f"KVM_GET_API_VERSION={facts['api_version']}")
    print(f"KVM_CHECK_EXTENSION(KVM_CAP_ARM_VM_IPA_SIZE)={facts['ipa_size']}")
    guest_io.send_file("smoke.json", json.dumps(facts, indent=1).encode())
    return 0 if facts_ok(facts) else 1


if __name__ == "__main__":
    guest_io.result(main())
