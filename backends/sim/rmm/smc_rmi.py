"""The RMI as the host kernel and the RMM share it: status codes, exit reasons, and the
rec_run page (TF-RMM lib/smc/include/smc-rmi.h; the kernel's copy is rmi_smc.h from
[PATCH v9 03/43] "arm64: RME: Add SMC definitions for calling the RMM").

In the real machine rec_run is a page of normal-world memory both sides read and write; here
it is a pair of dataclasses with the same fields.
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
