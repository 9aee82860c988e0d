"""The simulated kernel's errnos for each class of register, realm and normal, in each realm
state -- the order of checks matters: [PATCH v9 22/43] puts the realm filter after the arch
check and before the per-register handler."""

from __future__ import annotations

import errno

import pytest

from backends.errors import KvmError
from backends.machine import DemoMachine, MachineSpec
from backends.sim import RealmSeries, SimHost, SimKernel
from backends.vmm import Kvm, Vcpu
from realmtui import regs

OK = 0
BOGUS_CORE = 0x6030000000100FFF  # core offset beyond struct kvm_regs
MISALIGNED_CORE = 0x6030000000100001  # inside regs[0..30] but not on a u64 boundary
X0_AS_U32 = 0x6020000000100000
UNKNOWN_SYSREG = 0x603000000013FFFF
NOT_ARM64 = 0x2030000000100000  # an x86 id
SCTLR = regs.parse_register("SCTLR_EL1")
PSCI_VERSION = regs.fw_id(0)
STD_BMAP = regs.fw_bmap_id(0)

# register id -> (realm SET errno, normal SET errno), writing back the value read (or 0 when
# it cannot be read). Realm answers hold in every realm state.
SET_MATRIX = {
    "x3": (regs.x_id(3), OK, OK),
    "x30": (regs.x_id(30), OK, OK),
    "pc": (regs.PC, OK, OK),
    "sp": (regs.SP, errno.EINVAL, OK),
    "pstate": (regs.PSTATE, errno.EINVAL, OK),
    "elr_el1": (regs.ELR_EL1, errno.EINVAL, OK),
    "v0": (regs.v_id(0), errno.EINVAL, OK),
    "fpcr": (regs.FPCR, errno.EINVAL, OK),
    "bogus core offset": (BOGUS_CORE, errno.EINVAL, errno.ENOENT),
    "misaligned core": (MISALIGNED_CORE, errno.EINVAL, errno.EINVAL),
    "x0 as u32": (X0_AS_U32, errno.EINVAL, errno.EINVAL),
    "SCTLR_EL1": (SCTLR, errno.EINVAL, OK),
    "unknown sysreg": (UNKNOWN_SYSREG, errno.EINVAL, errno.ENOENT),
    "PSCI_VERSION": (PSCI_VERSION, errno.EINVAL, OK),
    "STD_BMAP": (STD_BMAP, errno.EINVAL, OK),
    "CCSIDR[0]": (regs.demux_ccsidr_id(0), errno.EINVAL, OK),
    "SVE z0": (regs.sve_zreg_id(0), errno.EINVAL, errno.ENOENT),
    "not arm64": (NOT_ARM64, errno.EINVAL, errno.EINVAL),
}

REALM_STAGES = ["new", "created", "rec-created", "active", "ran"]


def _errno_of(fn) -> int:  # type: ignore[no-untyped-def]
    try:
        fn()
    except KvmError as e:
        return e.errno
    return OK


def _realm_vcpu(stage: str, series: RealmSeries = RealmSeries.V9) -> Vcpu:
    m = DemoMachine(SimKernel(SimHost(series=series)), MachineSpec(realm=True))
    m.build()
    steps = REALM_STAGES.index(stage)
    if steps >= 1:
        m.create_realm()
    if steps >= 2:
        m.finalize_rec()
    if steps >= 3:
        m.activate()
    assert m.vcpu is not None
    if steps >= 4:
        m.vcpu.run()
    return m.vcpu


def _normal_vcpu() -> Vcpu:
    m = DemoMachine(SimKernel(), MachineSpec(realm=False))
    m.build()
    assert m.vcpu is not None
    return m.vcpu


def _write_back(vcpu: Vcpu, rid: int) -> int:
    try:
        value = vcpu.get_reg(rid)
    except KvmError:
        value = 0
    return _errno_of(lambda: vcpu.set_reg(rid, value))


@pytest.mark.parametrize("stage", REALM_STAGES)
@pytest.mark.parametrize("what", list(SET_MATRIX))
def test_realm_set_errno(stage: str, what: str) -> None:
    rid, realm_errno, _ = SET_MATRIX[what]
    assert _write_back(_realm_vcpu(stage), rid) == realm_errno


@pytest.mark.parametrize("what", list(SET_MATRIX))
def test_normal_set_errno(what: str) -> None:
    rid, _, normal_errno = SET_MATRIX[what]
    assert _write_back(_normal_vcpu(), rid) == normal_errno


@pytest.mark.parametrize("stage", REALM_STAGES)
def test_realm_reads_are_never_refused_for_listed_registers(stage: str) -> None:
    vcpu = _realm_vcpu(stage)
    for rid in vcpu.reg_list():
        vcpu.get_reg(rid)  # raises on any errno


@pytest.mark.parametrize("rid,expected", [
    (BOGUS_CORE, errno.ENOENT),
    (UNKNOWN_SYSREG, errno.ENOENT),
    (SCTLR, 0),  # v9-40 hides it from the list only; reads are never refused
    (X0_AS_U32, errno.EINVAL),
    (NOT_ARM64, errno.EINVAL),
])
def test_realm_get_errnos_are_upstreams(rid: int, expected: int) -> None:
    assert _errno_of(lambda: _realm_vcpu("created").get_reg(rid)) == expected


def _uninitialised() -> Vcpu:
    return Kvm(SimKernel()).create_vm(0).create_vcpu(0)


@pytest.mark.parametrize("call", ["get", "set", "list", "run"])
def test_everything_before_vcpu_init_is_enoexec(call: str) -> None:
    vcpu = _uninitialised()
    action = {
        "get": lambda: vcpu.get_reg(regs.x_id(0)),
        "set": lambda: vcpu.set_reg(regs.x_id(0), 1),
        "list": vcpu.reg_list,
        "run": vcpu.run,
    }[call]
    assert _errno_of(action) == errno.ENOEXEC


def test_a_failed_write_names_the_ioctl_and_the_register() -> None:
    vcpu = _realm_vcpu("created")
    with pytest.raises(KvmError) as e:
        vcpu.set_reg(regs.SP, 1)
    assert (e.value.errno_name, e.value.call, e.value.reg) == ("EINVAL", "KVM_SET_ONE_REG", regs.SP)
    assert "KVM_SET_ONE_REG" in str(e.value) and "EINVAL" in str(e.value)


# --- the v9 realm parameters, state by state ---------------------------------------------------
DFR0_FEWER_WPS = 0x1020_5006  # WRPs 3 -> 2: a valid, different value


@pytest.mark.parametrize("stage,expected", [
    ("new", OK), ("created", errno.EBUSY), ("rec-created", errno.EBUSY), ("active", errno.EBUSY),
])
def test_v9_dfr0_is_settable_until_the_realm_exists(stage: str, expected: int) -> None:
    vcpu = _realm_vcpu(stage)
    assert _errno_of(lambda: vcpu.set_reg(regs.ID_AA64DFR0_EL1, DFR0_FEWER_WPS)) == expected
    # The same value back is always fine (set_id_reg).
    assert _write_back(vcpu, regs.ID_AA64DFR0_EL1) == OK


@pytest.mark.parametrize("value", [0x1030_5000, 0x1030_0006, 0x1000_5006, 0x7030_5006])
def test_v9_dfr0_refuses_unusable_debug_parameters(value: int) -> None:
    # DebugVer below Armv8, no breakpoints, no watchpoints, more context comparators than BPs
    vcpu = _realm_vcpu("new")
    assert _errno_of(lambda: vcpu.set_reg(regs.ID_AA64DFR0_EL1, value)) == errno.EINVAL


def test_seed_kernel_refuses_the_realm_parameters_in_every_state() -> None:
    for stage in REALM_STAGES[:4]:
        vcpu = _realm_vcpu(stage, RealmSeries.SEED)
        assert _write_back(vcpu, regs.ID_AA64DFR0_EL1) == errno.EINVAL
        assert _write_back(vcpu, regs.x_id(5)) == OK


def _realm_with(stage: str, **spec: bool) -> Vcpu:
    m = DemoMachine(SimKernel(), MachineSpec(realm=True, **spec))
    m.build()
    if stage != "new":
        m.create_realm()
    assert m.vcpu is not None
    return m.vcpu


def test_v9_sve_vls_is_eperm_once_the_realm_exists() -> None:
    vls_128_to_256 = 0b11
    vcpu = _realm_with("new", sve=True)
    assert _errno_of(lambda: vcpu.set_reg(regs.SVE_VLS, vls_128_to_256)) == OK
    vcpu = _realm_with("created", sve=True)
    assert _errno_of(lambda: vcpu.set_reg(regs.SVE_VLS, vls_128_to_256)) == errno.EPERM


def test_v9_sve_vls_beyond_the_rmm_limit_is_einval() -> None:
    vcpu = _realm_with("new", sve=True)
    too_long = (1 << 8) - 1  # 1024-bit vectors; the sim's RMM stops at 512
    assert _errno_of(lambda: vcpu.set_reg(regs.SVE_VLS, too_long)) == errno.EINVAL


def test_v9_pmcr_n_is_taken_before_creation_and_ignored_after() -> None:
    vcpu = _realm_with("new", pmu=True)
    vcpu.set_reg(regs.PMCR_EL0, 2 << 11)
    assert (vcpu.get_reg(regs.PMCR_EL0) >> 11) & 0x1F == 2
    vcpu = _realm_with("created", pmu=True)
    before = (vcpu.get_reg(regs.PMCR_EL0) >> 11) & 0x1F
    vcpu.set_reg(regs.PMCR_EL0, 1 << 11)  # accepted ...
    assert (vcpu.get_reg(regs.PMCR_EL0) >> 11) & 0x1F == before  # ... and ignored
