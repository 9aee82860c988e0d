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


# --- the rec_run page as bytes, for RMI_REC_ENTER through the SMC entry (handler.py) --------


def _u64(buf: bytes, off: int) -> int:
    return int.from_bytes(buf[off : off + 8], "little")


def rec_enter_from_bytes(page: bytes) -> RecEnter:
    gprs = [_u64(page, REC_ENTER_GPRS + 8 * n) for n in range(REC_RUN_GPRS)]
    return RecEnter(flags=_u64(page, REC_ENTER_FLAGS), gprs=gprs)


def rec_exit_to_bytes(e: RecExit) -> bytes:
    out = bytearray(REC_RUN_SIZE - REC_EXIT_OFFSET)

    def put(off: int, value: int, size: int = 8) -> None:
        out[off : off + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")

    put(REC_EXIT_REASON, e.exit_reason, 1)
    put(REC_EXIT_ESR, e.esr)
    put(REC_EXIT_FAR, e.far)
    put(REC_EXIT_HPFAR, e.hpfar)
    for n, g in enumerate(e.gprs):
        put(REC_EXIT_GPRS + 8 * n, g)
    put(REC_EXIT_CNTP_CTL, e.cntp_ctl)
    put(REC_EXIT_CNTP_CVAL, e.cntp_cval)
    put(REC_EXIT_CNTV_CTL, e.cntv_ctl)
    put(REC_EXIT_CNTV_CVAL, e.cntv_cval)
    put(REC_EXIT_RIPAS_BASE, e.ripas_base)
    put(REC_EXIT_RIPAS_TOP, e.ripas_top)
    put(REC_EXIT_RIPAS_VALUE, e.ripas_value, 1)
    put(REC_EXIT_IMM, e.imm, 2)
    put(REC_EXIT_PMU_OVF_STATUS, e.pmu_ovf_status, 1)
    return bytes(out)
