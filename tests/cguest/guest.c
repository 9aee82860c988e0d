/* A C guest for the sim's CPU: MMU on, an exception vector, RSI calls, PSCI SYSTEM_OFF. */
typedef unsigned long u64;

#define RAM_BASE 0x80000000UL
#define RSI_VERSION 0xC4000190UL
#define RSI_REALM_CONFIG 0xC4000196UL
#define RSI_IPA_STATE_SET 0xC4000197UL
#define RSI_HOST_CALL 0xC4000199UL
#define PSCI_SYSTEM_OFF 0x84000008UL

u64 last_esr;
static u64 l1[512] __attribute__((aligned(4096)));
static u64 config[512] __attribute__((aligned(4096)));
static u64 host_call[32] __attribute__((aligned(256)));

struct ret { u64 x0, x1; };

static struct ret smc(u64 fid, u64 a1, u64 a2, u64 a3, u64 a4)
{
	register u64 x0 asm("x0") = fid, x1 asm("x1") = a1, x2 asm("x2") = a2;
	register u64 x3 asm("x3") = a3, x4 asm("x4") = a4;
	asm volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4) : : "memory");
	return (struct ret){x0, x1};
}

/* PSCI's conduit: HVC in a normal VM (KVM's; Linux 6.1 answers every SMC NOT_SUPPORTED),
 * SMC in a realm (the RMM's). */
static void hvc(u64 fid)
{
	register u64 x0 asm("x0") = fid;
	asm volatile("hvc #0" : "+r"(x0) : : "memory");
}

static void put(u64 uart, u64 v) { *(volatile u64 *)uart = v; }

#define GIB_MASK (~((1UL << 30) - 1))

static void mmu_on(u64 uart_va, u64 uart_ipa)
{
	/* 1 GiB blocks: RAM normal write-back (attr 1), the UART's GiB device (attr 0). */
	l1[RAM_BASE >> 30] = RAM_BASE | (1UL << 10) | (1 << 2) | 1;
	l1[uart_va >> 30] = (uart_ipa & GIB_MASK) | (1UL << 10) | 1 | (1UL << 54);
	asm volatile("msr mair_el1, %0" : : "r"(0xff00UL));
	/* T0SZ=32, IPS=40 bits, 4K granules for both halves, EPD1, inner-shareable write-back walks. */
	asm volatile("msr tcr_el1, %0" : : "r"(0x280803F20UL));
	asm volatile("msr ttbr0_el1, %0; isb" : : "r"(l1));
	u64 sctlr;
	asm volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
	asm volatile("msr sctlr_el1, %0; isb" : : "r"(sctlr | 1 | (1 << 2) | (1 << 12)));
}

#define REALM_UART_IPA 0x8009000000UL   /* 0x09000000 at the unprotected alias (bit 39) */
#define NORMAL_UART_IPA 0x09000000UL
#define HOSTCALL_FID 0xC3000001UL

void main(u64 realm, u64 uart_ipa, u64 hostcall_fid)
{
	if (!uart_ipa) {
		/* Started without arguments (`realmtui --guest`): a realm is where RSI answers. */
		realm = smc(RSI_VERSION, 0x10000, 0, 0, 0).x0 == 0;
		uart_ipa = realm ? REALM_UART_IPA : NORMAL_UART_IPA;
		hostcall_fid = HOSTCALL_FID;
	}
	u64 sctlr, uart = uart_ipa & 0xffffffffUL;  /* a realm's UART at its unprotected alias */
	mmu_on(uart, uart_ipa);
	asm volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
	put(uart, sctlr & 1);                  /* 1: the MMU is on */
	asm volatile("svc #0x42");
	put(uart, last_esr);                   /* ESR_EL1 of the SVC, from the vector */
	struct ret r = smc(RSI_VERSION, 0x10000, 0, 0, 0);
	put(uart, r.x0);                       /* RSI_SUCCESS in a realm, NOT_SUPPORTED else */
	if (realm) {
		r = smc(RSI_REALM_CONFIG, (u64)config, 0, 0, 0);
		put(uart, r.x0 | config[0] << 8);  /* status, and the IPA width it wrote */
		r = smc(RSI_IPA_STATE_SET, RAM_BASE + 0x100000, RAM_BASE + 0x102000, 1, 0);
		put(uart, r.x0);
		host_call[0] = 7;                  /* imm */
		host_call[1] = hostcall_fid;       /* gprs[0]: the SMCCC id the host forwards */
		r = smc(RSI_HOST_CALL, (u64)host_call, 0, 0, 0);
		put(uart, host_call[2]);           /* gprs[1] as the host answered */
	}
	if (realm)
		smc(PSCI_SYSTEM_OFF, 0, 0, 0, 0);
	else
		hvc(PSCI_SYSTEM_OFF);
}
