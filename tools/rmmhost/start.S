/* Entry of the RMI host, loaded by TF-A BL2 as BL33 at 0x60000000 and entered at NS-EL2 with
 * the MMU off, no stack and VBAR_EL2 = 0 (../shared/rmm-firmware/README.md, "Facts for a
 * bare-metal NS-EL2 host program"). SPDX-License-Identifier: BSD-3-Clause */
	.section .text.start, "ax"
	.global _start
_start:
	ldr	x0, =__stack_top
	mov	sp, x0
	adr	x0, vectors
	msr	vbar_el2, x0
	isb
	ldr	x0, =__bss_start
	ldr	x1, =__bss_end
1:	cmp	x0, x1
	b.hs	2f
	str	xzr, [x0], #8
	b	1b
2:	bl	host_main
	b	power_off

	.global power_off
power_off:
	ldr	x0, =0x84000008		/* PSCI SYSTEM_OFF: QEMU exits with status 0 */
	smc	#0
	b	.

/* Any exception taken to NS-EL2 is a bug of the host: report it and stop. */
	.macro	vec
	.balign	0x80
	mrs	x0, esr_el2
	mrs	x1, elr_el2
	mrs	x2, far_el2
	b	host_exception
	.endm
	.balign	0x800
vectors:
	.rept	16
	vec
	.endr
