"""Access rules: what a KVM_SET_ONE_REG of a register would do *now*, and why.

`verdict(reg, ctx, value, current)` is a pure function of the register, the VcpuContext and --
when they are known -- the value to be written and the one the register holds. It predicts; the
kernel decides (DESIGN.md, "Rules predict, the kernel decides"). Every rule here is read from
the patches and from TF-RMM, never from backends/sim/, so that the agreement test between the
two accounts means something.

Sources (keys as in reference/cca-semantics.md):
- [PATCH v9 NN/43], Steven Price, 2025-06-11, the KVM CCA host series (targets RMM v1.0);
- TF-RMM at tag rmm-spec-v1.0-rel0 (what the RMM consumes at REC_CREATE and REC_ENTER);
- upstream arm64 KVM (arch/arm64/kvm/guest.c, sys_regs.c, hypercalls.c) for normal VMs.

Realm levels: refused (SET_ONE_REG fails), ignored (accepted, but nothing reads the value
before the guest runs again), effective (accepted and the guest sees it). Normal-VM levels:
writable, read-only (a new value does not stick).
"""

from __future__ import annotations

from backends import abi, reg_ids
from realmtui import profiles
from realmtui.context import ExitCause, Profile, RealmState, VcpuContext
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
    RegClass,
    RegFeature,
    RegInfo,
    feature_of,
    sysreg_fields,
    v_id,
    x_id,
)
from realmtui.verdict import Access, Verdict

# --- sources ----------------------------------------------------------------------------------

P22 = "validate_realm_set_reg, [PATCH v9 22/43] KVM: arm64: Validate register access for a Realm VM"
P22_COMMENT = "kvm_realm_validate_core_reg comment, [PATCH v9 22/43]"
P11 = "kvm_create_rec, [PATCH v9 11/43] arm64: RME: Allocate/free RECs to match vCPUs"
P16 = "kvm_rec_pre_enter, [PATCH v9 16/43] arm64: RME: Handle realm enter/exit"
P17 = "kvm_complete_ripas_change, [PATCH v9 17/43] arm64: RME: Handle RMI_EXIT_RIPAS_CHANGE"
P18 = "kvm_handle_mmio_return, [PATCH v9 18/43] KVM: arm64: Handle realm MMIO emulation"
P32 = "set_pmcr, [PATCH v9 32/43] arm64: RME: Enable PMU support with a realm guest"
P36 = "[PATCH v9 36/43] arm64: RME: Initialize PMCR.N with number counter supported by RMM"
P35 = "set_id_reg, [PATCH v9 35/43] arm64: RME: Set breakpoint parameters through SET_ONE_REG"
P38 = "set_sve_vls, [PATCH v9 38/43] arm64: RME: Configure max SVE vector length for a Realm"
RMM_REC = "TF-RMM runtime/rmi/rec.c (RMI_REC_CREATE)"
# v12 on (cca-uapi-v12-v16.md C12, O4): the first KVM_RUN creates every REC.
ACTIVATE = "kvm_activate_realm / kvm_create_rec, [PATCH v12-v14] (cca-uapi-v12-v16.md C12, O4)"
V14_PMCR = "validate_realm_set_reg, [PATCH v14 41/44] (cca-uapi-v12-v16.md C1, C10)"
RMM_RUN = "TF-RMM runtime/rmi/run.c (RMI_REC_ENTER)"
RMM_HOST_CALL = "TF-RMM runtime/rmi/run.c, runtime/rsi/host_call.c"

UP_CORE = "set_core_reg, arch/arm64/kvm/guest.c (upstream)"
UP_INVARIANT = "set_invariant_sys_reg, arch/arm64/kvm/sys_regs.c (upstream)"
UP_ID = (
    "set_id_reg, arch/arm64/kvm/sys_regs.c "
    '("KVM: arm64: Allow userspace to change ID registers", v6.7)'
)
UP_DEMUX = "demux_c15_set, arch/arm64/kvm/sys_regs.c (v6.1)"
UP_SYSREG = "kvm_sys_reg_set_user, arch/arm64/kvm/sys_regs.c (upstream)"
UP_FW = "kvm_arm_set_fw_reg, arch/arm64/kvm/hypercalls.c (upstream)"
UP_FW_BMAP = "kvm_arm_set_fw_reg_bmap, arch/arm64/kvm/hypercalls.c (upstream)"
UP_SVE_VLS = "set_sve_vls, arch/arm64/kvm/guest.c (upstream; get-reg-list rejects_set)"
UP_SVE = "set_sve_reg, arch/arm64/kvm/guest.c (upstream)"
UP_ARCH = "kvm_arm_set_reg, arch/arm64/kvm/guest.c (upstream)"
UP_FEATURE = (
    "sys_regs.c visibility callbacks, guest.c SVE/ptrauth checks (upstream): a register of a "
    "feature the vCPU was not given does not exist"
)
UP_DFR0 = (
    "set_id_aa64dfr0_el1, arch/arm64/kvm/sys_regs.c (upstream; v9-35 adds the BRPs/WRPs checks)"
)
UP_DFR0_MASK = (
    "ID_FILTERED(ID_AA64DFR0_EL1) + arm64_check_features, arch/arm64/kvm/sys_regs.c (upstream; "
    "-E2BIG reaches userspace as EINVAL)"
)

# --- register sets ----------------------------------------------------------------------------

# [PATCH v9 22/43] kvm_realm_validate_core_reg: core offsets regs[0]..regs[30] and pc pass.
_GPRS: dict[int, int] = {x_id(n): n for n in range(31)}

# REC_CREATE takes rec_params.gprs[0..7] (REC_CREATE_NR_GPRS 8, [PATCH v9 03/43]; TF-RMM
# runtime/rmi/rec.c copies gprs[0..7] and zeroes x8-x30).
_REC_CREATE_NR_GPRS = 8


_CORE_IDS: frozenset[int] = frozenset(
    [*_GPRS, SP, PC, PSTATE, SP_EL1, ELR_EL1, *SPSR, *(v_id(n) for n in range(32)), FPSR, FPCR]
)
_VREGS: frozenset[int] = frozenset(v_id(n) for n in range(32))

# sys_regs.c invariant_sys_regs[] and the cache-geometry registers kept invariant with them.
_INVARIANT: dict[tuple[int, int, int, int, int], str] = {
    (3, 0, 0, 0, 0): "MIDR_EL1",
    (3, 0, 0, 0, 6): "REVIDR_EL1",
    (3, 1, 0, 0, 7): "AIDR_EL1",
    (3, 1, 0, 0, 1): "CLIDR_EL1",
    (3, 3, 0, 0, 1): "CTR_EL0",
}

_FW_PSCI_VERSION = 0
_FW_WORKAROUNDS = range(1, 5)  # SMCCC_ARCH_WORKAROUND_1..4

_NO_REC_ANYMORE = (RealmState.ACTIVE, RealmState.DYING, RealmState.DEAD)
_NOT_RUNNING = (RealmState.DYING, RealmState.DEAD)


def verdict(
    reg: RegInfo, ctx: VcpuContext, value: int | None = None, current: int | None = None
) -> Verdict:
    """What a KVM_SET_ONE_REG of `reg` would do now, for the vCPU described by `ctx`.

    Without `value` the verdict is for "a sensible new value"; with it (and `current`, what
    the register holds) the rules that look at the value apply: ID_AA64DFR0_EL1's checks, and
    an immutable register's acceptance of the value it already has."""
    if ctx.is_realm:
        return _realm(reg, ctx, value, current)
    return _normal(reg, ctx, value, current)


def _missing_feature(reg: RegInfo, ctx: VcpuContext) -> RegFeature | None:
    feature = feature_of(reg.id)
    has = {RegFeature.PMU: ctx.pmu, RegFeature.SVE: ctx.sve, RegFeature.PAUTH: ctx.pauth}
    return feature if feature is not None and not has[feature] else None


def _absent(feature: RegFeature, access: Access) -> Verdict:
    return Verdict(
        access, f"this vCPU was created without {feature}: KVM has no such register",
        UP_FEATURE, "ENOENT",
    )


# === realm VMs ================================================================================


def _realm(reg: RegInfo, ctx: VcpuContext, value: int | None, current: int | None) -> Verdict:
    if reg.id in _GPRS or reg.id == PC:
        return _realm_gpr_pc(reg, ctx)
    if _core_offset_passes_filter(reg):
        # The filter looks only at the core offset; set_core_reg then checks size and
        # alignment ([PATCH v9 22/43] + upstream guest.c).
        return Verdict(
            Access.REFUSED,
            "passes the realm filter by offset, but set_core_reg rejects its size or alignment",
            f"{UP_CORE}, after {P22}",
            "EINVAL",
        )
    if ctx.profile.full_series and reg.id in _settable(ctx.profile):
        # These pass validate_realm_set_reg; the register's own handler comes next.
        if missing := _missing_feature(reg, ctx):
            return _absent(missing, Access.REFUSED)
        if reg.id == PMCR_EL0:
            return _realm_pmcr(ctx)
        if reg.id == ID_AA64DFR0_EL1:
            return _realm_dfr0(ctx, value, current)
        return _realm_sve_vls(ctx, value)
    return _realm_filtered(reg, ctx)


_SETTABLE_IDS = {"PMCR_EL0": PMCR_EL0, "ID_AA64DFR0_EL1": ID_AA64DFR0_EL1,
                 "KVM_REG_ARM64_SVE_VLS": SVE_VLS}


def _settable(profile: Profile) -> tuple[int, ...]:
    """The realm parameters the profile's validate_realm_set_reg lets through."""
    return tuple(_SETTABLE_IDS[name] for name in profiles.info(profile).settable)


def _core_offset_passes_filter(reg: RegInfo) -> bool:
    if reg.cls is not RegClass.CORE:
        return False
    # kvm_realm_validate_core_reg on core_reg_offset_from_id (bits 28-31 included).
    off = reg_ids.core_reg_offset_from_id(reg.id)
    return off <= reg_ids.OFF_X[30] or off == reg_ids.OFF_PC


def _realm_filtered(reg: RegInfo, ctx: VcpuContext) -> Verdict:
    """[PATCH v9 22/43]: kvm_arm_set_reg returns -EINVAL unless validate_realm_set_reg passes."""
    if ctx.profile is Profile.SEED:
        if reg.id in (PMCR_EL0, ID_AA64DFR0_EL1, SVE_VLS):
            # Profile seed is patch 22 alone; the realm parameters come later in the series
            # (PMCR_EL0 v9-32, ID_AA64DFR0_EL1 v9-35, SVE_VLS v9-38).
            reason = "patch 22 alone takes only x0-x30 and PC; this realm parameter comes later"
        else:
            reason = "KVM refuses all but x0-x30 and PC on a realm"
    elif reg.id == PMCR_EL0 and PMCR_EL0 not in _settable(ctx.profile):
        return Verdict(
            Access.REFUSED,
            f"{ctx.profile} took PMCR_EL0 out of the realm allow-list with the realm PMU",
            V14_PMCR, "EINVAL",
        )
    else:
        reason = "KVM refuses all but x0-x30, PC and a few realm parameters"
    return Verdict(Access.REFUSED, reason, P22, "EINVAL")


# --- x0-x30 and pc ----------------------------------------------------------------------------


def _realm_gpr_pc(reg: RegInfo, ctx: VcpuContext) -> Verdict:
    """x0-x30 and pc always pass the filter ([PATCH v9 22/43], no state check); what becomes
    of the value depends on whether REC_CREATE has taken the registers yet and on the exit
    that the next REC_ENTER completes (cca-semantics.md §3.4, §4.2, §5.3, §5.4)."""
    n = _GPRS.get(reg.id)  # None for pc
    if ctx.last_exit is ExitCause.SHUTDOWN:
        return _ignored_after_shutdown()
    if not ctx.rec_created:
        return _before_rec_create(n, ctx)
    if ctx.realm_state in _NOT_RUNNING:
        return Verdict(
            Access.IGNORED,
            "the realm is being torn down: its REC never runs again",
            f"{P16} (pre-enter needs realm ACTIVE)",
        )
    if n is None:
        return _pc_after_rec_create(ctx)
    return _gpr_after_exit(n, ctx)


def _ignored_after_shutdown() -> Verdict:
    # REC_ENTER on a SYSTEM_OFF realm returns RMI_ERROR_REALM index 1, which handle_rec_exit
    # turns into KVM_EXIT_SHUTDOWN: the realm never runs again.
    return Verdict(
        Access.IGNORED,
        "the realm is SYSTEM_OFF: every REC_ENTER fails, nothing reads this value again",
        f"handle_rec_exit, [PATCH v9 16/43]; {RMM_RUN}",
    )


def _before_rec_create(n: int | None, ctx: VcpuContext) -> Verdict:
    if profiles.info(ctx.profile).implicit:
        return _before_first_run(n)
    if ctx.realm_state in _NO_REC_ANYMORE:
        # KVM_ARM_VCPU_FINALIZE(REC) needs realm state NEW (-ENOENT otherwise, v9-11).
        return Verdict(
            Access.IGNORED,
            "this vCPU can no longer become a REC (FINALIZE(REC) needs realm NEW)",
            P11,
        )
    if n is None or n < _REC_CREATE_NR_GPRS:
        name = "pc" if n is None else f"x{n}"
        return Verdict(
            Access.EFFECTIVE,
            f"{name} goes into rec_params at REC_CREATE (KVM_ARM_VCPU_FINALIZE(REC))",
            f"{P11}; {RMM_REC}",
        )
    return Verdict(
        Access.IGNORED,
        "REC_CREATE takes only x0-x7 and pc; the RMM starts the REC with x8-x30 zero",
        f"{P11}; {RMM_REC}",
    )


def _before_first_run(n: int | None) -> Verdict:
    """v12 on: kvm_create_rec runs at the first KVM_RUN, from each vCPU's x0-x7 and pc as
    they are then (O4)."""
    name = "pc" if n is None else f"x{n}"
    if n is None or n < _REC_CREATE_NR_GPRS:
        return Verdict(
            Access.EFFECTIVE,
            f"{name} goes into rec_params when the first run creates the REC",
            f"{ACTIVATE}; {RMM_REC}",
        )
    return Verdict(
        Access.IGNORED,
        "the first run's REC_CREATE takes only x0-x7 and pc; the RMM starts x8-x30 at zero",
        f"{ACTIVATE}; {RMM_REC}",
    )


def _pc_after_rec_create(ctx: VcpuContext) -> Verdict:
    # REC_ENTER never takes a PC from the host; the RMM advances pc itself. The kernel comment
    # says "PC can only be set before the realm is activated", but REC_CREATE, which comes
    # before activation, is the last point where the RMM reads it.
    if ctx.realm_state is RealmState.NEW and ctx.last_exit is ExitCause.NONE:
        reason = "REC_CREATE took pc already; the comment's 'before activation' is a step late"
    else:
        reason = "REC_ENTER never reads a pc from the host; the RMM took it at REC_CREATE"
    return Verdict(Access.IGNORED, reason, f"{RMM_RUN}; {P22_COMMENT}")


def _gpr_after_exit(n: int, ctx: VcpuContext) -> Verdict:
    """kvm_rec_pre_enter copies x0-x30 into rec_enter.gprs only after a HOST_CALL or PSCI exit
    ([PATCH v9 16/43]); the RMM reads them only for a pending host call (TF-RMM run.c)."""
    match ctx.last_exit:
        case ExitCause.HOST_CALL:
            return Verdict(
                Access.EFFECTIVE,
                f"after a host call KVM copies x0-x30 to rec_enter and the RMM writes x{n} "
                "into the guest's RsiHostCall.gprs",
                f"{P16}; {RMM_HOST_CALL}",
            )
        case ExitCause.PSCI if not profiles.info(ctx.profile).gprs_after_psci:
            # v14's kvm_rec_pre_enter copies GPRs after HOST_CALL only and completes PSCI
            # itself; x0 only picks CPU_ON's completion status (C5, C6).
            return Verdict(
                Access.IGNORED,
                f"{ctx.profile} copies no GPRs after a PSCI exit: the kernel completes the call "
                "itself (x0 only picks the status of a CPU_ON)",
                f"kvm_rec_pre_enter, [PATCH v14] (cca-uapi-v12-v16.md C5, C6); {RMM_RUN}",
            )
        case ExitCause.PSCI:
            return Verdict(
                Access.IGNORED,
                "after a PSCI exit the kernel copies x0-x30 to rec_enter, but TF-RMM v1.0 "
                "reads none of them; the kernel comment says x0-x6 are used",
                f"{P16}; {P22_COMMENT}; {RMM_RUN}",
            )
        case ExitCause.MMIO_READ:
            via = ", not x0" if n == 0 else ""
            return Verdict(
                Access.IGNORED,
                f"MMIO read data travels in kvm_run.mmio.data{via}: KVM copies no "
                "register to rec_enter after an MMIO exit",
                f"{P18}; {P16}; {RMM_RUN}",
            )
        case ExitCause.MMIO_WRITE:
            return Verdict(
                Access.IGNORED,
                "completing an MMIO write the RMM reads no GPR, it only advances pc",
                f"{P18}; {RMM_RUN}",
            )
        case ExitCause.RIPAS_CHANGE:
            return Verdict(
                Access.IGNORED,
                "after a RIPAS change the RMM sets x0-x2 itself from the host's accept/reject",
                f"{P17}; {RMM_RUN}",
            )
        case ExitCause.NONE:
            return Verdict(
                Access.IGNORED,
                "REC_CREATE already took x0-x7; the first REC_ENTER copies no GPRs",
                f"{P16}; {RMM_REC}",
            )
    return Verdict(
        Access.IGNORED,
        "KVM copies GPRs to rec_enter only after a host call or PSCI exit",
        f"{P16}; {RMM_RUN}",
    )


# --- realm parameters (profile v9) ------------------------------------------------------------


def _realm_created(ctx: VcpuContext) -> bool:
    """kvm_realm_is_created(): realm state != NONE ([PATCH v9 07/43])."""
    return ctx.realm_state is not RealmState.NONE


def _realm_pmcr(ctx: VcpuContext) -> Verdict:
    # v9-32: set_pmcr takes a new N only while !kvm_vm_has_ran_once && !kvm_realm_is_created;
    # N becomes params->pmu_num_ctrs at REALM_CREATE (v9-36 caps it at the RMM's count).
    # The rest of PMCR is guest PMU state, which the RMM resets.
    if not _realm_created(ctx):
        return Verdict(
            Access.EFFECTIVE,
            "only PMCR.N, as the realm parameter pmu_num_ctrs at REALM_CREATE",
            f"{P32}; {P36}",
        )
    if ctx.last_exit is ExitCause.SHUTDOWN:
        return _ignored_after_shutdown()
    return Verdict(
        Access.IGNORED,
        "accepted, but set_pmcr ignores an N change after realm creation; "
        "the RMM resets the rest of the guest's PMU state",
        f"{P32}; {P36}",
    )


# ID_AA64DFR0_EL1 fields (Arm ARM D24.2.59): name -> shift.
_DFR0 = {"DebugVer": 0, "PMUVer": 8, "BRPs": 12, "WRPs": 20, "CTX_CMPs": 28, "DoubleLock": 36}
_DEBUGVER_IMP = 6
# The fields ID_FILTERED leaves writable, with the only value other than the reset value an
# FTR_EXACT field may take (cpufeature.c ftr_id_aa64dfr0); None: FTR_LOWER_SAFE, may go down.
_DFR0_WRITABLE: dict[str, int | None] = {"DebugVer": 6, "PMUVer": 0, "WRPs": None, "DoubleLock": 0}


def _dfr0_field(value: int, name: str) -> int:
    return (value >> _DFR0[name]) & 0xF


def _dfr0_invalid(value: int) -> str | None:
    """set_id_aa64dfr0_el1's own checks, which come before set_id_reg (and its EBUSY):
    DebugVer below Armv8 (upstream), no breakpoints or watchpoints, more context comparators
    than breakpoints ([PATCH v9 35/43])."""
    f = {name: _dfr0_field(value, name) for name in _DFR0}
    if f["DebugVer"] < _DEBUGVER_IMP:
        return f"DebugVer = {f['DebugVer']} is below Armv8 debug (6)"
    if f["BRPs"] == 0:
        return "BRPs = 0"
    if f["WRPs"] == 0:
        return "WRPs = 0"
    if f["CTX_CMPs"] > f["BRPs"]:
        return "CTX_CMPs > BRPs"
    return None


def _dfr0_unwritable(value: int, current: int) -> str | None:
    """arm64_check_features under ID_FILTERED(ID_AA64DFR0_EL1): which field makes a write
    that changes the register invalid. (The kernel compares with the reset value; the rules
    know the current one, which is the same for every field but a lowered WRPs.)"""
    mask = 0
    for name, shift in _DFR0.items():
        new, old = _dfr0_field(value, name), _dfr0_field(current, name)
        if name in _DFR0_WRITABLE:
            mask |= 0xF << shift
            safe = _DFR0_WRITABLE[name]
            if new != old and safe is not None and new != safe:
                return f"{name} may only become {safe}"
            continue
        if new != old:
            return f"{name} is not writable"
    if value & ~mask != current & ~mask:
        return "only DoubleLock, WRPs, PMUVer and DebugVer are writable"
    return None


def _dfr0_refusal(value: int | None, current: int | None) -> tuple[str, str] | None:
    """(reason, source) of an EINVAL for this DFR0 value, or None."""
    if value is None:
        return None
    if why := _dfr0_invalid(value):
        return f"{why}: refused before anything else", UP_DFR0
    if current is not None and (why := _dfr0_unwritable(value, current)):
        return why, UP_DFR0_MASK
    return None


def _realm_dfr0(ctx: VcpuContext, value: int | None, current: int | None) -> Verdict:
    # v9-34/35: BRPs and WRPs become the realm parameters num_bps/num_wps at REALM_CREATE (RMM
    # 1.0 has no context-comparator parameter); ID registers are immutable once the realm is
    # created (EBUSY for a different value), but set_id_aa64dfr0_el1's checks come first.
    created = _realm_created(ctx)
    if refusal := _dfr0_refusal(value, None if created else current):
        return Verdict(Access.REFUSED, refusal[0], f"{refusal[1]}; {P35}", "EINVAL")
    if not created:
        return Verdict(
            Access.EFFECTIVE,
            "WRPs becomes the realm parameter num_wps at REALM_CREATE (it may only be lowered; "
            "BRPs and CTX_CMPs are not writable)",
            f"{P35}; {UP_DFR0_MASK}",
        )
    if value is not None and value == current:
        return Verdict(
            Access.IGNORED, "the value it already holds: set_id_reg accepts it, nothing changes",
            P35,
        )
    return Verdict(
        Access.REFUSED,
        "fixed once the realm is created: a different valid value gets EBUSY "
        "(an invalid one EINVAL), the same value back succeeds",
        P35,
        "EBUSY",
    )


def _sve_vls_invalid(value: int | None) -> str | None:
    """guest.c set_sve_vls: the lengths up to the maximum must be exactly the ones the host
    offers -- every length, on the hosts this tool knows -- and at least one must be set."""
    if value is None:
        return None
    if value == 0:
        return "no vector length set"
    if value & (value + 1):
        return "the set must be every length up to its maximum (the host's own lengths)"
    return None


def _realm_sve_vls(ctx: VcpuContext, value: int | None) -> Verdict:
    # v9-37/38: the vector length is a realm parameter (sve_vl) at REALM_CREATE; the RMM's
    # maximum caps it (-EINVAL above), and a write after realm creation gets -EPERM, before
    # the value is looked at.
    if not _realm_created(ctx) and (why := _sve_vls_invalid(value)):
        return Verdict(Access.REFUSED, why, f"{P38}; {UP_SVE_VLS}", "EINVAL")
    if not _realm_created(ctx):
        return Verdict(
            Access.EFFECTIVE,
            "the max vector length becomes the realm parameter sve_vl at REALM_CREATE",
            P38,
        )
    return Verdict(
        Access.REFUSED,
        "the vector length is fixed once the realm is created",
        P38,
        "EPERM",
    )


# === normal VMs (upstream arm64 KVM) ==========================================================


def _normal(reg: RegInfo, ctx: VcpuContext, value: int | None, current: int | None) -> Verdict:
    if reg.id & abi.KVM_REG_ARCH_MASK != abi.KVM_REG_ARM64:
        return Verdict(Access.READ_ONLY, "not an arm64 register id", UP_ARCH, "EINVAL")
    if missing := _missing_feature(reg, ctx):
        return _absent(missing, Access.READ_ONLY)
    match reg.cls:
        case RegClass.CORE:
            return _normal_core(reg, ctx)
        case RegClass.SYSREG:
            if reg.id == ID_AA64DFR0_EL1 and (refusal := _dfr0_refusal(
                value, None if ctx.has_run else current
            )):
                return Verdict(Access.READ_ONLY, refusal[0], refusal[1], "EINVAL")
            return _normal_sysreg(reg, ctx)
        case RegClass.DEMUX:
            # v6.1 demux_c15_set: "This is also invariant: you can't change it."
            return Verdict(
                Access.READ_ONLY, "cache geometry is invariant: a different value gets EINVAL",
                UP_DEMUX, "EINVAL",
            )
        case RegClass.FW:
            return _normal_fw(reg)
        case RegClass.FW_FEAT_BMAP:
            return _normal_fw_bmap(ctx)
        case RegClass.SVE:
            return _normal_sve(reg)
    return Verdict(Access.READ_ONLY, "KVM knows no such register", UP_SYSREG, "ENOENT")


def _normal_core(reg: RegInfo, ctx: VcpuContext) -> Verdict:
    if reg.id not in _CORE_IDS:
        # set_core_reg: offset out of struct kvm_regs -> -ENOENT; wrong size/alignment -> -EINVAL.
        off = reg_ids.core_reg_offset_from_id(reg.id)
        errno = "ENOENT" if off >= reg_ids.NR_CORE_WORDS else "EINVAL"
        return Verdict(Access.READ_ONLY, "not a valid core register id", UP_CORE, errno)
    if ctx.sve and reg.id in _VREGS:
        # core_reg_size_from_offset: SVE vCPUs must use the Z registers for the V registers.
        return Verdict(
            Access.READ_ONLY, "with SVE the V registers are written through z0-z31",
            UP_CORE, "EINVAL",
        )
    if reg.id == PSTATE:
        return Verdict(
            Access.WRITABLE, "KVM rejects only an invalid mode (EINVAL)", f"{UP_CORE} (PSTATE)"
        )
    return Verdict(Access.WRITABLE, "a core register: KVM stores it", UP_CORE)


def _is_feature_id_reg(fields: tuple[int, int, int, int, int]) -> bool:
    """The ID register space op0=3, op1=0, CRn=0, CRm=1..7 (MPIDR_EL1, CRm=0, is not in it)."""
    op0, op1, crn, crm, _op2 = fields
    return op0 == 3 and op1 == 0 and crn == 0 and 1 <= crm <= 7


def _normal_sysreg(reg: RegInfo, ctx: VcpuContext) -> Verdict:
    fields = sysreg_fields(reg.id)
    if name := _INVARIANT.get(fields):
        return Verdict(
            Access.READ_ONLY,
            f"{name} is invariant: a different value gets EINVAL",
            UP_INVARIANT,
            "EINVAL",
        )
    if _is_feature_id_reg(fields):
        if ctx.has_run:
            return Verdict(
                Access.READ_ONLY,
                "ID registers are fixed after the VM first ran: a different value gets EBUSY",
                UP_ID,
                "EBUSY",
            )
        return Verdict(
            Access.WRITABLE,
            "before the first run; only the fields KVM allows, within the host's values",
            UP_ID,
        )
    return Verdict(Access.WRITABLE, "KVM stores it", UP_SYSREG)


def _normal_fw(reg: RegInfo) -> Verdict:
    index = reg.id & 0xFFFF
    if index == _FW_PSCI_VERSION:
        return Verdict(
            Access.WRITABLE,
            "only to a PSCI version valid for the vCPU (else EINVAL)",
            UP_FW,
        )
    if index in _FW_WORKAROUNDS:
        return Verdict(
            Access.READ_ONLY,
            "KVM accepts a level up to the host's but keeps its own (EINVAL above it)",
            UP_FW,
            "EINVAL",
        )
    return Verdict(Access.READ_ONLY, "KVM knows no such firmware register", UP_FW, "ENOENT")


def _normal_fw_bmap(ctx: VcpuContext) -> Verdict:
    if ctx.has_run:
        return Verdict(
            Access.READ_ONLY,
            "hypercall bitmaps are fixed after the VM first ran: a different value gets EBUSY",
            UP_FW_BMAP,
            "EBUSY",
        )
    return Verdict(
        Access.WRITABLE, "before the first run; only services KVM offers (else EINVAL)",
        UP_FW_BMAP,
    )


def _normal_sve(reg: RegInfo) -> Verdict:
    if reg.id == SVE_VLS:
        return Verdict(
            Access.READ_ONLY,
            "immutable once SVE is finalized, and a vCPU that lists it is finalized",
            UP_SVE_VLS,
            "EPERM",
        )
    return Verdict(Access.WRITABLE, "KVM stores it (finalized SVE vCPU)", UP_SVE)
