"""The v12, v13 and v14 kernels in the sim: their uAPI (VM type, cap, POPULATE's two forms,
PSCI_COMPLETE), the implicit lifecycle (populate creates the realm, the first KVM_RUN
activates it and creates the REC), their SET_ONE_REG errnos and register lists.
Facts: ../shared/reference/cca-uapi-v12-v16.md (C = its corrections, O = its omissions)."""

from __future__ import annotations

import errno

import pytest

from backends import abi, guests
from backends.errors import KvmError
from backends.exits import MmioExit
from backends.machine import DemoMachine, MachineSpec
from backends.series import SERIES
from backends.sim import RealmSeries, SimHost, SimKernel
from backends.vmm import Kvm, Vcpu, Vm
from realmtui import regs

RMI = ["v12", "v13", "v14"]
OK = 0
DFR0_FEWER_WPS = 0x1020_5006


def _errno_of(fn) -> int:  # type: ignore[no-untyped-def]
    try:
        fn()
    except KvmError as e:
        return e.errno
    return OK


def _machine(name: str, stage: str = "new", **spec: bool) -> DemoMachine:
    m = DemoMachine(
        SimKernel(SimHost(series=RealmSeries(name))),
        MachineSpec(realm=True, series=SERIES[name], **spec),
    )
    m.build()
    if stage in ("created", "ran"):
        m.create_realm()
    if stage == "ran":
        assert m.vcpu is not None
        m.vcpu.run()
    return m


def _vcpu(name: str, stage: str = "new", **spec: bool) -> Vcpu:
    vcpu = _machine(name, stage, **spec).vcpu
    assert vcpu is not None
    return vcpu


# --- the VM type and the cap --------------------------------------------------------------------
@pytest.mark.parametrize("name", RMI)
def test_each_kernel_takes_only_its_own_realm_type_and_names_its_own_cap(name: str) -> None:
    kvm = Kvm(SimKernel(SimHost(series=RealmSeries(name))))
    own = SERIES[name].realm_vm_type
    other = abi.KVM_VM_TYPE_ARM_REALM_V14 if own == abi.KVM_VM_TYPE_ARM_REALM else (
        abi.KVM_VM_TYPE_ARM_REALM
    )
    with pytest.raises(KvmError) as e:
        kvm.create_vm(other | 40)
    assert e.value.errno == errno.EINVAL  # O11
    vm = kvm.create_vm(own | 40)
    caps = {c: vm.check_extension(c) for c in (243, 244, 247, 248, 249, 251)}
    assert [c for c, v in caps.items() if v] == [SERIES[name].cap]


def test_v14_refuses_realm_and_protected_together() -> None:
    kvm = Kvm(SimKernel(SimHost(series=RealmSeries.V14)))
    with pytest.raises(KvmError) as e:
        kvm.create_vm(abi.KVM_VM_TYPE_ARM_REALM_V14 | abi.KVM_VM_TYPE_ARM_PROTECTED | 40)
    assert e.value.errno == errno.EINVAL


@pytest.mark.parametrize("name,pmu_cap", [("v12", 1), ("v13", 1), ("v14", 0)])
def test_a_realm_vm_answers_only_its_allow_list(name: str, pmu_cap: int) -> None:
    vm = Kvm(SimKernel(SimHost(series=RealmSeries(name)))).create_vm(
        SERIES[name].realm_vm_type | 40
    )
    assert vm.check_extension(abi.KVM_CAP_ARM_PMU_V3) == pmu_cap  # O10
    assert vm.check_extension(abi.KVM_CAP_ONE_REG) == 0
    assert vm.check_extension(abi.KVM_CAP_ARM_PSCI_0_2) == 1


# --- the lifecycle ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", RMI)
def test_there_is_no_rec_feature_no_finalize_rec_and_no_enable_cap_lifecycle(name: str) -> None:
    m = _machine(name)
    vcpu, vm = m.vcpu, m.vm
    assert vcpu is not None and vm is not None
    assert _errno_of(lambda: vcpu.finalize(abi.KVM_ARM_VCPU_REC)) == errno.EINVAL
    assert _errno_of(vm.rme_create_realm) == errno.EINVAL
    # v12/v13 kept KVM_VCPU_MAX_FEATURES at 10 (C9): bit 9 means nothing; v14 does not know it.
    fresh = vm.create_vcpu(1)
    init = lambda: fresh.init(vm.preferred_target(), [2, abi.KVM_ARM_VCPU_REC])  # noqa: E731
    assert _errno_of(init) == (errno.ENOENT if name == "v14" else OK)


@pytest.mark.parametrize("name", RMI)
def test_populate_creates_the_realm_and_the_first_run_creates_the_rec(name: str) -> None:
    m = _machine(name, "created")
    vcpu = m.vcpu
    assert vcpu is not None
    vcpu.set_reg(regs.x_id(0), 0xC0FFEE)  # after populate, before the first run: it counts
    e1 = vcpu.run()
    assert isinstance(e1, MmioExit) and e1.data == 0xC0FFEE
    # The REC exists now: a second populate is EBUSY (O2), and x0 no longer reaches it.
    vm = m.vm
    assert vm is not None
    populate = lambda: vm.rmi_populate(  # noqa: E731
        SERIES[name].populate_ioctl or 0, guests.REALM_RAM_BASE, 4096, int(
            abi.ffi.cast("uintptr_t", m._ram_ptr)
        ), returns_bytes=SERIES[name].populate_returns_bytes,
    )
    assert _errno_of(populate) == errno.EBUSY


def _populate_raw(vm: Vm, request: int, source: int, size: int = 4096) -> tuple[int, object]:
    req = abi.ffi.new("struct kvm_arm_rmi_populate *")
    req.base, req.size, req.source_uaddr = guests.REALM_RAM_BASE, size, source
    return vm.kernel.ioctl(vm.fd, request, req), req


@pytest.mark.parametrize("name", RMI)
def test_populate_answers_in_its_own_form_and_refuses_the_other(name: str) -> None:
    m = _machine(name)
    vm = m.vm
    assert vm is not None
    source = int(abi.ffi.cast("uintptr_t", m._ram_ptr))
    own = SERIES[name].populate_ioctl
    other = abi.KVM_ARM_RMI_POPULATE if own == abi.KVM_ARM_RMI_POPULATE_V12 else (
        abi.KVM_ARM_RMI_POPULATE_V12
    )
    with pytest.raises(OSError) as e:
        _populate_raw(vm, other, source)
    assert e.value.errno == errno.EINVAL  # O1: the arch switch matches the whole number
    assert own is not None
    ret, req = _populate_raw(vm, own, source, 2 * 4096)
    if name == "v12":
        assert ret == 2 * 4096  # v12: the bytes populated
    else:
        # v13/v14: 0, and the struct advanced past what was done (O2)
        assert ret == 0 and (req.size, req.base) == (0, guests.REALM_RAM_BASE + 2 * 4096)


@pytest.mark.parametrize("name,expected", [("v12", errno.EPERM), ("v13", errno.ENXIO),
                                           ("v14", errno.ENXIO)])
def test_populate_on_a_normal_vm(name: str, expected: int) -> None:
    vm = Kvm(SimKernel(SimHost(series=RealmSeries(name)))).create_vm(40)
    req = abi.ffi.new("struct kvm_arm_rmi_populate *")
    with pytest.raises(OSError) as e:
        vm.kernel.ioctl(vm.fd, SERIES[name].populate_ioctl, req)
    assert e.value.errno == expected  # O2


@pytest.mark.parametrize("name,expected", [("v12", errno.EPERM), ("v13", errno.ENXIO),
                                           ("v14", errno.EINVAL)])
def test_psci_complete_is_gone_in_v14(name: str, expected: int) -> None:
    # On a normal VM's vCPU: v12 EPERM, v13 ENXIO (C6); v14 has no such ioctl (O1).
    kvm = Kvm(SimKernel(SimHost(series=RealmSeries(name))))
    vcpu = kvm.create_vm(40).create_vcpu(0)
    vcpu.init(abi.KVM_ARM_TARGET_GENERIC_V8, [abi.KVM_ARM_VCPU_PSCI_0_2])
    assert _errno_of(lambda: vcpu.psci_complete(0, 0)) == expected


@pytest.mark.parametrize("name", RMI)
def test_without_an_irqchip_the_first_run_fails_and_v12_loses_the_realm(name: str) -> None:
    kvm = Kvm(SimKernel(SimHost(series=RealmSeries(name))))
    vm = kvm.create_vm(SERIES[name].realm_vm_type | 40)
    vcpu = vm.create_vcpu(0)
    vcpu.init(vm.preferred_target(), [abi.KVM_ARM_VCPU_PSCI_0_2])
    assert _errno_of(vcpu.run) == errno.EOPNOTSUPP
    # v13/v14 check before touching the realm (retryable); v12 marked it DEAD first (O5).
    assert _errno_of(vcpu.run) == (errno.ENXIO if name == "v12" else errno.EOPNOTSUPP)


# --- registers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", RMI)
@pytest.mark.parametrize("stage", ["new", "created", "ran"])
def test_dfr0_is_ebusy_and_sve_vls_eperm_once_the_realm_exists(name: str, stage: str) -> None:
    vcpu = _vcpu(name, stage, sve=True)
    created = stage != "new"
    assert _errno_of(lambda: vcpu.set_reg(regs.ID_AA64DFR0_EL1, DFR0_FEWER_WPS)) == (
        errno.EBUSY if created else OK  # C2: v12-v14 alike
    )
    want = errno.EPERM if created else OK
    assert _errno_of(lambda: vcpu.set_reg(regs.SVE_VLS, 0b11)) == want


@pytest.mark.parametrize("name,expected", [("v12", OK), ("v13", OK), ("v14", errno.EINVAL)])
def test_pmcr_el0_left_the_allow_list_in_v14(name: str, expected: int) -> None:
    vcpu = _vcpu(name, pmu=True)
    assert _errno_of(lambda: vcpu.set_reg(regs.PMCR_EL0, 2 << 11)) == expected  # C1
    assert regs.PMCR_EL0 in vcpu.reg_list()  # listed with a PMU even in v14 (C10)


@pytest.mark.parametrize("name", RMI)
@pytest.mark.parametrize("sve,pmu,count", [
    (False, False, 76), (False, True, 77), (True, False, 45), (True, True, 46),
])
def test_realm_register_list_counts(name: str, sve: bool, pmu: bool, count: int) -> None:
    ids = _vcpu(name, sve=sve, pmu=pmu).reg_list()  # before SVE finalize too (C11)
    assert len(ids) == count  # O8
    assert ids.index(regs.ID_AA64DFR0_EL1) == len(ids) - 1 - pmu  # core, VLS, DFR0, PMCR


@pytest.mark.parametrize("name", RMI)
@pytest.mark.parametrize("stage", ["new", "created", "ran"])
def test_sp_is_refused_and_x30_taken_in_every_stage(name: str, stage: str) -> None:
    vcpu = _vcpu(name, stage)
    assert _errno_of(lambda: vcpu.set_reg(regs.SP, 0)) == errno.EINVAL
    assert _errno_of(lambda: vcpu.set_reg(regs.x_id(30), 1)) == OK


# --- RMM 2.0 (v13, v14) ---------------------------------------------------------------------------
def test_an_rmm_2_0_answers_rmi_version_2_0_only() -> None:
    from backends.sim.rmm.handler import PhysicalMemory, RmiHandler
    from backends.sim.rmm.rmi import Rmm, RmmLimits
    from backends.sim.rmm.smc_rmi import RMI_ABI_VERSION_1_0, RMI_ABI_VERSION_2_0, RMI_VERSION

    rmm2 = RmiHandler(Rmm(100_000, RmmLimits(), abi_major=2), PhysicalMemory())
    # As the real TF-RMM v0.9.0 answered (cca-uapi-v12-v16.md §2, [RAN]): 0, 0x20000, 0x20000.
    assert rmm2.smc(RMI_VERSION, RMI_ABI_VERSION_2_0)[:3] == (0, 0x20000, 0x20000)
    assert rmm2.smc(RMI_VERSION, RMI_ABI_VERSION_1_0)[0] != 0


@pytest.mark.parametrize("name,plane", [("v12", None), ("v13", 0), ("v14", 0)])
def test_the_exit_panel_shows_rmm_2_0s_plane(name: str, plane: int | None) -> None:
    from realmtui.context import Profile
    from realmtui.exit_explain import explain_exit
    from realmtui.session import Session, SessionConfig

    s = Session(SessionConfig(profile=Profile(name)))
    info = s.run().exit
    assert info is not None and info.plane == plane
    labels = [line.label for line in explain_exit(info, True)]
    assert ("plane" in labels) is (plane is not None)
    s.close()


def test_rec_exit_carries_the_plane_at_0x608() -> None:
    from backends.sim.rmm.smc_rmi import RecExit, rec_exit_from_bytes, rec_exit_to_bytes

    page = rec_exit_to_bytes(RecExit(plane=2))
    assert page[0x608] == 2 and rec_exit_from_bytes(page).plane == 2


def test_rmm_2_0_exit_reasons_are_decoded_by_name() -> None:
    from backends.series import rmi_exit_name

    assert rmi_exit_name(7, 2) == "RMI_EXIT_S2AP_CHANGE"
    assert rmi_exit_name(10, 2) == "RMI_EXIT_VDEV_P2P_BINDING"
    assert rmi_exit_name(7, 1) == "RMI exit reason 7 (unknown to RMM 1.0)"
    assert rmi_exit_name(6, 1) == "RMI_EXIT_SERROR"


def test_an_upstream_kernel_still_answers_the_realm_calls_with_einval() -> None:
    vcpu = Kvm(SimKernel(SimHost(series=RealmSeries.NONE))).create_vm(40).create_vcpu(0)
    vcpu.init(abi.KVM_ARM_TARGET_GENERIC_V8, [abi.KVM_ARM_VCPU_PSCI_0_2])
    assert _errno_of(lambda: vcpu.finalize(abi.KVM_ARM_VCPU_REC)) == errno.EINVAL


@pytest.mark.parametrize("name", RMI)
def test_the_session_names_the_steps_a_series_dropped(name: str) -> None:
    from realmtui.context import Profile
    from realmtui.session import Session, SessionConfig, Stage

    s = Session(SessionConfig(profile=Profile(name)))
    out = s.advance(Stage.REC_CREATED)  # what the app's REC key asks for
    assert not out.ok and out.message.startswith(f"{name} has no REC-creation step")
    assert not s.activate().ok and s.stage is Stage.REALM_CREATED
    assert s.run().ok and s.stage is Stage.ACTIVE and s.context.rec_created
    s.close()
