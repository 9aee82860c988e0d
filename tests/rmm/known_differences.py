"""Every way the sim's RMM answers differently from TF-RMM in the tier's scenario, with the reason.

The tier (test_rmm.py) fails on a difference that is not here and on an entry here that no longer
occurs. Physical addresses and measurements never reach the comparison: the records carry only
what both hosts see (RMI status codes, output IPAs, rec_enter, rec_exit), so no entry is needed
for them. A difference in a report exit shows again in the next `enter` record, because the host
copies a host call's gprs into rec_enter as KVM does; entries cover both.

Found and fixed in the sim instead of listed (README, "Proven against a real RMM"): rec_exit.far
of an emulatable abort (backends/sim/rmm/exit.py), x3 after RSI_IPA_STATE_SET
(backends/sim/rmm/rsi.py), the RMI encoding of num_bps/num_wps (backends/sim/rmm/smc_rmi.py)
and RMI_FEATURES' field layout (backends/sim/rmm/rmi.py).
"""

from __future__ import annotations

from tests.rmm.compare import Allowed

DFSC_LEVEL = 0x3  # ESR_EL2.ISS.DFSC[1:0]: the level of a translation fault
DFSC_TRANSLATION = 0b0001_00  # DFSC[5:2] = 0b0001: translation fault, level in [1:0]


def _only_the_fault_level(real: int | str, sim: int | str) -> bool:
    if not isinstance(real, int) or not isinstance(sim, int):
        return False
    both_translation = all((v & 0x3C) == DFSC_TRANSLATION for v in (real, sim))
    return both_translation and (real ^ sim) & ~DFSC_LEVEL == 0


SHA_256_512 = 0x3 << 32  # RmiFeatureRegister0.HASH_SHA_256/512 (TF-RMM rel0 smc-rmi.h)


def _same_layout(real: int | str, sim: int | str) -> bool:
    if not isinstance(real, int) or not isinstance(sim, int):
        return False
    return all(v & SHA_256_512 == SHA_256_512 and v >> 42 == 0 for v in (real, sim))


FAULT_LEVEL = Allowed(
    ("exit",), ("esr",), _only_the_fault_level,
    "The level of the stage-2 translation fault behind an MMIO exit (DFSC[1:0]). TF-RMM passes "
    "the hardware's: level 1, because no RTT exists below the root for the unprotected UART "
    "IPA (the host, like KVM, maps nothing there). The sim has no stage-2 tables and its CPU "
    "reports every stage-2 fault at level 3 (backends/sim/cpu.py). KVM only checks that it is "
    "a translation fault, so no verdict depends on the level.",
)
FEATURES_1_0 = Allowed(
    ("FEATURES",), ("x1",), _same_layout,
    "RMI_FEATURES register 0 describes the CPU under the RMM: QEMU's `max` CPU for TF-RMM "
    "(52-bit S2SZ with LPA2, SVE up to VL 15, 6 breakpoints, 4 watchpoints, 6 PMU counters), "
    "the sim's imaginary host for the sim (48-bit, VL 3, the same debug counts). Both must use "
    "TF-RMM's field layout (SHA-256 and SHA-512 at bits 32-33, nothing above bit 41).",
)
REC_AUX_1_0 = Allowed(
    ("REC_AUX_COUNT",), ("x1",), lambda real, sim: (real, sim) == (16, 0),
    "TF-RMM keeps part of a REC's state (SIMD context, attestation buffers) in 16 auxiliary "
    "granules the host donates at REC_CREATE; the sim keeps it all in the REC itself and asks "
    "for none. The host delegates what each RMM asks for.",
)

ALLOWED: tuple[Allowed, ...] = (FAULT_LEVEL, FEATURES_1_0, REC_AUX_1_0)

# RMM 2.0 (TF-RMM v0.9.0, rmm-2.0/) against the sim's RMM, which models RMM 1.0 only: the
# entries above but the two RMI 1.0 answers (RMI 2.0 has no REC_AUX_COUNT and another FEATURES
# layout), and what RMI 2.0 changes on the demo's path.
ALLOWED_2_0: tuple[Allowed, ...] = (
    FAULT_LEVEL,
    Allowed(
        ("VERSION",), ("x1",), lambda real, sim: (real, sim) == (0x2_0000, 0x1_0000),
        "RMI_VERSION's lower revision: TF-RMM v0.9.0 implements RMI 2.0 only, the sim 1.0.",
    ),
    Allowed(
        ("FEATURES",), ("x1",), lambda real, sim: True,
        "RMI 2.0 lays RMI_FEATURES register 0 out differently (no hash-algorithm bits at "
        "32-33, new plane and device-assignment fields); the sim answers in RMI 1.0's layout.",
    ),
    Allowed(
        ("REC_CREATE",), ("ret",), lambda real, sim: (real, sim) == (0x10D, 0),
        "RMI 2.0 makes REC_CREATE a stateful operation: its first answer is RMI_INCOMPLETE "
        "with a donation request (RmiResultDataIncomplete MEM_REQ = DONATE) for the REC's "
        "auxiliary granules, which RMI 1.0 took from REC_AUX_COUNT and rec_params. The host "
        "completes it with OP_MEM_DONATE and OP_CONTINUE, which must succeed.",
    ),
)
