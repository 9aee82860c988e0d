"""The RMI as the host kernel and the RMM share it: status codes, exit reasons, and the
rec_run page (TF-RMM lib/smc/include/smc-rmi.h; the kernel's copy is rmi_smc.h from
[PATCH v9 03/43] "arm64: RME: Add SMC definitions for calling the RMM").

In the real machine rec_run is a page of normal-world memory both sides read and write; the
sim's KVM hands the RMM a pair of dataclasses with the same fields, and the SMC entry
(handler.py) converts the page's bytes at the offsets below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from backends.arch import GRANULE_SIZE

REC_RUN_GPRS = 31
REC_CREATE_NR_GPRS = 8


class RmiStatus(IntEnum):
    SUCCESS = 0
    ERROR_INPUT = 1
    ERROR_REALM = 2
    ERROR_REC = 3
    ERROR_RTT = 4


def rmi_pack(status: RmiStatus, index: int = 0) -> int:
    """The return word: (index << 8) | status, decoded by RMI_RETURN_STATUS/INDEX."""
    return (index << 8) | int(status)


def rmi_status(ret: int) -> int:
    return ret & 0xFF


def rmi_index(ret: int) -> int:
    return (ret >> 8) & 0xFF


class RmiExit(IntEnum):
    SYNC = 0
    IRQ = 1
    FIQ = 2
    PSCI = 3
    RIPAS_CHANGE = 4
    HOST_CALL = 5
    SERROR = 6
    # Not an RMM exit: the simulation's CPU met an instruction it does not implement. Real
    # hardware would inject an undefined-instruction exception into the realm; the sim
    # stops instead and says where (gprs[0] = pc, gprs[1] = the encoding).
    SIM_UNSUPPORTED = 0xFF


# rec_enter.flags (smc-rmi.h)
REC_ENTER_FLAG_EMULATED_MMIO = 1 << 0
REC_ENTER_FLAG_INJECT_SEA = 1 << 1
REC_ENTER_FLAG_TRAP_WFI = 1 << 2
REC_ENTER_FLAG_TRAP_WFE = 1 << 3
REC_ENTER_FLAG_RIPAS_RESPONSE = 1 << 4

REC_PARAMS_FLAG_RUNNABLE = 1 << 0

# RMI function ids: SMC64_RMI_FID(n) = 0xC4000150 + n (smc-rmi.h; the kernel's rmi_smc.h).
RMI_VERSION = 0xC400_0150
RMI_GRANULE_DELEGATE = 0xC400_0151
RMI_GRANULE_UNDELEGATE = 0xC400_0152
RMI_DATA_CREATE = 0xC400_0153
RMI_DATA_DESTROY = 0xC400_0155
RMI_REALM_ACTIVATE = 0xC400_0157
RMI_REALM_CREATE = 0xC400_0158
RMI_REALM_DESTROY = 0xC400_0159
RMI_REC_CREATE = 0xC400_015A
RMI_REC_DESTROY = 0xC400_015B
RMI_REC_ENTER = 0xC400_015C
RMI_RTT_CREATE = 0xC400_015D
RMI_RTT_DESTROY = 0xC400_015E
RMI_PSCI_COMPLETE = 0xC400_0164
RMI_FEATURES = 0xC400_0165
RMI_REC_AUX_COUNT = 0xC400_0167
RMI_RTT_INIT_RIPAS = 0xC400_0168
RMI_RTT_SET_RIPAS = 0xC400_0169
RMI_ABI_VERSION_1_0 = 1 << 16
RMI_ABI_VERSION_2_0 = 2 << 16  # TF-RMM tf-rmm-v0.9.0 runtime/rmi/version.c: 2.0 only

# struct rmi_realm_params (offsets) and its flags.
REALM_PARAMS_FLAGS, REALM_PARAMS_S2SZ, REALM_PARAMS_SVE_VL = 0x0, 0x8, 0x10
REALM_PARAMS_NUM_BPS, REALM_PARAMS_NUM_WPS, REALM_PARAMS_PMU_NUM_CTRS = 0x18, 0x20, 0x28
REALM_PARAMS_HASH_ALGO, REALM_PARAMS_RPV, RPV_SIZE = 0x30, 0x400, 64
REALM_FLAG_LPA2, REALM_FLAG_SVE, REALM_FLAG_PMU = 1 << 0, 1 << 1, 1 << 2
# struct rmi_rec_params (offsets).
REC_PARAMS_FLAGS, REC_PARAMS_MPIDR, REC_PARAMS_PC, REC_PARAMS_GPRS = 0x0, 0x100, 0x200, 0x300
# struct rmi_rec_run: rec_enter at 0, rec_exit at 0x800 (offsets within each).
REC_RUN_SIZE, REC_EXIT_OFFSET = 0x1000, 0x800
REC_ENTER_FLAGS, REC_ENTER_GPRS = 0x0, 0x200
REC_EXIT_REASON, REC_EXIT_ESR, REC_EXIT_FAR, REC_EXIT_HPFAR = 0x0, 0x100, 0x108, 0x110
REC_EXIT_GPRS, REC_EXIT_CNTP_CTL, REC_EXIT_CNTP_CVAL = 0x200, 0x400, 0x408
REC_EXIT_CNTV_CTL, REC_EXIT_CNTV_CVAL = 0x410, 0x418
REC_EXIT_RIPAS_BASE, REC_EXIT_RIPAS_TOP, REC_EXIT_RIPAS_VALUE = 0x500, 0x508, 0x510
REC_EXIT_IMM, REC_EXIT_PMU_OVF_STATUS = 0x600, 0x700
# RMM 1.1/2.0: the plane that exited (TF-RMM v0.8.0/v0.9.0 smc-rmi.h `plane /* 0x608 */`);
# reserved (zero) in RMM 1.0.
REC_EXIT_PLANE = 0x608



def _gprs() -> list[int]:
    return [0] * REC_RUN_GPRS


@dataclass
class RecEnter:
    flags: int = 0
    gprs: list[int] = field(default_factory=_gprs)


@dataclass
class RecExit:
    exit_reason: int = 0
    esr: int = 0
    far: int = 0
    hpfar: int = 0
    gprs: list[int] = field(default_factory=_gprs)
    cntp_ctl: int = 0
    cntp_cval: int = 0
    cntv_ctl: int = 0
    cntv_cval: int = 0
    ripas_base: int = 0
    ripas_top: int = 0
    ripas_value: int = 0
    imm: int = 0
    plane: int = 0
    pmu_ovf_status: int = 0


@dataclass
class RecRun:
    enter: RecEnter = field(default_factory=RecEnter)
    exit: RecExit = field(default_factory=RecExit)


@dataclass(frozen=True)
class RealmParams:
    """struct realm_params as KVM fills it at RMI_REALM_CREATE (v9-07, v9-32, v9-34, v9-38).
    RMM 1.0 has no context-comparator parameter: v9 realm_create_rd passes num_bps and
    num_wps only."""

    ipa_width: int
    hash_algo: int = 0
    rpv: bytes = b""
    pmu_num_ctrs: int | None = None  # None: the realm has no PMU
    num_bps: int = 6
    num_wps: int = 4
    sve_vq: int | None = None  # None: the realm has no SVE


@dataclass(frozen=True)
class RecParams:
    flags: int
    mpidr: int
    pc: int
    gprs: tuple[int, ...]  # REC_CREATE_NR_GPRS of them


# --- the shared pages as bytes: the kernel writes them (rmi_smc.h), the RMM reads them ---------
# (and the other way round for rec_exit). One encoder and one decoder per layout.


def _u64(buf: bytes, off: int) -> int:
    return int.from_bytes(buf[off : off + 8], "little")


def _put(out: bytearray, off: int, value: int, size: int = 8) -> None:
    out[off : off + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")


def realm_params_to_bytes(p: RealmParams) -> bytes:
    out = bytearray(GRANULE_SIZE)
    flags = (REALM_FLAG_SVE if p.sve_vq else 0) | (REALM_FLAG_PMU if p.pmu_num_ctrs is not None
                                                   else 0)
    _put(out, REALM_PARAMS_FLAGS, flags)
    _put(out, REALM_PARAMS_S2SZ, p.ipa_width, 4)
    _put(out, REALM_PARAMS_SVE_VL, (p.sve_vq or 1) - 1, 4)
    # On the wire the counts are minus one: KVM passes ID_AA64DFR0_EL1.BRPs/WRPs as they are
    # ([PATCH v9 34/43] realm_create_rd), which TF-RMM checks against RMI_FEATURES' fields
    # (realm.c validate_realm_params); a count of 6 is refused on a CPU with 6 (tests/rmm).
    _put(out, REALM_PARAMS_NUM_BPS, p.num_bps - 1, 4)
    _put(out, REALM_PARAMS_NUM_WPS, p.num_wps - 1, 4)
    _put(out, REALM_PARAMS_PMU_NUM_CTRS, p.pmu_num_ctrs or 0, 4)
    _put(out, REALM_PARAMS_HASH_ALGO, p.hash_algo, 1)
    rpv = p.rpv[:RPV_SIZE]
    out[REALM_PARAMS_RPV : REALM_PARAMS_RPV + len(rpv)] = rpv
    return bytes(out)


def realm_params_from_bytes(page: bytes) -> RealmParams:
    flags = _u64(page, REALM_PARAMS_FLAGS)
    u32 = lambda off: _u64(page, off) & 0xFFFF_FFFF  # noqa: E731
    return RealmParams(
        ipa_width=u32(REALM_PARAMS_S2SZ),
        hash_algo=page[REALM_PARAMS_HASH_ALGO],
        rpv=bytes(page[REALM_PARAMS_RPV : REALM_PARAMS_RPV + RPV_SIZE]),
        pmu_num_ctrs=u32(REALM_PARAMS_PMU_NUM_CTRS) if flags & REALM_FLAG_PMU else None,
        num_bps=u32(REALM_PARAMS_NUM_BPS) + 1,
        num_wps=u32(REALM_PARAMS_NUM_WPS) + 1,
        sve_vq=u32(REALM_PARAMS_SVE_VL) + 1 if flags & REALM_FLAG_SVE else None,
    )


def rec_params_to_bytes(p: RecParams) -> bytes:
    out = bytearray(GRANULE_SIZE)
    _put(out, REC_PARAMS_FLAGS, p.flags)
    _put(out, REC_PARAMS_MPIDR, p.mpidr)
    _put(out, REC_PARAMS_PC, p.pc)
    for n, g in enumerate(p.gprs[:REC_CREATE_NR_GPRS]):
        _put(out, REC_PARAMS_GPRS + 8 * n, g)
    return bytes(out)


def rec_params_from_bytes(page: bytes) -> RecParams:
    return RecParams(
        flags=_u64(page, REC_PARAMS_FLAGS),
        mpidr=_u64(page, REC_PARAMS_MPIDR),
        pc=_u64(page, REC_PARAMS_PC),
        gprs=tuple(_u64(page, REC_PARAMS_GPRS + 8 * n) for n in range(REC_CREATE_NR_GPRS)),
    )


def rec_enter_to_bytes(e: RecEnter) -> bytes:
    out = bytearray(REC_EXIT_OFFSET)
    _put(out, REC_ENTER_FLAGS, e.flags)
    for n, g in enumerate(e.gprs):
        _put(out, REC_ENTER_GPRS + 8 * n, g)
    return bytes(out)


def rec_enter_from_bytes(page: bytes) -> RecEnter:
    gprs = [_u64(page, REC_ENTER_GPRS + 8 * n) for n in range(REC_RUN_GPRS)]
    return RecEnter(flags=_u64(page, REC_ENTER_FLAGS), gprs=gprs)


_EXIT_FIELDS = (  # RecExit field, offset, size
    ("esr", REC_EXIT_ESR, 8), ("far", REC_EXIT_FAR, 8), ("hpfar", REC_EXIT_HPFAR, 8),
    ("cntp_ctl", REC_EXIT_CNTP_CTL, 8), ("cntp_cval", REC_EXIT_CNTP_CVAL, 8),
    ("cntv_ctl", REC_EXIT_CNTV_CTL, 8), ("cntv_cval", REC_EXIT_CNTV_CVAL, 8),
    ("ripas_base", REC_EXIT_RIPAS_BASE, 8), ("ripas_top", REC_EXIT_RIPAS_TOP, 8),
    ("ripas_value", REC_EXIT_RIPAS_VALUE, 1), ("imm", REC_EXIT_IMM, 2),
    ("pmu_ovf_status", REC_EXIT_PMU_OVF_STATUS, 1), ("exit_reason", REC_EXIT_REASON, 1),
    ("plane", REC_EXIT_PLANE, 1),
)


def rec_exit_to_bytes(e: RecExit) -> bytes:
    out = bytearray(REC_RUN_SIZE - REC_EXIT_OFFSET)
    for name, off, size in _EXIT_FIELDS:
        _put(out, off, getattr(e, name), size)
    for n, g in enumerate(e.gprs):
        _put(out, REC_EXIT_GPRS + 8 * n, g)
    return bytes(out)


def rec_exit_from_bytes(page: bytes) -> RecExit:
    e = RecExit(gprs=[_u64(page, REC_EXIT_GPRS + 8 * n) for n in range(REC_RUN_GPRS)])
    for name, off, size in _EXIT_FIELDS:
        setattr(e, name, int.from_bytes(page[off : off + size], "little"))
    return e
