# Bundled exercise 3: after RSI_HOST_CALL.
title After a host call
intro The realm made an RSI_HOST_CALL (E3): the RMM exited to the host with the call's registers.
start E3
say x0-x30 came from the guest's RsiHostCall struct.
ask x1 0xfeedface
ask x30 0x30
ask pc 0x80000000
ask SCTLR_EL1 0x0
