# Bundled exercise 1: what a write does before the REC exists.
title Before REC creation
intro The realm has been created and its image populated, but no REC exists yet.
intro KVM_ARM_VCPU_FINALIZE(REC) will call RMI_REC_CREATE with some of the registers KVM holds now.

say REC_CREATE takes its arguments from KVM's copy of the vCPU.
ask x0 0x1111
ask x8 0x8888
ask pc 0x80000000
say Not every register can be written on a realm at all.
ask sp 0x10
say ID_AA64DFR0_EL1 was a realm parameter (the watchpoint count) until REALM_CREATE.
ask ID_AA64DFR0_EL1 0x10205006
