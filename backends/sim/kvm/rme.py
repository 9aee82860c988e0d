"""KVM's half of a realm: the realm state machine, REC creation, and what KVM does around
each RMI_REC_ENTER -- copying registers into rec_enter before it.

arch/arm64/kvm/rme.c of the v9 series:
  [PATCH v9 07/43] "arm64: RME: Define the user ABI" / realm creation and its errnos,
  [PATCH v9 11/43] "arm64: RME: Allocate/free RECs to match vCPUs" (REC_CREATE),
  [PATCH v9 15/43] "arm64: RME: ... RIPAS" (INIT_RIPAS), [PATCH v9 19/43] (POPULATE),
  [PATCH v9 16/43] "arm64: RME: Handle realm enter/exit" (kvm_rec_pre_enter, kvm_rec_enter),
  [PATCH v9 17/43] "arm64: RME: Handle RMI_EXIT_RIPAS_CHANGE" (kvm_complete_ripas_change),
  [PATCH v9 23/43] (realm_psci_complete), [PATCH v9 43/43] "KVM: arm64: Allow activating
  realms". What KVM does with each exit is rme_exit.py.
KVM learns about the guest only from rec_exit, exactly as on hardware, so its copy of the
registers is stale for the same reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from backends import abi
from backends.abi import ffi
from backends.arch import GRANULE_SIZE as GRANULE
from backends.arch import MASK64
from backends.sim.errno_ import errno, fail
from backends.sim.kvm import hypercalls, rme_exit
from backends.sim.kvm.memslots import copy_from_user, read_struct
from backends.sim.rmm.smc_rmi import (
    REC_PARAMS_FLAG_RUNNABLE,
    REC_RUN_GPRS,
    RealmParams,
    RecParams,
    RecRun,
    RmiExit,
    RmiStatus,
    rmi_status,
)
from backends.smccc import (
    PSCI_AFFINITY_INFO_64,
    PSCI_ALREADY_ON,
    PSCI_CPU_ON_64,
    PSCI_DENIED,
    PSCI_SUCCESS,
)

if TYPE_CHECKING:
    from backends.sim.kvm.arm import SimVcpu
    from backends.sim.kvm.kvm_main import SimVm



class KvmRealmState(StrEnum):
    """enum realm_state, kvm_rme.h ([PATCH v9 07/43])."""

    NONE = "none"
    NEW = "new"
    ACTIVE = "active"
    DYING = "dying"
    DEAD = "dead"


@dataclass
class KvmRealm:
    state: KvmRealmState = KvmRealmState.NONE
    hash_algo: int = abi.ARM_RME_CONFIG_HASH_ALGO_SHA256
    rpv: bytes = b""
    rd: int | None = None  # the RD granule's address


@dataclass
class KvmRec:
    """vcpu->arch.rec: the REC granule's address and the rec_run page KVM shares with the RMM
    (its address, and KVM's view of its fields)."""

    rec_pa: int | None = None
    run_pa: int = 0
    run: RecRun = field(default_factory=RecRun)
    mpidr: int = 0


# --- KVM_ENABLE_CAP(KVM_CAP_ARM_RME) --------------------------------------------------------


def enable_cap(vm: SimVm, action: int, arg_addr: int) -> int:
    realm = vm.realm
    if realm is None:
        raise fail(errno.EINVAL)  # not a realm VM
    if action == abi.KVM_CAP_ARM_RME_CONFIG_REALM:
        return _config(realm, arg_addr)
    if action == abi.KVM_CAP_ARM_RME_CREATE_REALM:
        return _create(vm, realm)
    if action == abi.KVM_CAP_ARM_RME_INIT_RIPAS_REALM:
        return _init_ripas(vm, realm, arg_addr)
    if action == abi.KVM_CAP_ARM_RME_POPULATE_REALM:
        return _populate(vm, realm, arg_addr)
    if action == abi.KVM_CAP_ARM_RME_ACTIVATE_REALM:
        if realm.state is not KvmRealmState.NEW:
            raise fail(errno.EINVAL)
        assert realm.rd is not None
        if rmi_status(vm.rmi.realm_activate(realm.rd)) != RmiStatus.SUCCESS:
            raise fail(errno.ENXIO)
        realm.state = KvmRealmState.ACTIVE
        return 0
    raise fail(errno.EINVAL)


def _config(realm: KvmRealm, addr: int) -> int:
    if realm.state is not KvmRealmState.NONE:
        raise fail(errno.EBUSY)
    cfg = read_struct(addr, "struct arm_rme_config")
    if cfg.cfg == abi.ARM_RME_CONFIG_RPV:
        realm.rpv = bytes(cfg.rpv)
    elif cfg.cfg == abi.ARM_RME_CONFIG_HASH_ALGO:
        if cfg.hash_algo not in (
            abi.ARM_RME_CONFIG_HASH_ALGO_SHA256,
            abi.ARM_RME_CONFIG_HASH_ALGO_SHA512,
        ):
            raise fail(errno.EINVAL)
        realm.hash_algo = int(cfg.hash_algo)
    else:
        raise fail(errno.EINVAL)
    return 0


def _create(vm: SimVm, realm: KvmRealm) -> int:
    if realm.state is not KvmRealmState.NONE:
        raise fail(errno.EEXIST)
    return _create_rd(vm, realm)


def _create_rd(vm: SimVm, realm: KvmRealm) -> int:
    """realm_create_rd: RMI_REALM_CREATE with the parameters the vCPUs carry now."""
    # The realm parameters come from what the VMM set on the vCPUs before this point:
    # PMCR_EL0.N (v9-32), ID_AA64DFR0_EL1's BRPs/WRPs (v9-34/35), the SVE vector
    # length (v9-38; realm_init_sve_param wants every SVE vCPU finalized).
    vcpus = list(vm.vcpus.values())
    pmu = any(v.has(abi.KVM_ARM_VCPU_PMU_V3) for v in vcpus)
    sve_vcpus = [v for v in vcpus if v.has(abi.KVM_ARM_VCPU_SVE)]
    if any(not v.sve_finalized for v in sve_vcpus):
        raise fail(errno.EINVAL)
    dfr0 = vcpus[0].regs.sysreg("ID_AA64DFR0_EL1") if vcpus else vm.host.id_aa64dfr0
    params = RealmParams(
        ipa_width=vm.ipa_bits,
        hash_algo=realm.hash_algo,
        rpv=realm.rpv,
        pmu_num_ctrs=vm.pmcr_n if pmu else None,
        num_bps=((dfr0 >> 12) & 0xF) + 1,
        num_wps=((dfr0 >> 20) & 0xF) + 1,
        sve_vq=sve_vcpus[0].regs.vls.bit_length() if sve_vcpus else None,
    )
    status, rd = vm.rmi.realm_create(params)
    if rmi_status(status) != RmiStatus.SUCCESS:
        raise fail(errno.ENXIO)  # realm_create_rd: an RMM failure
    realm.rd = rd
    realm.state = KvmRealmState.NEW
    return 0


def _range(addr: int, ctype: str) -> tuple[int, int, Any]:
    s = read_struct(addr, ctype)
    return int(s.base), int(s.size), s


def _init_ripas(vm: SimVm, realm: KvmRealm, addr: int) -> int:
    """kvm_init_ipa_range_realm ([PATCH v9 15/43]): a wrapped range is EINVAL before the
    state check's EPERM; alignment is left to the RMM, whose RMI_ERROR_INPUT KVM WARNs about
    and turns into ENXIO (realm_init_ipa_state)."""
    base, size, _ = _range(addr, "struct arm_rme_init_ripas")
    top = (base + size) & MASK64
    if top < base:
        raise fail(errno.EINVAL)
    if realm.state is not KvmRealmState.NEW:
        raise fail(errno.EPERM)
    assert realm.rd is not None
    status, _ = vm.rmi.rtt_init_ripas(realm.rd, base, top)
    if rmi_status(status) != RmiStatus.SUCCESS:
        raise fail(errno.ENXIO)
    return 0


def _populate(vm: SimVm, realm: KvmRealm, addr: int) -> int:
    """kvm_populate_realm and populate_region ([PATCH v9 19/43])."""
    base, size, s = _range(addr, "struct arm_rme_populate_realm")
    if realm.state is not KvmRealmState.NEW:
        raise fail(errno.EPERM)
    if base % GRANULE or size % GRANULE or s.flags & ~abi.KVM_ARM_RME_POPULATE_FLAGS_MEASURE:
        raise fail(errno.EINVAL)
    if size == 0 or base + size > 1 << 64:
        raise fail(errno.EINVAL)
    slot = vm.memslots.find(base)
    if slot is None:
        raise fail(errno.EFAULT)  # no memslot at the base
    if not slot.contains(base, size):
        raise fail(errno.EINVAL)  # the range crosses memslots
    if not slot.can_be_private:
        raise fail(errno.EPERM)  # !kvm_slot_can_be_private: no guest_memfd behind it
    assert realm.rd is not None
    for ipa in range(base, base + size, GRANULE):
        # The initial contents come from the VMM's memory behind the memslot: the "shared
        # alias" (userspace_addr) that RMI_DATA_CREATE copies from.
        data = vm.memslots.read(ipa, GRANULE)
        assert data is not None  # inside the slot, checked above
        flags = int(s.flags) & abi.KVM_ARM_RME_POPULATE_FLAGS_MEASURE  # RMI_MEASURE_CONTENT
        if rmi_status(vm.rmi.data_create(realm.rd, ipa, data, flags)) != RmiStatus.SUCCESS:
            raise fail(errno.ENXIO)
    return 0


# --- v12 on: KVM_ARM_RMI_POPULATE, the realm created on demand, activated by KVM_RUN --------


def _series(vm: SimVm) -> str:
    return vm.host.series.value


def realm_ensure_created(vm: SimVm) -> None:
    """realm_ensure_created (v12-v14, O2): create the RD on first use; NEW is fine; a DEAD
    realm is ENXIO, an ACTIVE or DYING one EBUSY."""
    realm = vm.realm
    assert realm is not None
    if realm.state is KvmRealmState.NONE:
        _create_rd(vm, realm)
    elif realm.state is KvmRealmState.DEAD:
        raise fail(errno.ENXIO)
    elif realm.state is not KvmRealmState.NEW:
        raise fail(errno.EBUSY)


def rmi_populate(vm: SimVm, addr: int) -> int:
    """kvm_arm_rmi_populate (O2): checks, then the RD if there is none, then RMI_DATA_CREATE
    per granule from source_uaddr. v12 returns the bytes done; v13/v14 return 0 and advance
    base/size/source_uaddr in the caller's struct -- written back even on an error."""
    uapi = vm.host.uapi
    if vm.realm is None:
        raise fail(errno.EPERM if _series(vm) == "v12" else errno.ENXIO)
    req = read_struct(addr, "struct kvm_arm_rmi_populate")
    base, size, src = int(req.base), int(req.size), int(req.source_uaddr)
    flags = int(req.flags)
    if req.reserved or flags & ~abi.KVM_ARM_RMI_POPULATE_FLAGS_MEASURE:
        raise fail(errno.EINVAL)
    if base % GRANULE or (base + size) % GRANULE:
        raise fail(errno.EINVAL)
    if not uapi.populate_returns_bytes and src % GRANULE:
        raise fail(errno.EINVAL)  # v13/v14 check the source too; v12 does not
    realm_ensure_created(vm)
    done = 0
    try:
        # kvm_gmem_populate: the range must be guest_memfd-backed and PRIVATE [INFER, O2].
        slot = vm.memslots.find(base, size) if size else None
        if size and (slot is None or not slot.can_be_private or any(
            gfn not in vm.private_gfns for gfn in range(base // GRANULE, (base + size) // GRANULE)
        )):
            raise fail(errno.EINVAL)
        assert vm.realm is not None and vm.realm.rd is not None
        if size:
            # DATA_CREATE wants RIPAS RAM at the target ([INFER]: the populate path asks for
            # it before the data, as RMM 1.0's RMI_DATA_CREATE requires).
            status, _ = vm.rmi.rtt_init_ripas(vm.realm.rd, base, base + size)
            if rmi_status(status) != RmiStatus.SUCCESS:
                raise fail(errno.ENXIO)
        while done < size:
            data = copy_from_user(src + done, GRANULE)
            if rmi_status(vm.rmi.data_create(vm.realm.rd, base + done, data, flags)) != (
                RmiStatus.SUCCESS
            ):
                raise fail(errno.ENXIO)
            done += GRANULE
    finally:
        if not uapi.populate_returns_bytes:
            out = ffi.cast("struct kvm_arm_rmi_populate *", addr)
            out.base, out.size, out.source_uaddr = base + done, size - done, src + done
    return done if uapi.populate_returns_bytes else 0


def activate_realm(vm: SimVm) -> None:
    """kvm_activate_realm at the first KVM_RUN (C12, O4, O5): the RD if there is none, the
    realm DEAD until everything below worked, a REC per vCPU from its x0-x7 and pc now,
    RIPAS RAM over every guest_memfd memslot, RMI_REALM_ACTIVATE."""
    realm = vm.realm
    assert realm is not None
    v12 = _series(vm) == "v12"
    if realm.state is KvmRealmState.ACTIVE or (
        not v12 and realm.state in (KvmRealmState.DYING, KvmRealmState.DEAD)
    ):
        return  # v13/v14 test state >= ACTIVE; v12 only == ACTIVE
    if not v12 and vm.irqchip is None:
        raise fail(errno.EOPNOTSUPP)  # retryable: nothing changed
    realm_ensure_created(vm)
    realm.state = KvmRealmState.DEAD
    if vm.irqchip is None:
        raise fail(errno.EOPNOTSUPP)  # v12 checks after the DEAD store: the realm is lost
    for vcpu in sorted(vm.vcpus.values(), key=lambda v: v.vcpu_id):
        _rec_create(vcpu)
    assert realm.rd is not None
    for slot in vm.memslots.slots.values():
        if slot.can_be_private:
            status, _ = vm.rmi.rtt_init_ripas(realm.rd, slot.gpa, slot.gpa + slot.size)
            if rmi_status(status) != RmiStatus.SUCCESS:
                raise fail(errno.ENXIO)
    if rmi_status(vm.rmi.realm_activate(realm.rd)) != RmiStatus.SUCCESS:
        raise fail(errno.ENXIO)
    realm.state = KvmRealmState.ACTIVE


# --- KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_REC) -------------------------------------------------


def create_rec(vcpu: SimVcpu) -> int:
    """KVM_ARM_VCPU_FINALIZE(REC) ([PATCH v9 11/43]): the REC feature, a NEW realm, once."""
    vm = vcpu.vm
    if vm.realm is None or vcpu.rec is None or not vcpu.has(abi.KVM_ARM_VCPU_REC):
        raise fail(errno.EINVAL)
    if vm.realm.state is not KvmRealmState.NEW:
        raise fail(errno.ENOENT)
    if vcpu.rec.rec_pa is not None:
        raise fail(errno.EBUSY)
    return _rec_create(vcpu)


def _rec_create(vcpu: SimVcpu) -> int:
    """kvm_create_rec: RMI_REC_CREATE with x0-x7 and pc as KVM has them."""
    vm = vcpu.vm
    assert vm.realm is not None and vcpu.rec is not None
    if not vcpu.has(abi.KVM_ARM_VCPU_PSCI_0_2):
        raise fail(errno.EINVAL)
    vm_pmu = any(v.has(abi.KVM_ARM_VCPU_PMU_V3) for v in vm.vcpus.values())
    if vm_pmu and not vcpu.has(abi.KVM_ARM_VCPU_PMU_V3):
        raise fail(errno.EINVAL)  # v9-32
    regs = vcpu.regs
    mpidr = vcpu.mpidr()
    params = RecParams(
        # Only vCPU 0 starts runnable; the others wait for PSCI CPU_ON.
        flags=REC_PARAMS_FLAG_RUNNABLE if vcpu.vcpu_id == 0 else 0,
        mpidr=mpidr,
        pc=regs.pc,
        gprs=tuple(regs.x(n) for n in range(8)),
    )
    assert vm.realm.rd is not None
    status, rec_pa, run_pa = vm.rmi.rec_create(vm.realm.rd, params)
    if rmi_status(status) != RmiStatus.SUCCESS:
        raise fail(errno.ENXIO)
    vcpu.rec.rec_pa, vcpu.rec.run_pa = rec_pa, run_pa
    vcpu.rec.mpidr = mpidr
    return 0


def psci_complete(caller: SimVcpu, target: SimVcpu, status: int) -> int:
    """realm_psci_complete ([PATCH v9 23/43]): RMI_PSCI_COMPLETE on the two RECs; any RMM
    error is EINVAL. A vCPU whose REC does not exist yet has no REC granule to name, which
    the RMM refuses as bad input."""
    src = caller.rec.rec_pa if caller.rec is not None else None
    dst = target.rec.rec_pa if target.rec is not None else None
    # A REC that does not exist yet has no granule: rec_page is NULL, physical address 0.
    if rmi_status(caller.vm.rmi.psci_complete(src or 0, dst or 0, status)) != RmiStatus.SUCCESS:
        raise fail(errno.EINVAL)
    return 0


def rec_is_finalized(vcpu: SimVcpu) -> bool:
    """reset.c kvm_arm_vcpu_is_finalized ([PATCH v9 11/43]): a realm vCPU is finalized only
    as a REC, created, in an ACTIVE realm. From v12 there is no REC feature to finalize: the
    first KVM_RUN creates the RECs."""
    realm = vcpu.vm.realm
    if vcpu.vm.host.uapi.implicit:
        return True
    return (
        vcpu.rec is not None and vcpu.rec.rec_pa is not None
        and realm is not None and realm.state is KvmRealmState.ACTIVE
    )


# --- one KVM_RUN iteration for a REC ----------------------------------------------------------


def rec_run_once(vcpu: SimVcpu) -> int:
    """kvm_rec_pre_enter, kvm_rec_enter (RMI_REC_ENTER) and handle_rec_exit: 1 to go round
    KVM_RUN's loop again, 0 to return to the VMM, or the errno raised."""
    krec = vcpu.rec
    assert krec is not None and krec.rec_pa is not None
    _pre_enter(vcpu)
    status = vcpu.vm.rmi.rec_enter(krec.rec_pa, krec.run_pa, krec.run)
    vcpu.psci_to_complete = None
    ret = rme_exit.handle_rec_exit(vcpu, status)
    if vcpu.psci_to_complete is not None and not vcpu.vm.host.series.at_least("v14"):
        # v9-v13: psci.c completes CPU_ON and AFFINITY_INFO inside the call's handling
        # (realm_psci_complete in kvm_psci_vcpu_on / _affinity_info; cca-uapi C6).
        _fid, target, ok = vcpu.psci_to_complete
        psci_complete(vcpu, target, PSCI_SUCCESS if ok else PSCI_DENIED)
    return ret


def _pre_enter(vcpu: SimVcpu) -> None:
    """kvm_rec_pre_enter: keyed on the *previous* exit's reason."""
    vm = vcpu.vm
    krec = vcpu.rec
    assert vm.realm is not None and krec is not None and krec.rec_pa is not None
    if vm.realm.state is not KvmRealmState.ACTIVE:
        raise fail(errno.EINVAL)
    prev = krec.run.exit.exit_reason
    # v14 copies the GPRs after a HOST_CALL only; after PSCI it completes the request itself
    # (kvm_rec_complete_psci, C5/C6). v9-v13 copy them after both.
    copy_after = (RmiExit.HOST_CALL,) if vm.host.series.at_least("v14") else (
        RmiExit.HOST_CALL, RmiExit.PSCI,
    )
    if prev == RmiExit.PSCI and vm.host.series.at_least("v14"):
        _complete_psci(vcpu)
    elif prev in copy_after:
        # All 31 GPRs go to rec_enter. After HOST_CALL the RMM copies them into the guest's
        # struct; after PSCI TF-RMM v1.0 reads none of them (the kernel comment says x0-x6).
        for n in range(REC_RUN_GPRS):
            krec.run.enter.gprs[n] = vcpu.regs.x(n)
    elif prev == RmiExit.RIPAS_CHANGE:
        _complete_ripas_change(vcpu)


def _complete_psci(vcpu: SimVcpu) -> None:
    """v14 kvm_rec_complete_psci ([PATCH v14 32/44] "KVM: arm64: Handle Realm PSCI
    requests"), at the entry after a PSCI exit: for the 64-bit AFFINITY_INFO always SUCCESS;
    for the 64-bit CPU_ON SUCCESS if x0 -- what KVM's PSCI handler or, when the call was
    forwarded, the VMM left there -- is SUCCESS or ALREADY_ON, else DENIED; any other call,
    nothing. The target is the MPIDR in exit.gprs[1]; an RMM error is ignored (the entry that
    follows then fails with RMI_ERROR_REC: EAGAIN)."""
    krec = vcpu.rec
    assert krec is not None
    exit_ = krec.run.exit
    fid = exit_.gprs[0]
    if fid == PSCI_AFFINITY_INFO_64:
        status = PSCI_SUCCESS
    elif fid == PSCI_CPU_ON_64:
        ret = vcpu.regs.x(0)
        ok = ret in (PSCI_SUCCESS, PSCI_ALREADY_ON)
        status = PSCI_SUCCESS if ok else PSCI_DENIED
    else:
        return
    target = hypercalls.mpidr_to_vcpu(vcpu, exit_.gprs[1])
    if target is not None:
        try:
            psci_complete(vcpu, target, status)
        except OSError:
            pass  # realm_psci_complete's -EINVAL is dropped by its v14 caller


def _complete_ripas_change(vcpu: SimVcpu) -> None:
    """kvm_complete_ripas_change ([PATCH v9 17/43]): RMI_RTT_SET_RIPAS until the range is
    done or the RMM refuses."""
    krec = vcpu.rec
    assert krec is not None and krec.rec_pa is not None and vcpu.vm.realm is not None
    exit_ = krec.run.exit
    base, top = exit_.ripas_base, exit_.ripas_top
    while base < top:
        assert vcpu.vm.realm.rd is not None
        status, base = vcpu.vm.rmi.rtt_set_ripas(vcpu.vm.realm.rd, krec.rec_pa, base, top)
        if rmi_status(status) != RmiStatus.SUCCESS:
            break
        exit_.ripas_base = base
