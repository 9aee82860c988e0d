# Bundled exercise 2: after MMIO exits, a write and a read.
title After an MMIO exit
intro The realm runs. Its first exit is an MMIO write to the UART (E1).
finalize
activate
run
expect exit MMIO
say The guest wrote x0 to the UART; KVM emulates the write and resumes the REC.
ask x0 0x1234
ask pc 0x80000000
ask sp 0x10
run        # E2: another MMIO write
run        # E3: a host call
run        # E4: an MMIO write
run        # E5: the guest reads the UART into x5
expect exit MMIO
say E5 is an MMIO read: the guest waits for the data it reads.
ask x0 0xbad
ask x5 0x7
