/* Entry, stack, exception vector and stage-1 tables for the C guest (tests/test_cpu.py).
 * x0 = 1 for a realm, 0 for a normal VM; x1 = the UART's IPA; x2 = the host call's id, all
 * passed to main. With x1 = 0 (no arguments) main finds them itself. */
	.section .text.start
	.global _start
_start:
	adrp	x9, stack_top
	add	x9, x9, :lo12:stack_top
	mov	sp, x9
	adrp	x9, vectors
	add	x9, x9, :lo12:vectors
	msr	vbar_el1, x9
	bl	main
1:	b	1b

/* Synchronous exceptions from the current EL with SP_ELx: record ESR_EL1 and return past
 * the instruction that raised it (an SVC returns to the next one already). */
	.balign	2048
vectors:
	.space	0x200
	mrs	x9, esr_el1
	adrp	x10, last_esr
	str	x9, [x10, :lo12:last_esr]
	eret
	.balign	2048
