/* The RMI 1.0 ABI as the host uses it: function ids and the shared structures.
 *
 * Numbers and layouts from TF-RMM rmm-spec-v1.0-rel0 lib/smc/include/smc-rmi.h (the kernel's
 * copy is rmi_smc.h of [PATCH v9 03/43]); only the fields this host writes or reads are named,
 * the rest is padding at the offsets the header gives.
 * SPDX-License-Identifier: BSD-3-Clause */
#ifndef RMMHOST_RMI_H
#define RMMHOST_RMI_H

typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned char u8;

#define GRANULE 0x1000UL

#define RMI_FID(n) (0xC4000150UL + (n))
#define RMI_VERSION RMI_FID(0x0)
#define RMI_GRANULE_DELEGATE RMI_FID(0x1)
#define RMI_DATA_CREATE RMI_FID(0x3)
#define RMI_REALM_ACTIVATE RMI_FID(0x7)
#define RMI_REALM_CREATE RMI_FID(0x8)
#define RMI_REC_CREATE RMI_FID(0xA)
#define RMI_REC_ENTER RMI_FID(0xC)
#define RMI_RTT_CREATE RMI_FID(0xD)
#define RMI_PSCI_COMPLETE RMI_FID(0x14)
#define RMI_FEATURES RMI_FID(0x15)
#define RMI_REC_AUX_COUNT RMI_FID(0x17)
#define RMI_RTT_INIT_RIPAS RMI_FID(0x18)
#define RMI_RTT_SET_RIPAS RMI_FID(0x19)

/* RMI 2.0 as TF-RMM tf-rmm-v0.9.0 has it (RMM 2.0 beta 0; lib/smc/include/smc-rmi.h there):
 * RMM_ACTIVATE before anything else, range delegation, RTT_DATA_MAP_INIT in DATA_CREATE's
 * place (same id and arguments), and REC_CREATE as a stateful operation that asks the host for
 * its auxiliary granules (RMI_INCOMPLETE, then OP_MEM_DONATE / OP_CONTINUE). */
#define RMI_RTT_DATA_MAP_INIT RMI_FID(0x3)
#define RMI_GRANULE_RANGE_DELEGATE RMI_FID(0xA1)
#define RMI_RMM_ACTIVATE RMI_FID(0xB2)
#define RMI_OP_CONTINUE RMI_FID(0xB3)
#define RMI_OP_MEM_DONATE RMI_FID(0xB8)
#define RMI_INCOMPLETE 13UL
#define RMI_OP_MEM_REQ(x0) (((x0) >> 8) & 3UL)	/* RmiResultDataIncomplete */
#define RMI_OP_MEM_REQ_DONATE 1UL
#define RMI_OP_DONATE_BLK_COUNT(x2) (((x2) >> 2) & 0x3fffUL)	/* RmiOpMemDonateReq */
#define RMI_OP_DONATE_BLK_SIZE(x2) ((x2) & 3UL)	/* 0: 4 KiB pages */
/* RmiAddrRangeDesc4KB: size 0 (4 KiB), count in [11:2], address in [51:12], state bit 63
 * (0: delegated). */
#define RMI_ADDR_RDESC_4K(pa, count) ((pa) | ((u64)(count) << 2))

#define RMI_ABI_1_0 0x10000UL
#define RMI_ABI_2_0 0x20000UL
#define RMI_MEASURE_CONTENT 1UL
#define REC_PARAMS_FLAG_RUNNABLE 1UL

#define RMI_EXIT_SYNC 0
#define RMI_EXIT_IRQ 1
#define RMI_EXIT_FIQ 2
#define RMI_EXIT_PSCI 3
#define RMI_EXIT_RIPAS_CHANGE 4
#define RMI_EXIT_HOST_CALL 5

#define REC_ENTER_FLAG_EMULATED_MMIO (1UL << 0)
#define REC_ENTER_FLAG_RIPAS_RESPONSE (1UL << 4)

#define REC_CREATE_NR_GPRS 8
#define MAX_RECS 2
#define REC_RUN_GPRS 31
#define MAX_REC_AUX_GRANULES 16

struct realm_params {		/* struct rmi_realm_params, 0x1000 bytes */
	u64 flags;		/* 0x000 */
	u64 s2sz;		/* 0x008 (unsigned int in a u64 slot) */
	u64 sve_vl;		/* 0x010 */
	u64 num_bps;		/* 0x018 */
	u64 num_wps;		/* 0x020 */
	u64 pmu_num_ctrs;	/* 0x028 */
	u8 algorithm;		/* 0x030 */
	u8 pad0[0x400 - 0x31];
	u8 rpv[64];		/* 0x400 */
	u8 pad1[0x800 - 0x440];
	unsigned short vmid;	/* 0x800 */
	u8 pad2[6];
	u64 rtt_base;		/* 0x808 */
	long rtt_level_start;	/* 0x810 */
	u32 rtt_num_start;	/* 0x818 */
	u8 pad3[0x1000 - 0x81c];
};

struct realm_params_2 {		/* RMI 2.0 (v0.9.0) struct rmi_realm_params: no VMID */
	u64 flags0;		/* 0x000 */
	u64 s2sz;		/* 0x008 */
	u64 sve_vl;		/* 0x010 */
	u64 num_bps;		/* 0x018 */
	u64 num_wps;		/* 0x020 */
	u64 pmu_num_ctrs;	/* 0x028 */
	u64 algorithm;		/* 0x030 (unsigned char) */
	u64 num_aux_planes;	/* 0x038 */
	u8 pad0[0x808 - 0x40];	/* rpv at 0x400, ats_plane at 0x440 */
	u64 rtt_base;		/* 0x808 */
	long rtt_level_start;	/* 0x810 */
	u32 rtt_num_start;	/* 0x818 */
	u8 pad1[4];
	u64 flags1;		/* 0x820 */
	u8 pad2[0x1000 - 0x828];	/* aux_rtt_base[3] at 0xf80 */
};

struct rec_params {		/* struct rmi_rec_params, 0x1000 bytes */
	u64 flags;		/* 0x000 */
	u8 pad0[0x100 - 8];
	u64 mpidr;		/* 0x100 */
	u8 pad1[0x100 - 8];
	u64 pc;			/* 0x200 */
	u8 pad2[0x100 - 8];
	u64 gprs[REC_CREATE_NR_GPRS];	/* 0x300 */
	u8 pad3[0x500 - 8 * REC_CREATE_NR_GPRS];
	u64 num_aux;		/* 0x800 */
	u64 aux[MAX_REC_AUX_GRANULES];	/* 0x808 */
	u8 pad4[0x800 - 8 - 8 * MAX_REC_AUX_GRANULES];
};

struct rec_enter {		/* struct rmi_rec_enter, 0x800 bytes */
	u64 flags;		/* 0x000 */
	u8 pad0[0x200 - 8];
	u64 gprs[REC_RUN_GPRS];	/* 0x200 */
	u8 pad1[0x100 - 8 * REC_RUN_GPRS];
	u64 gicv3_hcr;		/* 0x300 */
	u64 gicv3_lrs[16];	/* 0x308 */
	u8 pad2[0x500 - 8 - 8 * 16];
};

struct rec_exit {		/* struct rmi_rec_exit, 0x800 bytes */
	u64 exit_reason;	/* 0x000 */
	u8 pad0[0x100 - 8];
	u64 esr;		/* 0x100 */
	u64 far;		/* 0x108 */
	u64 hpfar;		/* 0x110 */
	u8 pad1[0x100 - 24];
	u64 gprs[REC_RUN_GPRS];	/* 0x200 */
	u8 pad2[0x100 - 8 * REC_RUN_GPRS];
	u64 gicv3_hcr;		/* 0x300 */
	u64 gicv3_lrs[16];	/* 0x308 */
	u64 gicv3_misr;		/* 0x388 */
	u64 gicv3_vmcr;		/* 0x390 */
	u8 pad3[0x100 - 0x98];
	u64 cntp_ctl;		/* 0x400 */
	u64 cntp_cval;		/* 0x408 */
	u64 cntv_ctl;		/* 0x410 */
	u64 cntv_cval;		/* 0x418 */
	u8 pad4[0x100 - 32];
	u64 ripas_base;		/* 0x500 */
	u64 ripas_top;		/* 0x508 */
	u64 ripas_value;	/* 0x510 (an unsigned char in TF-RMM, a u64 in v9's rmi_smc.h) */
	u8 pad5[0x100 - 24];
	u64 imm;		/* 0x600 (unsigned int) */
	u64 plane;		/* 0x608: RMI 2.0 only (the plane that exited) */
	u8 pad6[0x100 - 16];
	u64 pmu_ovf_status;	/* 0x700 */
	u8 pad7[0x100 - 8];
};

struct rec_run {
	struct rec_enter enter;
	struct rec_exit exit;
};

_Static_assert(sizeof(struct realm_params) == 0x1000, "realm_params layout");
_Static_assert(sizeof(struct rec_params) == 0x1000, "rec_params layout");
_Static_assert(sizeof(struct realm_params_2) == 0x1000, "realm_params (RMI 2.0) layout");
_Static_assert(__builtin_offsetof(struct realm_params_2, flags1) == 0x820, "flags1");
_Static_assert(sizeof(struct rec_run) == 0x1000, "rec_run layout");
_Static_assert(__builtin_offsetof(struct realm_params, rtt_num_start) == 0x818, "rtt_num_start");
_Static_assert(__builtin_offsetof(struct rec_exit, ripas_base) == 0x500, "ripas_base");
_Static_assert(__builtin_offsetof(struct rec_exit, imm) == 0x600, "imm");

#endif
