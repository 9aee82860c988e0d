"""Facts of the Arm architecture both kernels and the VMM share: register width and the 4 KiB
translation granule (Arm ARM D8, "The AArch64 Virtual Memory System Architecture") that KVM's
pages and the RMM's granules both are."""

from __future__ import annotations

MASK64 = (1 << 64) - 1
GRANULE_SIZE = 0x1000  # PAGE_SIZE in the kernel, GRANULE_SIZE in TF-RMM
# MPIDR_EL1's affinity fields Aff3 [39:32], Aff2-Aff0 [23:0] (MPIDR_HWID_BITMASK in the kernel).
MPIDR_AFFINITY_MASK = 0xFF_00FF_FFFF
