"""The ioctl boundary's numbers and layouts agree with the kernel's (reference/arm64-uapi.json,
checked there against aarch64-gcc and Debian's arm64 6.1 headers)."""

from __future__ import annotations

import pytest

from backends import abi
from tests.conftest import load_reference

# Every ioctl the VMM issues, by its uapi name.
USED = [
    "KVM_GET_API_VERSION", "KVM_CREATE_VM", "KVM_CHECK_EXTENSION", "KVM_GET_VCPU_MMAP_SIZE",
    "KVM_CREATE_VCPU", "KVM_SET_USER_MEMORY_REGION", "KVM_SET_USER_MEMORY_REGION2", "KVM_RUN",
    "KVM_GET_MP_STATE",
    "KVM_SET_MP_STATE", "KVM_ENABLE_CAP", "KVM_GET_ONE_REG", "KVM_SET_ONE_REG",
    "KVM_ARM_VCPU_INIT", "KVM_ARM_PREFERRED_TARGET", "KVM_GET_REG_LIST",
    "KVM_ARM_VCPU_FINALIZE", "KVM_CREATE_DEVICE", "KVM_SET_DEVICE_ATTR",
]


@pytest.mark.parametrize("name", USED)
def test_ioctl_number_matches_the_kernel(name: str) -> None:
    ref = load_reference("arm64-uapi.json")["ioctls"][name]
    assert getattr(abi, name) == int(ref["value"], 16), f"{name}: {ref['macro']}"


def test_realm_psci_complete_number_is_the_series_value() -> None:
    # [PATCH v9 06/43]: _IOW(KVMIO, 0xd6, struct kvm_arm_rmm_psci_complete) = 0x4018AED6
    assert abi.KVM_ARM_VCPU_RMM_PSCI_COMPLETE == 0x4018AED6


@pytest.mark.parametrize(
    "ctype,ref_name",
    [
        ("struct kvm_one_reg", "struct kvm_one_reg"),
        ("struct kvm_reg_list", "struct kvm_reg_list"),
        ("struct kvm_vcpu_init", "struct kvm_vcpu_init"),
        ("struct kvm_enable_cap", "struct kvm_enable_cap"),
        ("struct kvm_userspace_memory_region", "struct kvm_userspace_memory_region"),
        ("struct kvm_device_attr", "struct kvm_device_attr"),
        ("struct kvm_create_device", "struct kvm_create_device"),
        ("struct kvm_run", "struct kvm_run (arm64)"),
    ],
)
def test_struct_sizes_match(ctype: str, ref_name: str) -> None:
    ref = load_reference("arm64-uapi.json")["struct_sizes_arm64"][ref_name]
    assert abi.ffi.sizeof(ctype) == ref["size"]


def test_kvm_run_exit_fields_sit_where_the_kernel_puts_them() -> None:
    run = load_reference("arm64-uapi.json")["kvm_run"]
    header = {f["field"]: f["offset"] for f in run["header_fields"] if "offset" in f}
    assert abi.ffi.offsetof("struct kvm_run", "exit_reason") == header["exit_reason"]
    assert abi.ffi.offsetof("struct kvm_run", "s") == 304
    members = run["union_members"]
    base = abi.ffi.offsetof("struct kvm_run", "mmio")
    mmio = members["mmio (KVM_EXIT_MMIO)"]
    for field, key in (("phys_addr", "phys_addr"), ("data", "data[8]"), ("len", "len"),
                       ("is_write", "is_write")):
        assert base + abi.ffi.offsetof("struct kvm_exit_mmio", field) == mmio[key]["offset"]
    hc = members["hypercall (KVM_EXIT_HYPERCALL)"]
    assert base + abi.ffi.offsetof("struct kvm_exit_hypercall", "nr") == hc["nr"]["offset"]
    ev = members["system_event (KVM_EXIT_SYSTEM_EVENT)"]
    assert base + abi.ffi.offsetof("struct kvm_exit_system_event", "type") == ev["type"]["offset"]


def test_realm_structs_have_the_series_layout() -> None:
    # [PATCH v9 06/43] (sizes computed in cca-semantics.md §1.1)
    assert abi.ffi.sizeof("struct arm_rme_config") == 260
    assert abi.ffi.offsetof("struct arm_rme_config", "hash_algo") == 4
    assert abi.ffi.sizeof("struct arm_rme_populate_realm") == 32
    assert abi.ffi.sizeof("struct arm_rme_init_ripas") == 32
    assert abi.ffi.sizeof("struct kvm_arm_rmm_psci_complete") == 24


def test_exit_codes_match() -> None:
    ref = load_reference("arm64-uapi.json")["exit_reasons"]["values"]
    for name, value in abi.EXIT_NAMES.items():
        assert ref[f"KVM_EXIT_{value}"] == name


def test_one_reg_constants_match() -> None:
    ref = load_reference("arm64-uapi.json")["one_reg_encoding"]
    assert abi.KVM_REG_ARM64 == int(ref["KVM_REG_ARM64"], 16)
    assert abi.KVM_REG_SIZE_MASK == int(ref["KVM_REG_SIZE_MASK"], 16)
    assert abi.KVM_REG_ARM_COPROC_MASK == int(ref["KVM_REG_ARM_COPROC_MASK"], 16)
    assert abi.KVM_REG_ARM64_SVE_VLS == 0x606000000015FFFF


def test_the_precompiled_layouts_are_the_declared_ones(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """backends/_kvm_ffi.py (cffi out-of-line ABI mode, loaded without pycparser) must be what
    `python -m backends.abi` makes from CDEF today: regenerate it when the declarations change."""
    from pathlib import Path

    fresh = tmp_path / "_kvm_ffi.py"
    abi.generate(str(fresh))
    committed = Path(abi.__file__).with_name("_kvm_ffi.py")
    assert committed.read_text() == fresh.read_text(), "run: python -m backends.abi"
    assert type(abi.ffi).__module__ == "_cffi_backend"  # the fast path is the one in use
