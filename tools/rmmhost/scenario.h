/* The scenario blob: what the test asks the host to do, placed right after the host's image.
 *
 * Python writes it (tests/rmm/scenario.py, the one other description of this layout); every
 * field is a little-endian u64 and every offset is from the blob's start.
 * SPDX-License-Identifier: BSD-3-Clause */
#ifndef RMMHOST_SCENARIO_H
#define RMMHOST_SCENARIO_H

#include "rmi.h"

#define SCENARIO_ADDR 0x60010000UL	/* BL33 base + SCENARIO_OFFSET */
#define SCENARIO_MAGIC 0x314e43534d4d5252UL	/* "RRMMSCN1" */
#define MAX_REALMS 8

struct scenario {
	u64 magic;
	u64 rmi_abi;		/* RMI_ABI_1_0 or RMI_ABI_2_0: which RMI the firmware speaks */
	u64 n_realms;
	u64 realm_off[MAX_REALMS];
};

/* One realm, as KVM creates it for the VMM (the parameters already in RMI encoding). */
struct realm_scn {
	u64 flags, s2sz, sve_vl, num_bps, num_wps, pmu_num_ctrs, algorithm, vmid;	/* vmid: 1.0 */
	u64 rtt_level_start;
	u64 image_ipa, image_off, image_size;	/* image_off: 4 KiB aligned within the blob */
	u64 init_ripas_base, init_ripas_top;
	u64 rec_pc, rec_gprs[REC_CREATE_NR_GPRS];
	u64 max_exits;
	u64 n_ops, ops_off;
	u64 n_recs;		/* RECs 1.. start not runnable, at secondary_pc, gprs zero */
	u64 secondary_pc;
};

/* What the VMM does between exit `at_exit` (0-based) and the next REC_ENTER. */
enum op_kind {
	OP_SET_REG = 1,		/* KVM_SET_ONE_REG of x[idx] (KVM's copy) */
	OP_ENTER_GPR = 2,	/* rec_enter.gprs[idx] after KVM's pre-enter: the RMM probe */
	OP_MMIO_DATA = 3,	/* kvm_run.mmio.data for a read */
	OP_RIPAS_REJECT = 4,	/* refuse the RIPAS change (KVM's RIPAS_RESPONSE) */
};

struct op {
	u64 at_exit, kind, idx, value;
};

#endif
