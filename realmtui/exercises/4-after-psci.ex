# Bundled exercise 4: after the guest's PSCI SYSTEM_OFF, and after the shutdown.
title After PSCI
intro The guest called PSCI SYSTEM_OFF (E8): KVM turned it into a system event for the VMM.
start E8
say After a PSCI exit KVM copies the registers into rec_enter. Does the RMM read them?
ask x0 0x0
ask x1 0x2
ask sp 0x10
run     # E9: REC_ENTER on a realm that is SYSTEM_OFF
expect exit SHUTDOWN
say The realm is off now.
ask x2 0x3
