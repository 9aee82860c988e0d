/* A bare-metal RMI host: what the KVM CCA host series (v9) does for a realm, at RMI level,
 * as BL33 at NS-EL2 under TF-A + TF-RMM.
 *
 * For each realm of the scenario blob: delegate granules, RMI_REALM_CREATE, RTTs,
 * RTT_INIT_RIPAS, DATA_CREATE of the image, REC_AUX_COUNT + REC_CREATE, REALM_ACTIVATE, then
 * the REC_ENTER loop, filling rec_enter after each exit the way KVM does (kvm_rec_pre_enter and
 * kvm_handle_mmio_return of [PATCH v9 16/43] and [PATCH v9 18/43]; cca-semantics.md §4.2).
 * Every RMI return, every rec_enter and every rec_exit is one JSON line on the UART, after the
 * prefix "@rmmhost ". A failing RMI call prints its command and status; then the host powers
 * the machine off (PSCI SYSTEM_OFF, QEMU exits).
 * SPDX-License-Identifier: BSD-3-Clause */
#include "rmi.h"
#include "scenario.h"

#define UART_DR ((volatile u32 *)0x09000000UL)
#define UART_FR ((volatile u32 *)0x09000018UL)
#define UART_FR_TXFF (1U << 5)

/* Delegable NS RAM far from this image and the DTB (README "Recommended pool"). */
#define POOL_BASE 0x80000000UL
#define POOL_TOP 0xC0000000UL

#define ESR_EC(esr) (((esr) >> 26) & 0x3f)
#define ESR_ISV (1UL << 24)
#define ESR_SAS(esr) (((esr) >> 22) & 3)
#define ESR_SF (1UL << 15)
#define ESR_WNR (1UL << 6)
#define EC_DABT_LOW 0x24

#define PSCI_CPU_ON_32 0x84000003UL
#define PSCI_CPU_ON_64 0xC4000003UL
#define PSCI_AFFINITY_INFO_32 0x84000004UL
#define PSCI_AFFINITY_INFO_64 0xC4000004UL

#define S2_L1_BLOCK (1UL << 30)
#define S2_L2_BLOCK (1UL << 21)

void power_off(void) __attribute__((noreturn));

static struct realm_params realm_params __attribute__((aligned(GRANULE)));
static struct realm_params_2 realm_params_2 __attribute__((aligned(GRANULE)));
static u64 donate_list[GRANULE / 8] __attribute__((aligned(GRANULE)));
static struct rec_params rec_params __attribute__((aligned(GRANULE)));
static struct rec_run rec_run __attribute__((aligned(GRANULE)));
static u64 pool_next = POOL_BASE;
static u64 abi;	/* RMI_ABI_1_0 or RMI_ABI_2_0 */

/* --- console -------------------------------------------------------------------------------- */

static void putc_(char c)
{
	while (*UART_FR & UART_FR_TXFF)
		;
	*UART_DR = (u32)c;
}

static void puts_(const char *s)
{
	while (*s)
		putc_(*s++);
}

static void hex(u64 v)
{
	int shift = 60;

	puts_("\"0x");
	while (shift > 0 && !((v >> shift) & 0xf))
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		putc_("0123456789abcdef"[(v >> shift) & 0xf]);
	putc_('"');
}

static void dec(u64 v)
{
	char buf[21];
	int i = 0;

	do {
		buf[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		putc_(buf[--i]);
}

/* One record: begin("exit") field(...)... end(). Keys are plain identifiers. */
static int first_field;

static void begin(const char *type)
{
	puts_("@rmmhost {\"t\":\"");
	puts_(type);
	putc_('"');
	first_field = 0;
}

static void key(const char *k)
{
	puts_(",\"");
	puts_(k);
	puts_("\":");
}

static void field_hex(const char *k, u64 v)
{
	key(k);
	hex(v);
}

static void field_dec(const char *k, u64 v)
{
	key(k);
	dec(v);
}

static void field_str(const char *k, const char *s)
{
	key(k);
	putc_('"');
	puts_(s);
	putc_('"');
}

static void field_gprs(const char *k, const u64 *g)
{
	key(k);
	putc_('[');
	for (int i = 0; i < REC_RUN_GPRS; i++) {
		if (i)
			putc_(',');
		hex(g[i]);
	}
	putc_(']');
}

static void end(void)
{
	puts_("}\r\n");
}

void host_exception(u64 esr, u64 elr, u64 far)
{
	begin("crash");
	field_hex("esr", esr);
	field_hex("elr", elr);
	field_hex("far", far);
	end();
	power_off();
}

/* --- RMI ------------------------------------------------------------------------------------- */

struct smc_res {
	u64 x0, x1, x2, x3;
};

static struct smc_res smc(u64 fid, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5)
{
	register u64 x0 __asm__("x0") = fid;
	register u64 x1 __asm__("x1") = a1;
	register u64 x2 __asm__("x2") = a2;
	register u64 x3 __asm__("x3") = a3;
	register u64 x4 __asm__("x4") = a4;
	register u64 x5 __asm__("x5") = a5;
	register u64 x6 __asm__("x6") = 0;
	register u64 x7 __asm__("x7") = 0;

	/* SMCCC 1.2 lets the callee return values in x0-x17. */
	__asm__ volatile("smc #0"
			 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x5), "+r"(x6),
			   "+r"(x7)
			 :
			 : "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17",
			   "memory");
	return (struct smc_res){ x0, x1, x2, x3 };
}

static u64 current_realm;

/* Call an RMI command and print its record; `must` commands power off on failure. */
static struct smc_res rmi(const char *name, int must, u64 fid, u64 a1, u64 a2, u64 a3, u64 a4,
			  u64 a5)
{
	struct smc_res r = smc(fid, a1, a2, a3, a4, a5);

	begin("rmi");
	field_dec("realm", current_realm);
	field_str("cmd", name);
	field_hex("ret", r.x0);
	field_hex("x1", r.x1);
	end();
	if (must && r.x0 != 0) {
		begin("fail");
		field_dec("realm", current_realm);
		field_str("cmd", name);
		field_hex("ret", r.x0);
		end();
		power_off();
	}
	return r;
}

static u64 granule(void)
{
	u64 pa = pool_next;

	if (pa >= POOL_TOP) {
		begin("fail");
		field_str("cmd", "granule pool exhausted");
		end();
		power_off();
	}
	pool_next += GRANULE;
	if (abi == RMI_ABI_2_0)
		rmi("GRANULE_RANGE_DELEGATE", 1, RMI_GRANULE_RANGE_DELEGATE, pa, pa + GRANULE, 0, 0,
		    0);
	else
		rmi("GRANULE_DELEGATE", 1, RMI_GRANULE_DELEGATE, pa, 0, 0, 0, 0);
	return pa;
}

static void zero(void *p, u64 n)
{
	u8 *b = p;

	while (n--)
		*b++ = 0;
}

/* --- one realm ------------------------------------------------------------------------------ */

struct kvm_vcpu {
	u64 x[REC_RUN_GPRS];	/* KVM's copy of x0-x30 */
	u64 fault_esr;		/* vcpu->arch.fault.esr_el2, from rec_exit.esr */
	int mmio_pending;	/* an MMIO exit that the next KVM_RUN completes */
	u64 prev_reason;
	u64 ripas_base, ripas_top;
};

static const struct op *ops;
static u64 n_ops;

static void apply_set_reg(struct kvm_vcpu *v, u64 exit_no)
{
	for (u64 i = 0; i < n_ops; i++)
		if (ops[i].at_exit == exit_no && ops[i].kind == OP_SET_REG && ops[i].idx < 31)
			v->x[ops[i].idx] = ops[i].value;
}

static int find_op(u64 exit_no, u64 kind, u64 *value)
{
	for (u64 i = 0; i < n_ops; i++)
		if (ops[i].at_exit == exit_no && ops[i].kind == kind) {
			if (value)
				*value = ops[i].value;
			return 1;
		}
	return 0;
}

/* kvm_rec_pre_enter + kvm_handle_mmio_return: rec_enter for the entry after exit `exit_no`. */
static void pre_enter(struct kvm_vcpu *v, u64 rd, u64 rec, long exit_no)
{
	struct rec_enter *e = &rec_run.enter;
	u64 data;

	e->flags = 0;	/* "Reset the emulation flags for the next run of the REC" (v9-16) */
	if (exit_no < 0)
		return;
	if (v->mmio_pending) {
		v->mmio_pending = 0;
		if (!(v->fault_esr & ESR_WNR)) {
			u64 size = 1UL << ESR_SAS(v->fault_esr);

			data = 0;
			find_op((u64)exit_no, OP_MMIO_DATA, &data);
			if (size < 8)
				data &= (1UL << (8 * size)) - 1;
			if (!(v->fault_esr & ESR_SF))
				data &= 0xffffffffUL;
			e->gprs[0] = data;
		}
		e->flags |= REC_ENTER_FLAG_EMULATED_MMIO;
	}
	if (v->prev_reason == RMI_EXIT_HOST_CALL || v->prev_reason == RMI_EXIT_PSCI) {
		for (int i = 0; i < REC_RUN_GPRS; i++)
			e->gprs[i] = v->x[i];
	} else if (v->prev_reason == RMI_EXIT_RIPAS_CHANGE) {
		if (find_op((u64)exit_no, OP_RIPAS_REJECT, 0)) {
			e->flags |= REC_ENTER_FLAG_RIPAS_RESPONSE;
		} else {
			/* kvm_complete_ripas_change: RTT_SET_RIPAS until the range is done. */
			u64 base = v->ripas_base;

			while (base < v->ripas_top) {
				struct smc_res r = rmi("RTT_SET_RIPAS", 0, RMI_RTT_SET_RIPAS, rd, rec,
						       base, v->ripas_top, 0);
				if (r.x0 != 0 || r.x1 <= base)
					break;
				base = r.x1;
			}
		}
	}
	for (u64 i = 0; i < n_ops; i++)
		if (ops[i].at_exit == (u64)exit_no && ops[i].kind == OP_ENTER_GPR && ops[i].idx < 31)
			e->gprs[ops[i].idx] = ops[i].value;
}

static u64 recs[MAX_RECS];
static u64 n_recs;

/* [PATCH v9 23/43]: KVM completes CPU_ON and AFFINITY_INFO aimed at another REC with
 * RMI_PSCI_COMPLETE (realm_psci_complete), status PSCI_SUCCESS, before re-entering. */
static void psci_complete(const struct rec_exit *x)
{
	u64 fid = x->gprs[0] & 0xffffffffUL, target = x->gprs[1] & 0xff;

	if (fid != PSCI_CPU_ON_32 && fid != PSCI_CPU_ON_64 && fid != PSCI_AFFINITY_INFO_32 &&
	    fid != PSCI_AFFINITY_INFO_64)
		return;
	if (target < n_recs)
		rmi("PSCI_COMPLETE", 0, RMI_PSCI_COMPLETE, recs[0], recs[target], 0, 0, 0);
}

/* handle_rec_exit: what KVM takes from rec_exit; 0 to stop (nothing KVM would re-enter). */
static int handle_exit(struct kvm_vcpu *v)
{
	struct rec_exit *x = &rec_run.exit;

	v->fault_esr = x->esr;
	v->prev_reason = x->exit_reason;
	switch (x->exit_reason) {
	case RMI_EXIT_SYNC:
		if (ESR_EC(x->esr) != EC_DABT_LOW || !(x->esr & ESR_ISV))
			return 0;	/* not MMIO: KVM would fail KVM_RUN or map memory */
		if (x->esr & ESR_WNR)
			v->x[0] = x->gprs[0];	/* SRT arrives as 0 (rec_exit_sync_dabt) */
		v->mmio_pending = 1;
		return 1;
	case RMI_EXIT_IRQ:
	case RMI_EXIT_FIQ:
		return 1;
	/* Every host call goes to the VMM (the scenario) untouched, as the demo VMM's SMCCC
	 * filter forwards its function id; KVM's own SMCCC handling (x0 = NOT_SUPPORTED for an
	 * unknown id) is not modelled, nor KVM's PSCI results in its copy: only the RMM reads
	 * rec_enter here, and it reads nothing after a PSCI exit. */
	case RMI_EXIT_PSCI:
		psci_complete(x);
		/* KVM's copy takes the published gprs either way */
		__attribute__((fallthrough));
	case RMI_EXIT_HOST_CALL:
		for (int i = 0; i < REC_RUN_GPRS; i++)
			v->x[i] = x->gprs[i];
		return 1;
	case RMI_EXIT_RIPAS_CHANGE:
		v->ripas_base = x->ripas_base;
		v->ripas_top = x->ripas_top;
		return 1;
	default:
		return 0;
	}
}

static void print_exit(u64 exit_no, u64 ret)
{
	struct rec_exit *x = &rec_run.exit;

	begin("exit");
	field_dec("realm", current_realm);
	field_dec("n", exit_no);
	field_hex("ret", ret);
	if (ret == 0) {
		field_hex("reason", x->exit_reason);
		field_hex("esr", x->esr);
		field_hex("far", x->far);
		field_hex("hpfar", x->hpfar);
		field_gprs("gprs", x->gprs);
		field_hex("ripas_base", x->ripas_base);
		field_hex("ripas_top", x->ripas_top);
		field_hex("ripas_value", x->ripas_value & 0xff);
		field_hex("imm", x->imm & 0xffffffffUL);
		field_hex("cntv_ctl", x->cntv_ctl);
		field_hex("cntp_ctl", x->cntp_ctl);
		if (abi == RMI_ABI_2_0)
			field_hex("plane", x->plane);
	}
	end();
}

static void print_enter(u64 entry_no)
{
	begin("enter");
	field_dec("realm", current_realm);
	field_dec("n", entry_no);
	field_hex("flags", rec_run.enter.flags);
	field_gprs("gprs", rec_run.enter.gprs);
	end();
}

/* RMI 2.0 REC_CREATE: a stateful operation. While it answers RMI_INCOMPLETE, give it the
 * delegated granules it asks for (OP_MEM_DONATE), or let it go on (OP_CONTINUE). */
static void rec_create_2(u64 rd, u64 rec)
{
	struct smc_res r = rmi("REC_CREATE", 0, RMI_REC_CREATE, rd, rec, (u64)&rec_params, 0, 0);
	u64 handle = r.x1, req = r.x2;

	for (int step = 0; step < 64 && (r.x0 & 0xff) == RMI_INCOMPLETE; step++) {
		if (RMI_OP_MEM_REQ(r.x0) == RMI_OP_MEM_REQ_DONATE) {
			u64 n = RMI_OP_DONATE_BLK_COUNT(req);

			if (RMI_OP_DONATE_BLK_SIZE(req) != 0 || n == 0 || n > GRANULE / 8)
				break;
			for (u64 i = 0; i < n; i++)
				donate_list[i] = RMI_ADDR_RDESC_4K(granule(), 1);
			r = rmi("OP_MEM_DONATE", 0, RMI_OP_MEM_DONATE, handle, (u64)donate_list, n,
				0, 0);
			req = r.x2;
		} else {
			r = rmi("OP_CONTINUE", 0, RMI_OP_CONTINUE, handle, 0, 0, 0, 0);
			req = r.x2;
		}
	}
	if (r.x0 != 0) {
		begin("fail");
		field_dec("realm", current_realm);
		field_str("cmd", "REC_CREATE");
		field_hex("ret", r.x0);
		end();
		power_off();
	}
}

static void run_realm(const u8 *blob, const struct realm_scn *s)
{
	u64 rd, rtt_root, rtt, rec, aux_count, ipa, top;
	struct kvm_vcpu vcpu;
	struct smc_res r;

	ops = (const struct op *)(blob + s->ops_off);
	n_ops = s->n_ops;

	/* realm_create_rd ([PATCH v9 07/43]): RD and the concatenated starting-level RTTs. */
	rd = granule();
	/* Two level-1 tables for a 40-bit IPA space (TF-RMM realm.c s2_num_root_rtts), 8 KiB
	 * aligned as KVM's stage-2 pgd is. */
	if (pool_next & GRANULE)
		granule();
	rtt_root = granule();
	granule();
	if (abi == RMI_ABI_2_0) {
		/* The same parameters; RMI 2.0 picks the VMID itself and has no planes here. */
		struct realm_params_2 *p = &realm_params_2;

		zero(p, sizeof(*p));
		p->flags0 = s->flags;
		p->s2sz = s->s2sz;
		p->sve_vl = s->sve_vl;
		p->num_bps = s->num_bps;
		p->num_wps = s->num_wps;
		p->pmu_num_ctrs = s->pmu_num_ctrs;
		p->algorithm = s->algorithm;
		p->rtt_base = rtt_root;
		p->rtt_level_start = (long)s->rtt_level_start;
		p->rtt_num_start = 2;
		rmi("REALM_CREATE", 1, RMI_REALM_CREATE, rd, (u64)p, 0, 0, 0);
	} else {
		zero(&realm_params, sizeof(realm_params));
		realm_params.flags = s->flags;
		realm_params.s2sz = s->s2sz;
		realm_params.sve_vl = s->sve_vl;
		realm_params.num_bps = s->num_bps;
		realm_params.num_wps = s->num_wps;
		realm_params.pmu_num_ctrs = s->pmu_num_ctrs;
		realm_params.algorithm = (u8)s->algorithm;
		realm_params.vmid = (unsigned short)s->vmid;
		realm_params.rtt_base = rtt_root;
		realm_params.rtt_level_start = (long)s->rtt_level_start;
		realm_params.rtt_num_start = 2;
		rmi("REALM_CREATE", 1, RMI_REALM_CREATE, rd, (u64)&realm_params, 0, 0, 0);
	}

	/* RTTs down to level 3 over the 2 MiB that holds the image and every RIPAS range. */
	ipa = s->image_ipa & ~(S2_L1_BLOCK - 1);
	rtt = granule();
	rmi("RTT_CREATE", 1, RMI_RTT_CREATE, rd, rtt, ipa, 2, 0);
	ipa = s->image_ipa & ~(S2_L2_BLOCK - 1);
	rtt = granule();
	rmi("RTT_CREATE", 1, RMI_RTT_CREATE, rd, rtt, ipa, 3, 0);

	/* KVM_CAP_ARM_RME_INIT_RIPAS_REALM: RTT_INIT_RIPAS until the range is done. */
	for (ipa = s->init_ripas_base; ipa < s->init_ripas_top; ipa = r.x1) {
		r = rmi("RTT_INIT_RIPAS", 1, RMI_RTT_INIT_RIPAS, rd, ipa, s->init_ripas_top, 0, 0);
		if (r.x1 <= ipa)
			break;
	}

	/* KVM_CAP_ARM_RME_POPULATE_REALM with MEASURE: DATA_CREATE granule by granule. */
	top = s->image_ipa + s->image_size;
	for (ipa = s->image_ipa; ipa < top; ipa += GRANULE) {
		u64 data = granule();
		u64 src = (u64)blob + s->image_off + (ipa - s->image_ipa);

		rmi(abi == RMI_ABI_2_0 ? "RTT_DATA_MAP_INIT" : "DATA_CREATE", 1, RMI_DATA_CREATE,
		    rd, data, ipa, src, RMI_MEASURE_CONTENT);
	}

	/* kvm_create_rec ([PATCH v9 11/43]) for each vCPU in MPIDR order: x0-x7 and pc as the
	 * VMM set them; only vCPU 0 starts runnable. */
	aux_count = 0;
	if (abi == RMI_ABI_1_0) {
		r = rmi("REC_AUX_COUNT", 1, RMI_REC_AUX_COUNT, rd, 0, 0, 0, 0);
		aux_count = r.x1;
	}
	n_recs = s->n_recs < 1 ? 1 : (s->n_recs > MAX_RECS ? MAX_RECS : s->n_recs);
	for (u64 idx = 0; idx < n_recs; idx++) {
		recs[idx] = granule();
		zero(&rec_params, sizeof(rec_params));
		rec_params.flags = idx == 0 ? REC_PARAMS_FLAG_RUNNABLE : 0;
		rec_params.mpidr = idx;
		rec_params.pc = idx == 0 ? s->rec_pc : s->secondary_pc;
		for (int i = 0; i < REC_CREATE_NR_GPRS; i++)
			rec_params.gprs[i] = idx == 0 ? s->rec_gprs[i] : 0;
		rec_params.num_aux = aux_count;
		for (u64 i = 0; i < aux_count && i < MAX_REC_AUX_GRANULES; i++)
			rec_params.aux[i] = granule();
		if (abi == RMI_ABI_2_0)
			rec_create_2(rd, recs[idx]);
		else
			rmi("REC_CREATE", 1, RMI_REC_CREATE, rd, recs[idx], (u64)&rec_params, 0, 0);
	}
	rec = recs[0];

	rmi("REALM_ACTIVATE", 1, RMI_REALM_ACTIVATE, rd, 0, 0, 0, 0);

	/* The KVM_RUN loop. */
	zero(&rec_run, sizeof(rec_run));
	zero(&vcpu, sizeof(vcpu));
	for (long n = 0; n < (long)s->max_exits; n++) {
		u64 ret;

		pre_enter(&vcpu, rd, rec, n - 1);
		print_enter((u64)n);
		ret = smc(RMI_REC_ENTER, rec, (u64)&rec_run, 0, 0, 0).x0;
		print_exit((u64)n, ret);
		if (ret != 0)
			return;	/* 0x102 after SYSTEM_OFF: KVM_EXIT_SHUTDOWN; anything else: ENXIO */
		if (!handle_exit(&vcpu))
			return;
		apply_set_reg(&vcpu, (u64)n);
	}
}

void host_main(void)
{
	const u8 *blob = (const u8 *)SCENARIO_ADDR;
	const struct scenario *sc = (const struct scenario *)blob;
	struct smc_res r;

	begin("start");
	end();
	if (sc->magic != SCENARIO_MAGIC || sc->n_realms > MAX_REALMS) {
		begin("fail");
		field_str("cmd", "no scenario blob");
		end();
		return;
	}
	abi = sc->rmi_abi == RMI_ABI_2_0 ? RMI_ABI_2_0 : RMI_ABI_1_0;
	r = rmi("VERSION", 0, RMI_VERSION, abi, 0, 0, 0, 0);
	if (r.x0 != 0) {
		begin("fail");
		field_str("cmd", "VERSION");
		field_hex("ret", r.x0);
		end();
		return;
	}
	if (abi == RMI_ABI_2_0)
		rmi("RMM_ACTIVATE", 1, RMI_RMM_ACTIVATE, 0, 0, 0, 0, 0);
	rmi("FEATURES", 1, RMI_FEATURES, 0, 0, 0, 0, 0);
	for (u64 i = 0; i < sc->n_realms; i++) {
		current_realm = i;
		run_realm(blob, (const struct realm_scn *)(blob + sc->realm_off[i]));
	}
	begin("done");
	end();
}
