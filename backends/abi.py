"""The arm64 KVM userspace ABI: struct layouts (cffi), ioctl numbers and constants.

This module is the contract at the ioctl boundary. The VMM builds these structs and the
simulated kernel reads the very same memory, so both sides import the layouts from here.
Layouts are the uapi headers' (include/uapi/linux/kvm.h, arch/arm64/include/uapi/asm/kvm.h,
v6.16-era); the realm additions are from [PATCH v9 06/43] "arm64: RME: Add KVM_CAP_ARM_RME".
ioctl numbers are computed from the struct sizes, the way <asm-generic/ioctl.h> does, and a
test checks each one against the kernel's values.
"""

from __future__ import annotations

from typing import Any

CDEF = (
    """
    struct kvm_one_reg { uint64_t id; uint64_t addr; };

    /* arch/arm64/include/uapi/asm/ptrace.h and kvm.h: the core registers' layout, whose
       offsets are the CORE register ids. The vregs are __uint128_t, which cffi lacks; long
       double has its size (16) and alignment (16) on aarch64 and x86-64 Linux, which is what
       places fp_regs at 0x150 as the kernel's struct has it. */
    struct user_pt_regs { uint64_t regs[31]; uint64_t sp; uint64_t pc; uint64_t pstate; };
    struct user_fpsimd_state {
        long double vregs[32]; uint32_t fpsr; uint32_t fpcr; uint32_t __reserved[2];
    };
    struct kvm_regs {
        struct user_pt_regs regs; uint64_t sp_el1; uint64_t elr_el1; uint64_t spsr[5];
        struct user_fpsimd_state fp_regs;
    };
    struct kvm_reg_list { uint64_t n; uint64_t reg[]; };
    struct kvm_vcpu_init { uint32_t target; uint32_t features[7]; };
    struct kvm_enable_cap {
        uint32_t cap; uint32_t flags; uint64_t args[4]; uint8_t pad[64];
    };
    struct kvm_userspace_memory_region {
        uint32_t slot; uint32_t flags; uint64_t guest_phys_addr;
        uint64_t memory_size; uint64_t userspace_addr;
    };
    /* guest_memfd (include/uapi/linux/kvm.h, v6.8+): a realm's private memory. */
    struct kvm_userspace_memory_region2 {
        uint32_t slot; uint32_t flags; uint64_t guest_phys_addr; uint64_t memory_size;
        uint64_t userspace_addr; uint64_t guest_memfd_offset; uint32_t guest_memfd;
        uint32_t pad1; uint64_t pad2[14];
    };
    struct kvm_create_guest_memfd { uint64_t size; uint64_t flags; uint64_t reserved[6]; };
    struct kvm_memory_attributes {
        uint64_t address; uint64_t size; uint64_t attributes; uint64_t flags;
    };
    struct kvm_device_attr { uint32_t flags; uint32_t group; uint64_t attr; uint64_t addr; };
    struct kvm_create_device { uint32_t type; uint32_t fd; uint32_t flags; };
    struct kvm_arm_device_addr { uint64_t id; uint64_t addr; };
    struct kvm_mp_state { uint32_t mp_state; };
    struct kvm_smccc_filter {
        uint32_t base; uint32_t nr_functions; uint8_t action; uint8_t pad[15];
    };

    /* [PATCH v9 06/43]: the realm configuration structs of KVM_CAP_ARM_RME. */
    struct arm_rme_config {
        uint32_t cfg;
        union {
            uint8_t rpv[64];
            uint32_t hash_algo;
            uint8_t reserved[256];
        };
    };
    struct arm_rme_populate_realm {
        uint64_t base; uint64_t size; uint32_t flags; uint32_t reserved[3];
    };
    struct arm_rme_init_ripas { uint64_t base; uint64_t size; uint64_t reserved[2]; };
    struct kvm_arm_rmm_psci_complete {
        uint64_t target_mpidr; uint32_t psci_status; uint32_t padding[3];
    };
    /* [PATCH v12 13/46] .. [PATCH v14 13/44] "arm64: RMI: Define the user ABI". */
    struct kvm_arm_rmi_populate {
        uint64_t base; uint64_t size; uint64_t source_uaddr; uint32_t flags; uint32_t reserved;
    };

    struct kvm_exit_mmio { uint64_t phys_addr; uint8_t data[8]; uint32_t len; uint8_t is_write; };
    struct kvm_exit_hypercall {
        uint64_t nr; uint64_t args[6]; uint64_t ret; uint64_t flags;
    };
    struct kvm_exit_system_event { uint32_t type; uint32_t ndata; uint64_t data[16]; };
    struct kvm_exit_internal { uint32_t suberror; uint32_t ndata; uint64_t data[16]; };
    struct kvm_exit_memory_fault { uint64_t flags; uint64_t gpa; uint64_t size; };
    struct kvm_exit_fail_entry { uint64_t hardware_entry_failure_reason; uint32_t cpu; };
    struct kvm_exit_arm_nisv { uint64_t esr_iss; uint64_t fault_ipa; };

    struct kvm_run {
        uint8_t request_interrupt_window;
        uint8_t immediate_exit;
        uint8_t padding1[6];
        uint32_t exit_reason;
        uint8_t ready_for_interrupt_injection;
        uint8_t if_flag;
        uint16_t flags;
        uint64_t cr8;
        uint64_t apic_base;
        union {
            struct kvm_exit_mmio mmio;
            struct kvm_exit_hypercall hypercall;
            struct kvm_exit_system_event system_event;
            struct kvm_exit_internal internal;
            struct kvm_exit_memory_fault memory_fault;
            struct kvm_exit_fail_entry fail_entry;
            struct kvm_exit_arm_nisv arm_nisv;
            char padding[256];
        };
        uint64_t kvm_valid_regs;
        uint64_t kvm_dirty_regs;
        union { uint64_t device_irq_level; char padding[2048]; } s;
    };
    """
)


def build_ffi() -> Any:
    """Parse the declarations (pycparser; about 60 ms, over a second under QEMU TCG)."""
    import cffi

    parsed = cffi.FFI()
    parsed.cdef(CDEF)
    return parsed


def _load_ffi() -> Any:
    # The layouts precompiled by `python -m backends.abi` (cffi's out-of-line ABI mode) load
    # without pycparser; a test keeps the generated module equal to CDEF. Any cffi that cannot
    # load it falls back to parsing.
    try:
        from backends._kvm_ffi import ffi as compiled

        return compiled
    except Exception:  # noqa: BLE001 - an older or newer cffi backend, a missing file
        return build_ffi()


ffi = _load_ffi()

# --- ioctl encoding: <asm-generic/ioctl.h>, which arm64 uses unchanged -------------------
_IOC_NONE, _IOC_WRITE, _IOC_READ = 0, 1, 2
KVMIO = 0xAE


def _ioc(direction: int, nr: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (KVMIO << 8) | nr


def _io(nr: int) -> int:
    return _ioc(_IOC_NONE, nr, 0)


def _iow(nr: int, ctype: str) -> int:
    return _ioc(_IOC_WRITE, nr, ffi.sizeof(ctype))


def _ior(nr: int, ctype: str) -> int:
    return _ioc(_IOC_READ, nr, ffi.sizeof(ctype))


def _iowr(nr: int, ctype: str) -> int:
    return _ioc(_IOC_READ | _IOC_WRITE, nr, ffi.sizeof(ctype))


KVM_API_VERSION = 12

KVM_GET_API_VERSION = _io(0x00)
KVM_CREATE_VM = _io(0x01)
KVM_CHECK_EXTENSION = _io(0x03)
KVM_GET_VCPU_MMAP_SIZE = _io(0x04)
KVM_CREATE_VCPU = _io(0x41)
KVM_SET_USER_MEMORY_REGION = _iow(0x46, "struct kvm_userspace_memory_region")
KVM_SET_USER_MEMORY_REGION2 = _iow(0x49, "struct kvm_userspace_memory_region2")
KVM_SET_MEMORY_ATTRIBUTES = _iow(0xD2, "struct kvm_memory_attributes")
KVM_CREATE_GUEST_MEMFD = _iowr(0xD4, "struct kvm_create_guest_memfd")
KVM_RUN = _io(0x80)
KVM_GET_MP_STATE = _ior(0x98, "struct kvm_mp_state")
KVM_SET_MP_STATE = _iow(0x99, "struct kvm_mp_state")
KVM_ENABLE_CAP = _iow(0xA3, "struct kvm_enable_cap")
KVM_GET_ONE_REG = _iow(0xAB, "struct kvm_one_reg")
KVM_SET_ONE_REG = _iow(0xAC, "struct kvm_one_reg")
KVM_ARM_VCPU_INIT = _iow(0xAE, "struct kvm_vcpu_init")
KVM_ARM_PREFERRED_TARGET = _ior(0xAF, "struct kvm_vcpu_init")
KVM_GET_REG_LIST = _iowr(0xB0, "struct kvm_reg_list")
KVM_ARM_VCPU_FINALIZE = _iow(0xC2, "int")
KVM_CREATE_DEVICE = _iowr(0xE0, "struct kvm_create_device")
KVM_SET_DEVICE_ATTR = _iow(0xE1, "struct kvm_device_attr")
KVM_GET_DEVICE_ATTR = _iow(0xE2, "struct kvm_device_attr")
KVM_HAS_DEVICE_ATTR = _iow(0xE3, "struct kvm_device_attr")
# [PATCH v9 06/43]: PSCI completion for CPU_ON / AFFINITY_INFO handled by the VMM.
KVM_ARM_VCPU_RMM_PSCI_COMPLETE = _iow(0xD6, "struct kvm_arm_rmm_psci_complete")
# v12 renamed it KVM_ARM_VCPU_RMI_PSCI_COMPLETE, same struct and number (0x4018AED6); v14
# removed it (cca-uapi-v12-v16.md O1).
# KVM_ARM_RMI_POPULATE: _IOW in v12 (returns the bytes populated), _IOWR from v13 (returns 0
# and advances base/size/source_uaddr); the arch ioctl switch matches the whole number, so
# the other form is EINVAL (cca-uapi-v12-v16.md O1, O2).
KVM_ARM_RMI_POPULATE_V12 = _iow(0xD7, "struct kvm_arm_rmi_populate")
KVM_ARM_RMI_POPULATE = _iowr(0xD7, "struct kvm_arm_rmi_populate")

IOCTL_NAMES: dict[int, str] = {
    value: name
    for name, value in dict(globals()).items()
    if name.startswith("KVM_")
    and isinstance(value, int)
    and value > 0xFF
    and name not in ("KVM_API_VERSION",)
}

# --- capabilities (include/uapi/linux/kvm.h) ----------------------------------------------
KVM_CAP_IRQCHIP = 0
KVM_CAP_USER_MEMORY = 3
KVM_CAP_NR_VCPUS = 9
KVM_CAP_NR_MEMSLOTS = 10
KVM_CAP_SET_GUEST_DEBUG = 23
KVM_CAP_MAX_VCPUS = 66
KVM_CAP_ONE_REG = 70
KVM_CAP_READONLY_MEM = 81
KVM_CAP_ARM_PSCI = 87
KVM_CAP_DEVICE_CTRL = 89
KVM_CAP_ARM_EL1_32BIT = 93
KVM_CAP_VM_ATTRIBUTES = 101
KVM_CAP_ARM_PSCI_0_2 = 102
KVM_CAP_CHECK_EXTENSION_VM = 105
KVM_CAP_ARM_PMU_V3 = 126
KVM_CAP_VCPU_ATTRIBUTES = 127
KVM_CAP_MAX_VCPU_ID = 128
KVM_CAP_ARM_VM_IPA_SIZE = 165
KVM_CAP_ARM_SVE = 170
KVM_CAP_ARM_PTRAUTH_ADDRESS = 171
KVM_CAP_ARM_PTRAUTH_GENERIC = 172
KVM_CAP_EXIT_HYPERCALL = 201
KVM_CAP_COUNTER_OFFSET = 227
KVM_CAP_USER_MEMORY2 = 231
KVM_CAP_MEMORY_FAULT_INFO = 232
KVM_CAP_MEMORY_ATTRIBUTES = 233
KVM_CAP_GUEST_MEMFD = 234
KVM_MEM_LOG_DIRTY_PAGES = 1 << 0
KVM_MEM_READONLY = 1 << 1
KVM_MEM_GUEST_MEMFD = 1 << 2
KVM_MEMORY_ATTRIBUTE_PRIVATE = 1 << 3
# The realm capability moved between postings: 243 in v9 ([PATCH v9 06/43]), 244 in v10
# ([PATCH v10 06/43]). Upstream gave 243 to KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED, so the
# number alone says nothing: a realm VM type must be probed first.
KVM_CAP_ARM_RME_V9 = 243
KVM_CAP_ARM_RME_V10 = 244

# KVM_ENABLE_CAP(KVM_CAP_ARM_RME) sub-commands in args[0] ([PATCH v9 06/43]).
KVM_CAP_ARM_RME_CONFIG_REALM = 0
KVM_CAP_ARM_RME_CREATE_REALM = 1
KVM_CAP_ARM_RME_INIT_RIPAS_REALM = 2
KVM_CAP_ARM_RME_POPULATE_REALM = 3
KVM_CAP_ARM_RME_ACTIVATE_REALM = 4
ARM_RME_CONFIG_RPV = 0
ARM_RME_CONFIG_HASH_ALGO = 1
ARM_RME_CONFIG_HASH_ALGO_SHA256 = 0
ARM_RME_CONFIG_HASH_ALGO_SHA512 = 1
KVM_ARM_RME_POPULATE_FLAGS_MEASURE = 1 << 0
KVM_ARM_RMI_POPULATE_FLAGS_MEASURE = 1 << 0
# KVM_CAP_ARM_RMI moved with every posting: 247 (v12), 248 (v13), 249 (v14), 251 (v15) --
# all of them unrelated mainline caps today. backends/series.py says which is which.

# --- VM types (arch/arm64/include/uapi/asm/kvm.h; realm type from [PATCH v9 09/43]) ------
KVM_VM_TYPE_ARM_IPA_SIZE_MASK = 0xFF
KVM_VM_TYPE_ARM_SHIFT = 8
KVM_VM_TYPE_ARM_MASK = 0xF << KVM_VM_TYPE_ARM_SHIFT
KVM_VM_TYPE_ARM_NORMAL = 0 << KVM_VM_TYPE_ARM_SHIFT
KVM_VM_TYPE_ARM_REALM = 1 << KVM_VM_TYPE_ARM_SHIFT
# v14 moved the realm type to bit 30, beside pKVM's PROTECTED bit 31 ([PATCH v14 13/44]).
KVM_VM_TYPE_ARM_REALM_V14 = 1 << 30
KVM_VM_TYPE_ARM_PROTECTED = 1 << 31

# --- vCPU init ------------------------------------------------------------------------------
KVM_ARM_TARGET_GENERIC_V8 = 5
KVM_ARM_VCPU_POWER_OFF = 0
KVM_ARM_VCPU_EL1_32BIT = 1
KVM_ARM_VCPU_PSCI_0_2 = 2
KVM_ARM_VCPU_PMU_V3 = 3
KVM_ARM_VCPU_SVE = 4
KVM_ARM_VCPU_PTRAUTH_ADDRESS = 5
KVM_ARM_VCPU_PTRAUTH_GENERIC = 6
KVM_ARM_VCPU_HAS_EL2 = 7
KVM_ARM_VCPU_HAS_EL2_E2H0 = 8
KVM_ARM_VCPU_REC = 9  # [PATCH v9 06/43]; it was 8 in v7/v8, before upstream took 8

# --- ONE_REG id encoding ----------------------------------------------------------------------
KVM_REG_ARCH_MASK = 0xFF00_0000_0000_0000
KVM_REG_ARM64 = 0x6000_0000_0000_0000
KVM_REG_SIZE_SHIFT = 52
KVM_REG_SIZE_MASK = 0x00F0_0000_0000_0000
KVM_REG_SIZE_U8 = 0 << KVM_REG_SIZE_SHIFT
KVM_REG_SIZE_U16 = 1 << KVM_REG_SIZE_SHIFT
KVM_REG_SIZE_U32 = 2 << KVM_REG_SIZE_SHIFT
KVM_REG_SIZE_U64 = 3 << KVM_REG_SIZE_SHIFT
KVM_REG_SIZE_U128 = 4 << KVM_REG_SIZE_SHIFT
KVM_REG_SIZE_U256 = 5 << KVM_REG_SIZE_SHIFT
KVM_REG_SIZE_U512 = 6 << KVM_REG_SIZE_SHIFT
KVM_REG_SIZE_U1024 = 7 << KVM_REG_SIZE_SHIFT
KVM_REG_SIZE_U2048 = 8 << KVM_REG_SIZE_SHIFT
KVM_REG_ARM_COPROC_MASK = 0x0000_0000_0FFF_0000
KVM_REG_ARM_COPROC_SHIFT = 16
KVM_REG_ARM_CORE = 0x0010 << KVM_REG_ARM_COPROC_SHIFT
KVM_REG_ARM_DEMUX = 0x0011 << KVM_REG_ARM_COPROC_SHIFT
KVM_REG_ARM_DEMUX_ID_MASK = 0xFF00
KVM_REG_ARM_DEMUX_ID_SHIFT = 8
KVM_REG_ARM_DEMUX_ID_CCSIDR = 0 << KVM_REG_ARM_DEMUX_ID_SHIFT
KVM_REG_ARM_DEMUX_VAL_MASK = 0xFF
KVM_REG_ARM64_SYSREG = 0x0013 << KVM_REG_ARM_COPROC_SHIFT
KVM_REG_ARM_FW = 0x0014 << KVM_REG_ARM_COPROC_SHIFT
KVM_REG_ARM64_SVE = 0x0015 << KVM_REG_ARM_COPROC_SHIFT
KVM_REG_ARM_FW_FEAT_BMAP = 0x0016 << KVM_REG_ARM_COPROC_SHIFT
KVM_REG_ARM64_SYSREG_OP0_SHIFT = 14
KVM_REG_ARM64_SYSREG_OP1_SHIFT = 11
KVM_REG_ARM64_SYSREG_CRN_SHIFT = 7
KVM_REG_ARM64_SYSREG_CRM_SHIFT = 3
KVM_REG_ARM64_SYSREG_OP2_SHIFT = 0
KVM_REG_ARM64_SVE_ZREG_BASE = 0x000
KVM_REG_ARM64_SVE_PREG_BASE = 0x400
KVM_REG_ARM64_SVE_FFR_BASE = 0x600
KVM_REG_ARM64_SVE_VLS = KVM_REG_ARM64 | KVM_REG_ARM64_SVE | KVM_REG_SIZE_U512 | 0xFFFF
KVM_ARM64_SVE_VLS_WORDS = 8
KVM_ARM64_SVE_VQ_MAX = 512


KVM_MP_STATE_RUNNABLE = 0
KVM_MP_STATE_STOPPED = 5

# --- exits ------------------------------------------------------------------------------------
KVM_EXIT_UNKNOWN = 0
KVM_EXIT_HYPERCALL = 3
KVM_EXIT_MMIO = 6
KVM_EXIT_SHUTDOWN = 8
KVM_EXIT_FAIL_ENTRY = 9
KVM_EXIT_INTR = 10
KVM_EXIT_INTERNAL_ERROR = 17
KVM_EXIT_SYSTEM_EVENT = 24
KVM_EXIT_ARM_NISV = 28
KVM_EXIT_MEMORY_FAULT = 39
EXIT_NAMES: dict[int, str] = {
    KVM_EXIT_UNKNOWN: "UNKNOWN",
    KVM_EXIT_HYPERCALL: "HYPERCALL",
    KVM_EXIT_MMIO: "MMIO",
    KVM_EXIT_SHUTDOWN: "SHUTDOWN",
    KVM_EXIT_FAIL_ENTRY: "FAIL_ENTRY",
    KVM_EXIT_INTR: "INTR",
    KVM_EXIT_INTERNAL_ERROR: "INTERNAL_ERROR",
    KVM_EXIT_SYSTEM_EVENT: "SYSTEM_EVENT",
    KVM_EXIT_ARM_NISV: "ARM_NISV",
    KVM_EXIT_MEMORY_FAULT: "MEMORY_FAULT",
}
KVM_SYSTEM_EVENT_SHUTDOWN = 1
KVM_SYSTEM_EVENT_RESET = 2
KVM_SYSTEM_EVENT_CRASH = 3
KVM_INTERNAL_ERROR_EMULATION = 1
KVM_MEMORY_EXIT_FLAG_PRIVATE = 1 << 3
KVM_HYPERCALL_EXIT_SMC = 1 << 0
KVM_HYPERCALL_EXIT_16BIT = 1 << 1

# --- devices and VM attributes -----------------------------------------------------------------
KVM_DEV_TYPE_ARM_VGIC_V3 = 7
KVM_DEV_ARM_VGIC_GRP_ADDR = 0
KVM_DEV_ARM_VGIC_GRP_CTRL = 4
KVM_DEV_ARM_VGIC_CTRL_INIT = 0
KVM_VGIC_V3_ADDR_TYPE_DIST = 2
KVM_VGIC_V3_ADDR_TYPE_REDIST = 3
# SMCCC filter (upstream since v6.4, "KVM: arm64: Add support for KVM_ARM_VM_SMCCC_CTRL").
KVM_ARM_VM_SMCCC_CTRL = 0
KVM_ARM_VM_SMCCC_FILTER = 0
KVM_SMCCC_FILTER_HANDLE = 0
KVM_SMCCC_FILTER_DENY = 1
KVM_SMCCC_FILTER_FWD_TO_USER = 2

# PSCI and SMCCC function ids: backends/smccc.py.


def vcpu_features_word(*features: int) -> list[int]:
    """The seven u32 words of kvm_vcpu_init.features with the given feature bits set."""
    words = [0] * 7
    for bit in features:
        words[bit // 32] |= 1 << (bit % 32)
    return words


def generate(path: str) -> None:
    """Write the out-of-line ABI module that _load_ffi imports."""
    out = build_ffi()
    out.set_source("backends._kvm_ffi", None)
    out.emit_python_code(path)


if __name__ == "__main__":
    import pathlib

    generate(str(pathlib.Path(__file__).with_name("_kvm_ffi.py")))
