"""The access rules, walked through the realm demo's stages and exits (DESIGN.md) and checked
against the v9 series and TF-RMM v1.0 as reference/cca-semantics.md reads them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.sysreg_encodings import SYSREGS
from realmtui.context import ExitCause, Profile, RealmState, VcpuContext, VmKind
from realmtui.regs import (
    ELR_EL1,
    FPCR,
    FPSR,
    ID_AA64DFR0_EL1,
    PC,
    PMCR_EL0,
    PSTATE,
    SP,
    SP_EL1,
    SPSR,
    SVE_VLS,
    RegInfo,
    core_id,
    demux_ccsidr_id,
    describe,
    fw_bmap_id,
    fw_id,
    sve_ffr_id,
    sve_preg_id,
    sve_zreg_id,
    sysreg_id,
    v_id,
    x_id,
)
from realmtui.rules import verdict
from realmtui.verdict import Access, Verdict

REFUSED, IGNORED, EFFECTIVE = Access.REFUSED, Access.IGNORED, Access.EFFECTIVE
WRITABLE, READ_ONLY = Access.WRITABLE, Access.READ_ONLY


def reg(name_or_id: str | int) -> RegInfo:
    if isinstance(name_or_id, int):
        return describe(name_or_id)
    return describe(sysreg_id(*SYSREGS[name_or_id]))


def realm(
    state: RealmState,
    rec: bool,
    last_exit: ExitCause = ExitCause.NONE,
    profile: Profile = Profile.V9,
) -> VcpuContext:
    return VcpuContext(
        vm=VmKind.REALM,
        profile=profile,
        realm_state=state,
        rec_created=rec,
        last_exit=last_exit,
        has_run=last_exit is not ExitCause.NONE,
        sve=True,
        pmu=True,
    )


# The realm demo, in order: configure, create, FINALIZE(REC), ACTIVATE, then each exit.
STAGES: dict[str, tuple[RealmState, bool, ExitCause]] = {
    "before-create": (RealmState.NONE, False, ExitCause.NONE),
    "created": (RealmState.NEW, False, ExitCause.NONE),
    "rec-created": (RealmState.NEW, True, ExitCause.NONE),
    "active": (RealmState.ACTIVE, True, ExitCause.NONE),
    **{f"exit-{c.value}": (RealmState.ACTIVE, True, c) for c in ExitCause if c != ExitCause.NONE},
}


def stage(name: str, profile: Profile = Profile.V9) -> VcpuContext:
    state, rec, last_exit = STAGES[name]
    return realm(state, rec, last_exit, profile)


def test_stages_cover_every_exit_cause() -> None:
    assert {STAGES[s][2] for s in STAGES} == set(ExitCause)


# --- the table: x0, x8, x30, pc, sp, PMCR_EL0, ID_AA64DFR0_EL1, SVE_VLS at every stage ----------

_ALL_IGNORED = (IGNORED, IGNORED, IGNORED, IGNORED)
# (x0, x8, x30, pc); sp is refused everywhere and checked separately.
GPR_TABLE: dict[str, tuple[Access, Access, Access, Access]] = {
    "before-create": (EFFECTIVE, IGNORED, IGNORED, EFFECTIVE),
    "created": (EFFECTIVE, IGNORED, IGNORED, EFFECTIVE),
    "rec-created": _ALL_IGNORED,
    "active": _ALL_IGNORED,
    "exit-mmio-read": _ALL_IGNORED,
    "exit-mmio-write": _ALL_IGNORED,
    "exit-host-call": (EFFECTIVE, EFFECTIVE, EFFECTIVE, IGNORED),
    "exit-psci": _ALL_IGNORED,
    "exit-ripas-change": _ALL_IGNORED,
    "exit-shutdown": _ALL_IGNORED,
    "exit-other": _ALL_IGNORED,
}

# (PMCR_EL0, ID_AA64DFR0_EL1, SVE_VLS) under profile v9, as (access, errno).
PARAM_TABLE: dict[str, tuple[tuple[Access, str | None], ...]] = {
    "before-create": ((EFFECTIVE, None), (EFFECTIVE, None), (EFFECTIVE, None)),
    **{
        s: ((IGNORED, None), (REFUSED, "EBUSY"), (REFUSED, "EPERM"))
        for s in STAGES
        if s != "before-create"
    },
}


def test_tables_cover_every_stage() -> None:
    assert set(GPR_TABLE) == set(STAGES) == set(PARAM_TABLE)


@pytest.mark.parametrize("name", list(STAGES))
def test_gprs_and_pc_per_stage(name: str) -> None:
    ctx = stage(name)
    got = tuple(verdict(reg(r), ctx).access for r in (x_id(0), x_id(8), x_id(30), PC))
    assert got == GPR_TABLE[name]


@pytest.mark.parametrize("name", list(STAGES))
def test_realm_parameters_per_stage_v9(name: str) -> None:
    ctx = stage(name)
    params = (PMCR_EL0, ID_AA64DFR0_EL1, SVE_VLS)
    got = tuple((v.access, v.errno) for v in (verdict(reg(r), ctx) for r in params))
    assert got == PARAM_TABLE[name]


@pytest.mark.parametrize("name", list(STAGES))
@pytest.mark.parametrize("profile", list(Profile))
def test_realm_parameters_refused_under_seed(name: str, profile: Profile) -> None:
    for r in (PMCR_EL0, ID_AA64DFR0_EL1, SVE_VLS):
        v = verdict(reg(r), stage(name, profile))
        if profile is Profile.SEED:
            assert (v.access, v.errno) == (REFUSED, "EINVAL")
            assert "22/43" in v.source
        elif profile is Profile.V14 and r == PMCR_EL0:
            # [PATCH v14 41/44]: PMCR_EL0 left the allow-list (cca-uapi-v12-v16.md C1, C10).
            assert (v.access, v.errno) == (REFUSED, "EINVAL") and "v14 41/44" in v.source
        else:
            assert v.errno != "EINVAL"


# --- the demo's lessons, one by one ----------------------------------------------------------


@pytest.mark.parametrize("n", range(8))
def test_x0_to_x7_reach_rec_create(n: int) -> None:
    for name in ("before-create", "created"):
        v = verdict(reg(x_id(n)), stage(name))
        assert v.access is EFFECTIVE
        assert "REC_CREATE" in v.reason
        assert "11/43" in v.source and "rec.c" in v.source


@pytest.mark.parametrize("n", range(8, 31))
def test_x8_to_x30_do_not_reach_rec_create(n: int) -> None:
    v = verdict(reg(x_id(n)), stage("created"))
    assert v.access is IGNORED
    assert "x0-x7" in v.reason


@pytest.mark.parametrize("name", [s for s in STAGES if STAGES[s][1]])
def test_pc_ignored_once_the_rec_exists(name: str) -> None:
    v = verdict(reg(PC), stage(name))
    assert v.access is IGNORED
    assert v.errno is None


def test_pc_between_rec_create_and_activate_names_the_stale_comment() -> None:
    v = verdict(reg(PC), stage("rec-created"))
    assert v.access is IGNORED
    assert "activation" in v.reason
    assert "22/43" in v.source and "run.c" in v.source


@pytest.mark.parametrize("n", range(31))
def test_every_gpr_effective_after_a_host_call(n: int) -> None:
    v = verdict(reg(x_id(n)), stage("exit-host-call"))
    assert v.access is EFFECTIVE
    assert "RsiHostCall" in v.reason
    assert "16/43" in v.source and "host_call.c" in v.source


def test_x0_ignored_after_an_mmio_read() -> None:
    v = verdict(reg(x_id(0)), stage("exit-mmio-read"))
    assert v.access is IGNORED
    assert "mmio.data" in v.reason and "x0" in v.reason
    other = verdict(reg(x_id(5)), stage("exit-mmio-read"))
    assert other.access is IGNORED and "not" not in other.reason.split(":")[0]


@pytest.mark.parametrize("r", [*(x_id(n) for n in range(31)), PC])
def test_everything_ignored_after_psci_and_reason_says_both(r: int) -> None:
    v = verdict(reg(r), stage("exit-psci"))
    assert v.access is IGNORED
    if r != PC:
        assert "TF-RMM" in v.reason
        assert "x0-x6" in v.reason and "comment" in v.reason
        assert "22/43" in v.source and "run.c" in v.source


@pytest.mark.parametrize("name", ["exit-mmio-write", "exit-ripas-change", "exit-other"])
def test_other_exits_take_no_gpr(name: str) -> None:
    for n in range(31):
        assert verdict(reg(x_id(n)), stage(name)).access is IGNORED


def test_after_shutdown_no_accepted_write_is_effective() -> None:
    ctx = stage("exit-shutdown")
    for r in ALL_IDS:
        v = verdict(describe(r), ctx)
        assert v.access is not EFFECTIVE
    assert "SYSTEM_OFF" in verdict(reg(x_id(0)), ctx).reason


REFUSED_EVERYWHERE = [
    SP, PSTATE, SP_EL1, ELR_EL1, *SPSR, v_id(0), v_id(31), FPSR, FPCR,
    reg("SCTLR_EL1").id, reg("MPIDR_EL1").id, reg("MIDR_EL1").id,
    reg("CNTV_CTL_EL0").id, reg("CNTV_CVAL_EL0").id, reg("CNTVCT_EL0").id,
    reg("CNTP_CTL_EL0").id, reg("CNTP_CVAL_EL0").id, reg("CNTPCT_EL0").id,
    fw_id(0), fw_id(1), fw_id(2), fw_id(3), fw_bmap_id(0), fw_bmap_id(1), fw_bmap_id(2),
    sve_zreg_id(0), sve_preg_id(0), sve_ffr_id(0), demux_ccsidr_id(0),
]


@pytest.mark.parametrize("r", REFUSED_EVERYWHERE, ids=lambda r: describe(r).name)
@pytest.mark.parametrize("profile", list(Profile))
def test_refused_einval_in_every_state(r: int, profile: Profile) -> None:
    for name in STAGES:
        v = verdict(reg(r), stage(name, profile))
        assert (v.access, v.errno) == (REFUSED, "EINVAL"), name
        assert "validate_realm_set_reg" in v.source and "22/43" in v.source


def test_refusal_reason_names_what_is_allowed() -> None:
    v9 = verdict(reg(SP), stage("active"))
    seed = verdict(reg(SP), stage("active", Profile.SEED))
    assert "x0-x30" in v9.reason and "realm parameters" in v9.reason
    assert "x0-x30" in seed.reason and "realm parameters" not in seed.reason


def test_wrong_size_gpr_id_passes_the_filter_then_fails() -> None:
    v = verdict(describe(core_id(0, 4)), stage("before-create"))
    assert (v.access, v.errno) == (REFUSED, "EINVAL")
    assert "set_core_reg" in v.source


def test_pmcr_effective_reason_is_only_n() -> None:
    v = verdict(reg(PMCR_EL0), stage("before-create"))
    assert "PMCR.N" in v.reason and "pmu_num_ctrs" in v.reason
    assert "32/43" in v.source


def test_dfr0_reasons() -> None:
    before = verdict(reg(ID_AA64DFR0_EL1), stage("before-create"))
    after = verdict(reg(ID_AA64DFR0_EL1), stage("created"))
    assert "BRPs and CTX_CMPs are not writable" in before.reason
    assert "same value" in after.reason
    assert "35/43" in before.source and "35/43" in after.source


DFR0_NOW = 0x1030_5006  # DebugVer 6, BRPs 5, WRPs 3, CTX_CMPs 1


@pytest.mark.parametrize("value,field", [
    (0, "DebugVer = 0"),
    (0x1030_0006, "BRPs = 0"),
    (0x1000_5006, "WRPs = 0"),
    (0x7030_5006, "CTX_CMPs > BRPs"),
    (0x1030_4006, "BRPs is not writable"),
    (0x0030_5006, "CTX_CMPs is not writable"),
    (0x1030_5006 | 1 << 4, "only DoubleLock, WRPs, PMUVer and DebugVer are writable"),
])
@pytest.mark.parametrize("where", ["before-create", "normal"])
def test_a_dfr0_value_the_kernel_refuses_is_predicted_with_its_field(
    value: int, field: str, where: str
) -> None:
    """Corrections 2 and 3: the kernel's EINVAL for these, before any EBUSY."""
    ctx = stage(where) if where != "normal" else VcpuContext(vm=VmKind.NORMAL)
    v = verdict(reg(ID_AA64DFR0_EL1), ctx, value, DFR0_NOW)
    assert (v.access, v.errno) == ((REFUSED if ctx.is_realm else READ_ONLY), "EINVAL")
    assert field in v.reason


def test_dfr0_after_creation_einval_for_an_invalid_value_then_ebusy() -> None:
    ctx = stage("created")
    assert verdict(reg(ID_AA64DFR0_EL1), ctx, 0, DFR0_NOW).errno == "EINVAL"
    assert verdict(reg(ID_AA64DFR0_EL1), ctx, 0x1020_5006, DFR0_NOW).errno == "EBUSY"
    same = verdict(reg(ID_AA64DFR0_EL1), ctx, DFR0_NOW, DFR0_NOW)
    assert same.access is IGNORED
    lower_wrps = verdict(reg(ID_AA64DFR0_EL1), stage("before-create"), 0x1020_5006, DFR0_NOW)
    assert lower_wrps.access is EFFECTIVE


@pytest.mark.parametrize("name_or_id,pmu,sve", [
    (PMCR_EL0, False, True), (SVE_VLS, True, False),
])
def test_a_realm_parameter_the_vcpu_lacks_is_enoent(name_or_id: int, pmu: bool, sve: bool) -> None:
    ctx = VcpuContext(vm=VmKind.REALM, pmu=pmu, sve=sve)
    v = verdict(reg(name_or_id), ctx)
    assert (v.access, v.errno) == (REFUSED, "ENOENT")
    assert ("PMU" if not pmu else "SVE") in v.reason


@pytest.mark.parametrize("r", [PMCR_EL0, sysreg_id(3, 3, 14, 8, 0), sve_zreg_id(0), SVE_VLS,
                               sysreg_id(3, 0, 1, 2, 0), sysreg_id(3, 0, 2, 1, 0)])
def test_a_normal_register_the_vcpu_lacks_is_enoent(r: int) -> None:
    v = verdict(reg(r), VcpuContext(vm=VmKind.NORMAL))
    assert (v.access, v.errno) == (READ_ONLY, "ENOENT")


def test_sve_vls_source() -> None:
    assert "38/43" in verdict(reg(SVE_VLS), stage("created")).source


# --- normal VMs ------------------------------------------------------------------------------


def normal(has_run: bool, sve: bool = False) -> VcpuContext:
    return VcpuContext(vm=VmKind.NORMAL, has_run=has_run, sve=sve, pmu=True)


@pytest.mark.parametrize(
    "name", ["ID_AA64PFR0_EL1", "ID_AA64DFR0_EL1", "ID_AA64ISAR0_EL1", "ID_AA64MMFR0_EL1"]
)
def test_normal_id_registers_turn_read_only_after_first_run(name: str) -> None:
    assert verdict(reg(name), normal(False)).access is WRITABLE
    v = verdict(reg(name), normal(True))
    assert (v.access, v.errno) == (READ_ONLY, "EBUSY")


def test_mpidr_is_not_an_id_register() -> None:
    for has_run in (False, True):
        assert verdict(reg("MPIDR_EL1"), normal(has_run)).access is WRITABLE


@pytest.mark.parametrize("name", ["MIDR_EL1", "REVIDR_EL1", "AIDR_EL1", "CLIDR_EL1", "CTR_EL0"])
def test_invariant_registers(name: str) -> None:
    for has_run in (False, True):
        v = verdict(reg(name), normal(has_run))
        assert (v.access, v.errno) == (READ_ONLY, "EINVAL")
        assert "set_invariant_sys_reg" in v.source


def test_normal_core_registers_writable() -> None:
    for r in (x_id(0), x_id(30), SP, PC, PSTATE, SP_EL1, ELR_EL1, *SPSR, v_id(5), FPSR, FPCR):
        assert verdict(reg(r), normal(True)).access is WRITABLE
    assert "mode" in verdict(reg(PSTATE), normal(False)).reason


def test_normal_vregs_with_sve_go_through_z() -> None:
    v = verdict(reg(v_id(0)), normal(False, sve=True))
    assert (v.access, v.errno) == (READ_ONLY, "EINVAL")


def test_normal_firmware() -> None:
    assert verdict(reg(fw_id(0)), normal(True)).access is WRITABLE
    for i in (1, 2, 3):
        assert verdict(reg(fw_id(i)), normal(False)).access is READ_ONLY
    assert verdict(reg(fw_bmap_id(0)), normal(False)).access is WRITABLE
    v = verdict(reg(fw_bmap_id(0)), normal(True))
    assert (v.access, v.errno) == (READ_ONLY, "EBUSY")


def test_normal_sve_and_demux() -> None:
    v = verdict(reg(SVE_VLS), normal(False, sve=True))
    assert (v.access, v.errno) == (READ_ONLY, "EPERM")
    for r in (sve_zreg_id(3), sve_preg_id(15), sve_ffr_id(0)):
        assert verdict(reg(r), normal(True, sve=True)).access is WRITABLE
    v = verdict(reg(demux_ccsidr_id(1)), normal(False))
    assert (v.access, v.errno) == (READ_ONLY, "EINVAL")


def test_normal_timers_and_pmu_writable() -> None:
    for name in ("CNTV_CTL_EL0", "CNTV_CVAL_EL0", "CNTVCT_EL0", "PMCR_EL0", "SCTLR_EL1"):
        assert verdict(reg(name), normal(True)).access is WRITABLE


# --- properties ------------------------------------------------------------------------------

ALL_IDS: list[int] = sorted(
    {
        *(x_id(n) for n in range(31)),
        SP, PC, PSTATE, SP_EL1, ELR_EL1, *SPSR, *(v_id(n) for n in range(32)), FPSR, FPCR,
        *(sysreg_id(*enc) for enc in SYSREGS.values()),
        *(fw_id(i) for i in range(5)), *(fw_bmap_id(i) for i in range(4)),
        SVE_VLS, *(sve_zreg_id(n) for n in range(32)), *(sve_preg_id(n) for n in range(16)),
        sve_ffr_id(0), *(demux_ccsidr_id(i) for i in range(4)),
        core_id(0, 4), core_id(1, 8), core_id(0x40, 4), core_id(0x3F0, 8),
    }
)

contexts = st.builds(
    VcpuContext,
    vm=st.sampled_from(list(VmKind)),
    profile=st.sampled_from(list(Profile)),
    realm_state=st.sampled_from(list(RealmState)),
    rec_created=st.booleans(),
    last_exit=st.sampled_from(list(ExitCause)),
    has_run=st.booleans(),
    sve=st.booleans(),
    pmu=st.booleans(),
)
registers = st.one_of(
    st.sampled_from(ALL_IDS),
    st.integers(min_value=0, max_value=(1 << 64) - 1),
    st.integers(min_value=0, max_value=0xFFFF).map(lambda low: 0x6030000000130000 | low),
).map(describe)

REALM_LEVELS = {REFUSED, IGNORED, EFFECTIVE}
NORMAL_LEVELS = {WRITABLE, READ_ONLY}
ERRNOS = {"EINVAL", "EBUSY", "EPERM", "ENOENT"}


@given(registers, contexts)
def test_every_verdict_is_well_formed(r: RegInfo, ctx: VcpuContext) -> None:
    v = verdict(r, ctx)
    assert isinstance(v, Verdict)
    assert v.reason.strip() and "\n" not in v.reason
    assert v.source.strip() and "\n" not in v.source
    assert (v.errno is not None) == (v.access in (REFUSED, READ_ONLY))
    assert v.errno is None or v.errno in ERRNOS
    assert v.access in (REALM_LEVELS if ctx.is_realm else NORMAL_LEVELS)
    assert verdict(r, ctx) == v  # pure


@given(registers, contexts)
def test_realm_effective_only_where_the_documents_say(r: RegInfo, ctx: VcpuContext) -> None:
    """Effective: x0-x7/pc before REC_CREATE, any GPR after a host call, a realm parameter
    before REALM_CREATE. Nothing else on a realm reaches the guest."""
    if not ctx.is_realm or verdict(r, ctx).access is not EFFECTIVE:
        return
    gprs = {x_id(n): n for n in range(31)}
    before_rec = not ctx.rec_created and ctx.realm_state in (RealmState.NONE, RealmState.NEW)
    assert ctx.last_exit is not ExitCause.SHUTDOWN
    assert (
        (before_rec and (r.id == PC or gprs.get(r.id, 99) < 8))
        or (ctx.rec_created and ctx.last_exit is ExitCause.HOST_CALL and r.id in gprs)
        or (
            ctx.profile.full_series
            and ctx.realm_state is RealmState.NONE
            and r.id in (PMCR_EL0, ID_AA64DFR0_EL1, SVE_VLS)
        )
    )


@given(registers, contexts)
def test_realm_accepts_only_the_allowlist(r: RegInfo, ctx: VcpuContext) -> None:
    if not ctx.is_realm:
        return
    allowed = {x_id(n) for n in range(31)} | {PC}
    if ctx.profile.full_series:
        allowed |= {PMCR_EL0, ID_AA64DFR0_EL1, SVE_VLS}
    if r.id not in allowed:
        v = verdict(r, ctx)
        assert (v.access, v.errno) == (REFUSED, "EINVAL")

