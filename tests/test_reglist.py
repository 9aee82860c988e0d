"""KVM_GET_REG_LIST from the simulated kernel: the selftest's blessed lists for normal vCPUs
(reference/arm64-get-reg-list.json) and the realm list of [PATCH v9 39/40] (§3.3)."""

from __future__ import annotations

import errno

import pytest

from backends import abi
from backends.errors import KvmError
from backends.sim import SimHost, SimKernel
from backends.vmm import Kvm, Vcpu
from realmtui import regs
from tests.conftest import load_reference

FEATURE = {
    "pmu": abi.KVM_ARM_VCPU_PMU_V3,
    "sve": abi.KVM_ARM_VCPU_SVE,
    "pauth_address": abi.KVM_ARM_VCPU_PTRAUTH_ADDRESS,
    "pauth_generic": abi.KVM_ARM_VCPU_PTRAUTH_GENERIC,
}
# The sim offers no nested virtualisation, so the EL2 configs are not its to pass.
CONFIGS = [
    "vregs", "vregs+pmu", "sve", "sve+pmu", "vregs+pauth_address+pauth_generic",
    "vregs+pauth_address+pauth_generic+pmu",
]


def _vcpu(features: list[int], realm: bool = False, finalize_sve: bool = True) -> Vcpu:
    kvm = Kvm(SimKernel(SimHost(pauth=True)))
    vm = kvm.create_vm((abi.KVM_VM_TYPE_ARM_REALM | 40) if realm else 0)
    vcpu = vm.create_vcpu(0)
    vcpu.init(vm.preferred_target(), [abi.KVM_ARM_VCPU_PSCI_0_2, *features])
    if abi.KVM_ARM_VCPU_SVE in features and finalize_sve and not realm:
        vcpu.finalize(abi.KVM_ARM_VCPU_SVE)
    return vcpu


def _blessed(config: str) -> set[int]:
    ref = load_reference("arm64-get-reg-list.json")
    cfg = next(c for c in ref["configs"] if c["config_name (--config=)"] == config)
    out: set[int] = set()
    for array in cfg["arrays"]:
        out |= {int(r["id"], 16) for r in ref["lists"][array]["regs"]}
    return out


@pytest.mark.parametrize("config", CONFIGS)
def test_normal_vcpu_lists_exactly_the_blessed_registers(config: str) -> None:
    features = [FEATURE[s] for s in config.split("+") if s in FEATURE]
    listed = _vcpu(features).reg_list()
    assert len(listed) == len(set(listed)), "a register is listed twice"
    # get-reg-list filters the CCSIDR demux registers: they depend on the host's CLIDR_EL1.
    filtered = {r for r in listed if regs.describe(r).cls is not regs.RegClass.DEMUX}
    blessed = _blessed(config)
    assert filtered == blessed, (
        f"missing {[regs.name_of(r) for r in blessed - filtered]}, "
        f"new {[regs.name_of(r) for r in filtered - blessed]}"
    )


def test_the_demux_registers_follow_clidr() -> None:
    listed = _vcpu([]).reg_list()
    demux = [r for r in listed if regs.describe(r).cls is regs.RegClass.DEMUX]
    # The sim's CLIDR_EL1 describes L1 I + D and a unified L2, as QEMU's max CPU does.
    assert demux == [regs.demux_ccsidr_id(i) for i in (0, 1, 2)]


def test_every_listed_register_reads_back_and_writes_back() -> None:
    """The selftest's round trip: GET must work for every listed register; SET of the value
    just read must work, except SVE_VLS, which must fail with EPERM once SVE is finalized."""
    vcpu = _vcpu([abi.KVM_ARM_VCPU_SVE, abi.KVM_ARM_VCPU_PMU_V3])
    for rid in vcpu.reg_list():
        value = vcpu.get_reg(rid)
        if rid == regs.SVE_VLS:
            with pytest.raises(KvmError) as e:
                vcpu.set_reg(rid, value)
            assert e.value.errno == errno.EPERM
        else:
            vcpu.set_reg(rid, value)


def test_reg_list_reports_the_count_with_e2big() -> None:
    vcpu = _vcpu([])
    lst = abi.ffi.new("struct kvm_reg_list *", {"n": 3, "reg": 3})
    with pytest.raises(OSError) as e:
        vcpu.kernel.ioctl(vcpu.fd, abi.KVM_GET_REG_LIST, lst)
    assert e.value.errno == errno.E2BIG
    assert lst.n == len(vcpu.reg_list()) > 3
    # Nothing was written into the caller's too-small array.
    assert [lst.reg[i] for i in range(3)] == [0, 0, 0]


def _realm_expected(pmu: bool, sve: bool) -> set[int]:
    core = {regs.x_id(n) for n in range(31)}
    core |= {regs.SP, regs.PC, regs.PSTATE, regs.SP_EL1, regs.ELR_EL1, *regs.SPSR,
             regs.FPSR, regs.FPCR}
    if not sve:
        core |= {regs.v_id(n) for n in range(32)}
    out = core | {regs.ID_AA64DFR0_EL1}
    if pmu:
        out.add(regs.PMCR_EL0)
    if sve:
        out.add(regs.SVE_VLS)
    return out


@pytest.mark.parametrize("pmu", [False, True])
@pytest.mark.parametrize("sve", [False, True])
def test_realm_vcpu_list_is_core_plus_the_realm_parameters(pmu: bool, sve: bool) -> None:
    features = [abi.KVM_ARM_VCPU_REC]
    features += [abi.KVM_ARM_VCPU_PMU_V3] if pmu else []
    features += [abi.KVM_ARM_VCPU_SVE] if sve else []
    listed = _vcpu(features, realm=True).reg_list()
    expected = _realm_expected(pmu, sve)
    assert set(listed) == expected
    # §3.3: 75 + 1 (DFR0) [+1 PMCR]; with SVE 43 + 1 (VLS) + 1 [+1].
    assert len(listed) == (43 + 1 if sve else 75) + 1 + int(pmu)


def test_reg_list_before_vcpu_init_is_enoexec() -> None:
    kvm = Kvm(SimKernel())
    vcpu = kvm.create_vm(0).create_vcpu(0)
    with pytest.raises(KvmError) as e:
        vcpu.reg_list()
    assert e.value.errno == errno.ENOEXEC and e.value.call == "KVM_GET_REG_LIST"
