"""Function ids and return values of the firmware interfaces a guest calls by SMC or HVC:
the SMC Calling Convention (Arm DEN0028), PSCI (Arm DEN0022) and the Realm Services Interface
(RMM v1.0, DEN0137; TF-RMM lib/smc/include/smc-rsi.h). The guest programs, the sim's KVM, the
sim's RMM and the Session all read them from here.

Return values are given as the 64-bit register contents a negative code leaves (-1 ->
0xffff...ffff).
"""

from __future__ import annotations

from backends.arch import MASK64

# --- SMCCC ------------------------------------------------------------------------------------
SMCCC_VERSION = 0x8000_0000
SMCCC_VERSION_1_1 = 0x1_0001
SMCCC_VERSION_1_2 = 0x1_0002
SMCCC_RET_NOT_SUPPORTED = MASK64  # -1
SMC_UNKNOWN = MASK64  # -1

# --- PSCI ----------------------------------------------------------------------------------------
PSCI_VERSION = 0x8400_0000
PSCI_CPU_SUSPEND = 0x8400_0001
PSCI_CPU_SUSPEND_64 = 0xC400_0001
PSCI_CPU_OFF = 0x8400_0002
PSCI_CPU_ON = 0x8400_0003
PSCI_CPU_ON_64 = 0xC400_0003
PSCI_AFFINITY_INFO = 0x8400_0004
PSCI_AFFINITY_INFO_64 = 0xC400_0004
PSCI_SYSTEM_OFF = 0x8400_0008
PSCI_SYSTEM_RESET = 0x8400_0009
PSCI_FEATURES = 0x8400_000A
# The SMC32 and SMC64 PSCI ranges.
PSCI_RANGES = ((0x8400_0000, 0x8400_001F), (0xC400_0000, 0xC400_001F))
PSCI_VERSION_0_1, PSCI_VERSION_0_2 = 0x0, 0x2
PSCI_VERSION_1_0, PSCI_VERSION_1_1 = 0x1_0000, 0x1_0001

PSCI_SUCCESS = 0
PSCI_NOT_SUPPORTED = MASK64  # -1
PSCI_INVALID_PARAMETERS = MASK64 - 1  # -2
PSCI_DENIED = MASK64 - 2  # -3
PSCI_ALREADY_ON = MASK64 - 3  # -4
PSCI_INTERNAL_FAILURE = MASK64 - 5  # -6
PSCI_INVALID_ADDRESS = MASK64 - 8  # -9
PSCI_AFFINITY_ON, PSCI_AFFINITY_OFF = 0, 1

# --- RSI (RMM v1.0: SMC64_RSI_FID(n) = 0xC4000190 + n) -----------------------------------------
RSI_VERSION = 0xC400_0190
RSI_FEATURES = 0xC400_0191
RSI_REALM_CONFIG = 0xC400_0196
RSI_IPA_STATE_SET = 0xC400_0197  # x1 base, x2 top, x3 ripas, x4 flags
RSI_IPA_STATE_GET = 0xC400_0198  # x1 start, x2 end
RSI_HOST_CALL = 0xC400_0199  # x1 = IPA of struct rsi_host_call
RSI_SUCCESS = 0
RSI_ERROR_INPUT = 1
RSI_ERROR_STATE = 2
RSI_ACCEPT = 0
RSI_REJECT = 1
RSI_ABI_VERSION_1_0 = 1 << 16
RIPAS_EMPTY = 0
RIPAS_RAM = 1
RIPAS_DESTROYED = 2
# struct rsi_host_call: u32 imm @0, u64 gprs[31] @8, 0x100 bytes.
HOST_CALL_SIZE = 0x100
HOST_CALL_GPRS_OFFSET = 8


def is_psci(fid: int) -> bool:
    return any(lo <= fid <= hi for lo, hi in PSCI_RANGES)
