"""The "Corrections" of reference/cca-semantics.md, each pinned where the simulated kernel
answers: reads, ID_AA64DFR0_EL1's writable fields and check order, the core offset, the SMCCC
return values, the NISV abort, the errno order of FINALIZE / PSCI_COMPLETE / INIT_RIPAS, what
the guest reads of DFR0, the RMM's own PSCI and RSI answers, and the seed's register list."""

from __future__ import annotations

import errno

import pytest

from backends import a64, abi, guests
from backends.errors import KvmError
from backends.exits import MmioExit
from backends.machine import DemoMachine, MachineSpec
from backends.sim import RealmSeries, SimHost, SimKernel
from backends.sim import confidential_peek as peek
from backends.vmm import Kvm, Vcpu
from realmtui import regs

OK = 0
DFR0_RESET = 0x1030_5006  # the sim host's DFR0 as a vCPU without a PMU gets it
STAGES = ("new", "created", "rec-created", "active")


def _errno(fn) -> int:  # type: ignore[no-untyped-def]
    try:
        fn()
    except KvmError as e:
        return e.errno
    return OK


def _machine(stage: str = "new", series: RealmSeries = RealmSeries.V9, **spec) -> DemoMachine:  # type: ignore[no-untyped-def]
    m = DemoMachine(SimKernel(SimHost(series=series)), MachineSpec(**spec))
    m.build()
    if not spec.get("realm", True):
        return m
    steps = (m.create_realm, m.finalize_rec, m.activate)
    for step in steps[: STAGES.index(stage)]:
        step()
    return m


def _vcpu(stage: str = "new", **spec) -> Vcpu:  # type: ignore[no-untyped-def]
    m = _machine(stage, **spec)
    assert m.vcpu is not None
    return m.vcpu


# --- 1. reads are never refused ----------------------------------------------------------------

@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("name", ["SCTLR_EL1", "MPIDR_EL1", "CNTV_CTL_EL0", "PSCI_VERSION",
                                  "TTBR0_EL1"])
def test_a_realm_reads_registers_hidden_from_its_list(stage: str, name: str) -> None:
    vcpu = _vcpu(stage)
    rid = regs.parse_register(name)
    assert rid not in vcpu.reg_list()
    vcpu.get_reg(rid)  # v9-40 hides it from KVM_GET_REG_LIST only


def test_a_realm_read_of_a_register_the_vcpu_lacks_is_enoent() -> None:
    vcpu = _vcpu("created")  # no PMU, no SVE
    assert _errno(lambda: vcpu.get_reg(regs.PMCR_EL0)) == errno.ENOENT
    assert _errno(lambda: vcpu.get_reg(regs.SVE_VLS)) == errno.ENOENT


# --- 2./3. ID_AA64DFR0_EL1: writable fields and check order ------------------------------------

@pytest.mark.parametrize("value,expected", [
    (0x1030_4006, errno.EINVAL),  # BRPs 5 -> 4: not writable
    (0x0030_5006, errno.EINVAL),  # CTX_CMPs 1 -> 0: not writable
    (0x1020_5006, OK),  # WRPs 3 -> 2: writable, lowered
    (0x1040_5006, errno.EINVAL),  # WRPs raised above the host's
    (0x1030_5006 | 0xF << 36, errno.EINVAL),  # DoubleLock: only its safe value 0
])
def test_dfr0_before_realm_creation_takes_only_the_writable_fields(value: int,
                                                                 expected: int) -> None:
    vcpu = _vcpu("new")
    assert _errno(lambda: vcpu.set_reg(regs.ID_AA64DFR0_EL1, value)) == expected


def test_dfr0_is_checked_against_its_reset_value_not_its_current_one() -> None:
    vcpu = _vcpu("new")
    vcpu.set_reg(regs.ID_AA64DFR0_EL1, 0x1010_5006)  # WRPs 3 -> 1
    vcpu.set_reg(regs.ID_AA64DFR0_EL1, DFR0_RESET)  # back up to the limit: accepted
    assert vcpu.get_reg(regs.ID_AA64DFR0_EL1) == DFR0_RESET


@pytest.mark.parametrize("stage", STAGES[1:])
def test_dfr0_after_creation_einval_before_ebusy(stage: str) -> None:
    vcpu = _vcpu(stage)
    assert _errno(lambda: vcpu.set_reg(regs.ID_AA64DFR0_EL1, 0)) == errno.EINVAL
    assert _errno(lambda: vcpu.set_reg(regs.ID_AA64DFR0_EL1, 0x1020_5006)) == errno.EBUSY
    assert _errno(lambda: vcpu.set_reg(regs.ID_AA64DFR0_EL1, DFR0_RESET)) == OK


def test_dfr0_of_a_normal_vm_after_its_first_run_einval_before_ebusy() -> None:
    m = _machine(realm=False)
    assert m.vcpu is not None
    m.vcpu.run()
    assert _errno(lambda: m.vcpu.set_reg(regs.ID_AA64DFR0_EL1, 0)) == errno.EINVAL
    assert _errno(lambda: m.vcpu.set_reg(regs.ID_AA64DFR0_EL1, 0x1020_5006)) == errno.EBUSY


def test_the_realm_is_created_with_the_lowered_watchpoints_and_no_ctx_cmps() -> None:
    m = _machine("new")
    assert m.vcpu is not None
    m.vcpu.set_reg(regs.ID_AA64DFR0_EL1, 0x1010_5006)  # WRPs 1: two watchpoints
    m.create_realm()
    m.finalize_rec()
    view = peek.rec_now(m.kernel, m.vcpu.fd)
    assert view is not None
    assert view.realm_params["num_wps"] == 2 and view.realm_params["num_bps"] == 6
    assert "num_ctx_cmps" not in view.realm_params


# --- 7. the core offset keeps bits 28-31 ----------------------------------------------------------

HIGH_CORE = 0x6030_0000_1010_0000  # CORE, offset 0x10000000: x0's id with bit 28 set


def test_a_core_id_with_bits_28_to_31_is_not_x0() -> None:
    assert _errno(lambda: _vcpu("created").set_reg(HIGH_CORE, 1)) == errno.EINVAL
    normal = _machine(realm=False).vcpu
    assert normal is not None
    assert _errno(lambda: normal.set_reg(HIGH_CORE, 1)) == errno.ENOENT
    assert _errno(lambda: normal.get_reg(HIGH_CORE)) == errno.ENOENT


# --- 5. a denied SMCCC call clears x1-x3 ---------------------------------------------------------

DENIED_FID = 0xC600_0000 - 0x1_0000  # SMC64 fast call, owner 5 (standard hypervisor), fn 0


def _hvc_then_store_x1_to_x3(fid: int) -> guests.Program:
    asm = a64.Assembler(guests.NORMAL_RAM_BASE)
    asm.emit(*a64.mov_imm(a64.X[20], guests.NORMAL_UART_IPA))
    asm.emit(*a64.mov_imm(a64.X[0], fid))
    for n in (1, 2, 3):
        asm.emit(*a64.mov_imm(a64.X[n], 0x1111 * n))
    asm.emit(a64.hvc(0))
    for n in (0, 1, 2, 3):
        asm.emit(a64.str_(a64.X[n], a64.X[20]))
    asm.label("end")
    asm.b("end")
    built = asm.assemble()
    return guests.Program("smccc", built.base, built.base, built.image, tuple(built.lines), ())


@pytest.mark.parametrize("deny", [True, False])
def test_an_smccc_call_kvm_answers_clears_x1_to_x3(deny: bool) -> None:
    m = DemoMachine(SimKernel(), MachineSpec(realm=False, program=_hvc_then_store_x1_to_x3(
        DENIED_FID)))
    m.build()
    assert m.vm is not None and m.vcpu is not None
    if deny:
        m.vm.set_smccc_filter(DENIED_FID, 1, abi.KVM_SMCCC_FILTER_DENY)
    seen = []
    for _ in range(4):
        e = m.vcpu.run()
        assert isinstance(e, MmioExit) and e.is_write
        seen.append(e.data)
    assert seen == [(1 << 64) - 1, 0, 0, 0]  # NOT_SUPPORTED, then x1-x3 zero


# --- 6. an abort without a syndrome at an unprotected IPA --------------------------------------

def test_a_nisv_abort_at_an_unprotected_ipa_injects_an_sea_and_reenters() -> None:
    from backends.sim.kvm import rme_exit
    from backends.sim.rmm.smc_rmi import REC_ENTER_FLAG_INJECT_SEA, RecExit, RmiExit
    from backends.sim.syndrome import EC_DABT_LOW, EC_SHIFT

    m = _machine("active")
    assert m.vcpu is not None
    vcpu = m.kernel.object(m.vcpu.fd)
    uart = guests.REALM_UART_IPA
    vcpu.rec.run.exit = RecExit(
        exit_reason=RmiExit.SYNC, esr=EC_DABT_LOW << EC_SHIFT, hpfar=(uart >> 12) << 4,
    )
    assert rme_exit.handle_rec_exit(vcpu, 0) == 1  # no exit to userspace, no ENOSYS
    assert vcpu.rec.run.enter.flags & REC_ENTER_FLAG_INJECT_SEA


# --- 8. errno order of FINALIZE, PSCI_COMPLETE and INIT_RIPAS ------------------------------------

def test_finalize_before_vcpu_init_is_enoexec() -> None:
    vcpu = Kvm(SimKernel()).create_vm(0).create_vcpu(0)
    assert _errno(lambda: vcpu.finalize(abi.KVM_ARM_VCPU_SVE)) == errno.ENOEXEC


def test_psci_complete_before_the_rec_exists_reaches_the_rmm() -> None:
    vcpu = _vcpu("created")
    mpidr = vcpu.get_reg(regs.parse_register("MPIDR_EL1")) & 0xFF_00FF_FFFF
    assert _errno(lambda: vcpu.psci_complete(mpidr, 0)) == errno.EINVAL  # RMM: bad input
    assert _errno(lambda: vcpu.psci_complete(0x77, 0)) == errno.EINVAL  # no such MPIDR
    normal = _machine(realm=False).vcpu
    assert normal is not None
    assert _errno(lambda: normal.psci_complete(0, 0)) == errno.EPERM  # not a REC


def test_init_ripas_wrapped_range_is_einval_even_after_activation() -> None:
    m = _machine("active")
    assert m.vm is not None
    assert _errno(lambda: m.vm.rme_init_ripas(0x8000_0000, (1 << 64) - 0x1000)) == errno.EINVAL
    assert _errno(lambda: m.vm.rme_init_ripas(0x8000_0000, 0x1000)) == errno.EPERM


def test_init_ripas_misaligned_is_the_rmms_error() -> None:
    m = DemoMachine(SimKernel(), MachineSpec())
    m.build()
    assert m.vm is not None
    m.vm.rme_create_realm()
    assert _errno(lambda: m.vm.rme_init_ripas(0x8000_0800, 0x1000)) == errno.ENXIO


# --- 9. what the guest reads of ID_AA64DFR0_EL1 -----------------------------------------------

def test_the_realm_reads_the_hardware_dfr0_with_ctx_trace_spe_brbe_cleared() -> None:
    m = _machine("new")
    assert m.vcpu is not None
    m.vcpu.set_reg(regs.ID_AA64DFR0_EL1, 0x1010_5006)  # a realm parameter, not the guest's view
    m.create_realm()
    m.finalize_rec()
    view = peek.rec_now(m.kernel, m.vcpu.fd)
    assert view is not None
    hw = SimHost().id_aa64dfr0
    assert view.regs[regs.ID_AA64DFR0_EL1] == hw & ~(0xF << 28)


# --- 10. the RMM's own answers to the realm -------------------------------------------------------

def _realm_calls(*calls: tuple[int, ...]) -> guests.Program:
    """A realm guest that makes each SMC (x0..xn as given, the rest of x1-x4 set to junk) and
    writes x0, x1, x2 and x4 to the UART after each."""
    asm = a64.Assembler(guests.REALM_RAM_BASE)
    asm.emit(*a64.mov_imm(a64.X[20], guests.REALM_UART_IPA))
    for call in calls:
        for n in range(5):
            asm.emit(*a64.mov_imm(a64.X[n], call[n] if n < len(call) else 0xBAD0 + n))
        asm.emit(a64.smc(0))
        for n in (0, 1, 2, 4):
            asm.emit(a64.str_(a64.X[n], a64.X[20]))
    asm.label("end")
    asm.b("end")
    built = asm.assemble()
    image = built.image.ljust(0x1000, b"\0")
    return guests.Program("calls", built.base, built.base, image, tuple(built.lines), ())


def _answers(*calls: tuple[int, ...]) -> list[tuple[int, ...]]:
    m = _machine("active", program=_realm_calls(*calls))
    assert m.vcpu is not None
    out = []
    for _ in calls:
        row = []
        for _ in range(4):
            e = m.vcpu.run()
            assert isinstance(e, MmioExit), e  # no exit to the host between the answers
            row.append(e.data)
        out.append(tuple(row))
    return out


NEG = (1 << 64)


def test_the_rmm_answers_psci_in_x0_to_x4() -> None:
    mpidr0 = 0  # vCPU 0's MPIDR_EL1 affinity (KVM's reset value 0x80000000 without bit 31)
    psci_version, features_on, features_version, cpu_on_self, aff_self = _answers(
        (0x8400_0000,),
        (0x8400_000A, 0xC400_0003),
        (0x8400_000A, 0x8400_0000),
        (0xC400_0003, mpidr0, guests.REALM_RAM_BASE, 0),
        (0xC400_0004, mpidr0, 0),
    )
    assert psci_version == (0x1_0001, 0, 0, 0)
    assert features_on == (0, 0, 0, 0)
    assert features_version == (NEG - 1, 0, 0, 0)  # PSCI_VERSION is not in psci_features
    assert cpu_on_self == (NEG - 4, 0, 0, 0)  # ALREADY_ON, without an exit
    assert aff_self == (0, 0, 0, 0)  # ON


def test_cpu_on_checks_the_entry_point_first() -> None:
    (unprotected,) = _answers((0xC400_0003, 0, guests.REALM_UART_IPA, 0))
    assert unprotected[0] == NEG - 9  # INVALID_ADDRESS
    (other,) = _answers((0xC400_0003, 5, guests.REALM_RAM_BASE, 0))
    assert other[0] == NEG - 2  # INVALID_PARAMETERS: no REC with that MPIDR


def test_ipa_state_get_takes_a_range_and_returns_its_top_and_ripas() -> None:
    base = guests.REALM_RAM_BASE
    ram_top = base + guests.REALM_INIT_RIPAS_SIZE
    (ram,) = _answers((0xC400_0198, base, ram_top + 0x3000))
    assert ram == (0, ram_top, 1, 0)
    (empty,) = _answers((0xC400_0198, ram_top, ram_top + 0x2000))
    assert empty == (0, ram_top + 0x2000, 0, 0)
    (bad,) = _answers((0xC400_0198, base + 1, base + 0x1000))
    assert bad[0] == 1  # RSI_ERROR_INPUT


# --- 12. the seed's register list -----------------------------------------------------------------

def test_seed_reg_list_is_eperm_until_the_rec_runs_in_an_active_realm() -> None:
    for stage in STAGES[:3]:
        vcpu = _vcpu(stage, series=RealmSeries.SEED)
        assert _errno(vcpu.reg_list) == errno.EPERM, stage


def test_seed_reg_list_once_finalized_is_upstreams_full_list() -> None:
    ids = _vcpu("active", series=RealmSeries.SEED).reg_list()
    assert regs.parse_register("SCTLR_EL1") in ids
    assert regs.fw_id(0) in ids  # firmware registers: no v9-40 to hide them
    full = _vcpu("active").reg_list()
    assert regs.parse_register("SCTLR_EL1") not in full


def test_the_session_shows_the_seeds_core_registers_until_the_kernel_lists() -> None:
    from realmtui.context import Profile
    from realmtui.session import Session, SessionConfig, Stage

    s = Session(SessionConfig(profile=Profile.SEED, start=Stage.REC_CREATED))
    names = {r.info.name for r in s.current.regs}
    assert "x0" in names and "SCTLR_EL1" not in names
    assert s.list_note is not None and "EPERM" in s.list_note
    assert all(r.value is not None for r in s.current.regs)  # read one by one, all readable
    assert s.advance().ok  # activate: now the kernel lists, upstream's full list
    assert s.list_note is None
    assert "SCTLR_EL1" in {r.info.name for r in s.current.regs}
