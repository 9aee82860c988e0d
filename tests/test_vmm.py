"""The VMM's ioctl wrappers over the simulated kernel: the same struct memory, the same
errnos, exits decoded from kvm_run."""

from __future__ import annotations

import errno

import pytest

from backends import abi
from backends.errors import KvmError
from backends.sim import RealmSeries, SimHost, SimKernel
from backends.vmm import Kvm
from realmtui import regs


def test_system_ioctls() -> None:
    kvm = Kvm(SimKernel())
    assert kvm.api_version() == 12
    assert kvm.check_extension(abi.KVM_CAP_ONE_REG) == 1
    assert kvm.check_extension(abi.KVM_CAP_ARM_VM_IPA_SIZE) == 48
    assert kvm.vcpu_mmap_size() >= abi.ffi.sizeof("struct kvm_run")


def test_open_of_a_missing_node_is_enoent_with_the_path() -> None:
    with pytest.raises(KvmError) as e:
        Kvm(SimKernel(), "/dev/nokvm")
    assert e.value.errno == errno.ENOENT and "/dev/nokvm" in e.value.call


@pytest.mark.parametrize("vm_type,expected", [
    (0, 0), (40, 0), (abi.KVM_VM_TYPE_ARM_REALM | 40, 0),
    (31, errno.EINVAL),  # below 32 bits of IPA
    (49, errno.EINVAL),  # beyond the host's limit
    (2 << 8, errno.EINVAL),  # an unknown VM type
    (1 << 20, errno.EINVAL),  # bits nobody defined
])
def test_create_vm_types(vm_type: int, expected: int) -> None:
    kvm = Kvm(SimKernel())
    try:
        kvm.create_vm(vm_type)
        got = 0
    except KvmError as e:
        got = e.errno
    assert got == expected


def test_a_kernel_without_the_realm_series_refuses_the_realm_type() -> None:
    kvm = Kvm(SimKernel(SimHost(series=RealmSeries.NONE)))
    with pytest.raises(KvmError) as e:
        kvm.create_vm(abi.KVM_VM_TYPE_ARM_REALM | 40)
    assert e.value.errno == errno.EINVAL and e.value.call == "KVM_CREATE_VM"
    assert kvm.check_extension(abi.KVM_CAP_ARM_RME_V9) == 0


def _realm():
    kvm = Kvm(SimKernel())
    return kvm.create_vm(abi.KVM_VM_TYPE_ARM_REALM | 40)


def test_realm_state_machine_errnos() -> None:
    """[PATCH v9 07/15/19/43] (cca-semantics.md §2.1)."""
    vm = _realm()
    with pytest.raises(KvmError) as e:
        vm.rme_activate()  # NONE: not yet created
    assert e.value.errno == errno.EINVAL
    with pytest.raises(KvmError) as e:
        vm.rme_populate(0x8000_0000, 0x1000)
    assert e.value.errno == errno.EPERM
    vm.rme_config_hash()
    vm.rme_create_realm()
    with pytest.raises(KvmError) as e:
        vm.rme_create_realm()
    assert e.value.errno == errno.EEXIST
    with pytest.raises(KvmError) as e:
        vm.rme_config_hash()  # configuration only before creation
    assert e.value.errno == errno.EBUSY
    with pytest.raises(KvmError) as e:
        vm.rme_init_ripas(0x8000_0800, 0x1000)  # unaligned: the RMM says RMI_ERROR_INPUT
    assert e.value.errno == errno.ENXIO
    vm.rme_activate()
    with pytest.raises(KvmError) as e:
        vm.rme_init_ripas(0x8000_0000, 0x1000)  # only while NEW
    assert e.value.errno == errno.EPERM
    with pytest.raises(KvmError) as e:
        vm.rme_activate()
    assert e.value.errno == errno.EINVAL


def test_the_realm_capability_on_a_normal_vm_is_einval() -> None:
    vm = Kvm(SimKernel()).create_vm(0)
    with pytest.raises(KvmError) as e:
        vm.rme_create_realm()
    assert e.value.errno == errno.EINVAL


@pytest.mark.parametrize("features,expected", [
    ([abi.KVM_ARM_VCPU_REC], errno.EINVAL),  # REC on a normal VM
    ([abi.KVM_ARM_VCPU_HAS_EL2], errno.EINVAL),  # no nested virtualisation here
    ([abi.KVM_ARM_VCPU_EL1_32BIT], errno.EINVAL),
    ([40], errno.ENOENT),  # a bit KVM does not know: -ENOENT (kvm_vcpu_init_check_features)
])
def test_vcpu_init_refuses_features_the_vm_cannot_have(features: list[int], expected: int) -> None:
    vm = Kvm(SimKernel()).create_vm(0)
    vcpu = vm.create_vcpu(0)
    with pytest.raises(KvmError) as e:
        vcpu.init(vm.preferred_target(), features)
    assert e.value.errno == expected


def test_vcpu_init_with_a_bogus_target_is_einval() -> None:
    vcpu = Kvm(SimKernel()).create_vm(0).create_vcpu(0)
    with pytest.raises(KvmError) as e:
        vcpu.init(0xDEAD)
    assert e.value.errno == errno.EINVAL


def test_rec_finalize_errnos() -> None:
    """[PATCH v9 11/43]: not NEW -> ENOENT, twice -> EBUSY, no PSCI 0.2 -> EINVAL."""
    vm = _realm()
    vcpu = vm.create_vcpu(0)
    vcpu.init(vm.preferred_target(), [abi.KVM_ARM_VCPU_PSCI_0_2, abi.KVM_ARM_VCPU_REC])
    with pytest.raises(KvmError) as e:
        vcpu.finalize(abi.KVM_ARM_VCPU_REC)
    assert e.value.errno == errno.ENOENT
    vm.rme_create_realm()
    vcpu.finalize(abi.KVM_ARM_VCPU_REC)
    with pytest.raises(KvmError) as e:
        vcpu.finalize(abi.KVM_ARM_VCPU_REC)
    assert e.value.errno == errno.EBUSY
    vm2 = _realm()
    v2 = vm2.create_vcpu(0)
    v2.init(vm2.preferred_target(), [abi.KVM_ARM_VCPU_REC])
    vm2.rme_create_realm()
    with pytest.raises(KvmError) as e:
        v2.finalize(abi.KVM_ARM_VCPU_REC)
    assert e.value.errno == errno.EINVAL


def test_realm_run_needs_an_irqchip() -> None:
    vm = _realm()
    vcpu = vm.create_vcpu(0)
    vcpu.init(vm.preferred_target(), [abi.KVM_ARM_VCPU_PSCI_0_2, abi.KVM_ARM_VCPU_REC])
    vm.rme_create_realm()
    vcpu.finalize(abi.KVM_ARM_VCPU_REC)
    vm.rme_activate()
    with pytest.raises(KvmError) as e:
        vcpu.run()
    assert e.value.errno == errno.EOPNOTSUPP  # [PATCH v9 13/43]


def test_values_wider_than_the_register_never_reach_the_kernel() -> None:
    vm = Kvm(SimKernel()).create_vm(0)
    vcpu = vm.create_vcpu(0)
    vcpu.init(vm.preferred_target())
    with pytest.raises(ValueError):
        vcpu.set_reg(regs.FPSR, 1 << 32)
    with pytest.raises(ValueError):
        vcpu.set_reg(regs.x_id(0), -1)


@pytest.mark.parametrize("reg_id,value", [
    (regs.FPSR, 0x0800_009F), (regs.x_id(5), 0xDEAD_BEEF_0BAD_F00D),
    (regs.v_id(7), (1 << 127) | 0x1234), (regs.sve_zreg_id(3), (1 << 2047) | 5),
    (regs.sve_preg_id(1), (1 << 255) | 3), (regs.SVE_VLS, 0b11),
])
def test_get_and_set_every_size_round_trip(reg_id: int, value: int) -> None:
    vm = Kvm(SimKernel()).create_vm(0)
    vcpu = vm.create_vcpu(0)
    sve = reg_id & abi.KVM_REG_ARM_COPROC_MASK == abi.KVM_REG_ARM64_SVE
    vcpu.init(vm.preferred_target(), [abi.KVM_ARM_VCPU_SVE] if sve else [])
    if sve and reg_id != regs.SVE_VLS:
        vcpu.finalize(abi.KVM_ARM_VCPU_SVE)
    vcpu.set_reg(reg_id, value)
    assert vcpu.get_reg(reg_id) == value


def test_run_retries_an_interrupted_kvm_run_then_says_so() -> None:
    vm = Kvm(SimKernel()).create_vm(0)
    vcpu = vm.create_vcpu(0)
    vcpu.init(vm.preferred_target(), [abi.KVM_ARM_VCPU_POWER_OFF])  # sleeps in KVM_RUN
    with pytest.raises(KvmError) as e:
        vcpu.run()
    assert e.value.errno == errno.EINTR and "interrupted" in str(e.value)


def test_smccc_filter_rules() -> None:
    vm = Kvm(SimKernel()).create_vm(0)
    vm.set_smccc_filter(0xC300_0000, 16, abi.KVM_SMCCC_FILTER_FWD_TO_USER)
    for base, n, action, err in [
        (0xC300_0008, 1, abi.KVM_SMCCC_FILTER_DENY, errno.EEXIST),  # overlaps
        (0xC600_0000, 1, abi.KVM_SMCCC_FILTER_DENY, errno.EEXIST),  # KVM's own range
        (0xC200_0000, 0, abi.KVM_SMCCC_FILTER_DENY, errno.EINVAL),  # empty
        (0xC200_0000, 1, 7, errno.EINVAL),  # unknown action
    ]:
        with pytest.raises(KvmError) as e:
            vm.set_smccc_filter(base, n, action)
        assert e.value.errno == err
