"""Every way the sim's RMM answers differently from TF-RMM in the tier's scenario, with the reason.

The tier (test_rmm.py) fails on a difference that is not here and on an entry here that no longer
occurs. Physical addresses and measurements never reach the comparison: the records carry only
what both hosts see (RMI status codes, output IPAs, rec_enter, rec_exit), so no entry is needed
for them. A difference in a report exit shows again in the next `enter` record, because the host
copies a host call's gprs into rec_enter as KVM does; entries cover both.

Found and fixed in the sim instead of listed: rec_exit.far of an emulatable abort is the offset
within the granule, not the page (backends/sim/rmm.py; TF-RMM exit.c `& ~GRANULE_MASK`).
"""

from __future__ import annotations

from backends import guests
from tests.rmm.cases import probe_points
from tests.rmm.compare import SIM_BUG, Allowed

DFSC_LEVEL = 0x3  # ESR_EL2.ISS.DFSC[1:0]: the level of a translation fault
DFSC_TRANSLATION = 0b0001_00  # DFSC[5:2] = 0b0001: translation fault, level in [1:0]


def _only_the_fault_level(real: int | str, sim: int | str) -> bool:
    if not isinstance(real, int) or not isinstance(sim, int):
        return False
    both_translation = all((v & 0x3C) == DFSC_TRANSLATION for v in (real, sim))
    return both_translation and (real ^ sim) & ~DFSC_LEVEL == 0


def _report_of(stage: str) -> tuple[str, ...]:
    """The `where` of a stage's report exit and of the entry after it."""
    p = next(p for p in probe_points() if p.stage.name == stage)
    return (f"exit {p.report} ", f"enter {p.report + 1}")


ALLOWED: tuple[Allowed, ...] = (
    Allowed(
        ("exit",), ("esr",), _only_the_fault_level,
        "The level of the stage-2 translation fault behind an MMIO exit (DFSC[1:0]). TF-RMM "
        "passes the hardware's: level 1, because no RTT exists below the root for the "
        "unprotected UART IPA (the host, like KVM, maps nothing there). The sim has no stage-2 "
        "tables and its CPU reports every stage-2 fault at level 3 (backends/sim/cpu.py). KVM "
        "only checks that it is a translation fault, so no verdict depends on the level.",
    ),
    Allowed(
        ("exit", "enter"), ("gprs[3]",), lambda real, sim: (real, sim) == (0, guests.RIPAS_RAM),
        "x3 after RSI_IPA_STATE_SET: TF-RMM answers the call with UPDATE_REC_EXIT_TO_HOST "
        "(runtime/rsi/memory.c: x0 = RSI_SUCCESS, x1 = top), and handle_realm_rsi (exit.c) "
        "writes x0-x4 back from a zeroed result, so x3 (the requested RIPAS) reads 0 after the "
        "change completes; the sim leaves x3 as the guest set it. Fix: backends/sim/rsi.py "
        "_ipa_state_set should update the REC (x0 = RSI_SUCCESS, x1 = top, x2-x3 = 0) and exit; "
        "not done here because H1's branch rewrites that function.",
        where=_report_of("ripas-change"), kind=SIM_BUG,
    ),
    Allowed(
        ("exit", "enter"), ("gprs[2]", "gprs[3]"), lambda real, sim: (real, sim) == (0, 1),
        "x2 and x3 after PSCI CPU_SUSPEND, where they still held what the RIPAS change left "
        "(x3: the RIPAS the sim did not clear; x2: RSI_REJECT in the refused case): TF-RMM's "
        "PSCI handler returns UPDATE_REC_EXIT_TO_HOST, which zeroes x1-x3 (cca-semantics.md "
        "Corrections 10); the sim sets only x0. H1's Corrections commit (19a9454) fixes it in "
        "backends/sim/rsi.py: drop this entry when that lands and the tier says it is stale.",
        where=_report_of("psci"), kind=SIM_BUG,
    ),
    Allowed(
        ("exit", "stream"), ("reason", "imm", "gprs[0]", "gprs[2]", "gprs[3]", "record"),
        lambda real, sim: True,
        "The PSCI probe realm from its first exit on: TF-RMM forwards CPU_ON for another REC to "
        "the host (RMI_EXIT_PSCI, gprs[0] = FID, gprs[1] = target MPIDR) and waits for "
        "RMI_PSCI_COMPLETE; the sim's RMM (backends/sim/rsi.py _psci) answers CPU_ON and "
        "AFFINITY_INFO with NOT_SUPPORTED and no exit, and has no PSCI_COMPLETE. H1's "
        "Corrections work (PsciRequest, Rmm.psci_complete) matches TF-RMM exactly here: drop this "
        "entry when that lands and the tier says it is stale.",
        where=("psci-probe",), kind=SIM_BUG,
    ),
)

# RMM 2.0 (TF-RMM v0.9.0, rmm-2.0/) against the sim's RMM, which models RMM 1.0 only: on top of
# the entries above (which all occur there too), the one difference the demo's path shows.
ALLOWED_2_0: tuple[Allowed, ...] = (
    Allowed(
        ("REC_CREATE",), ("ret",), lambda real, sim: (real, sim) == (0x10D, 0),
        "RMI 2.0 makes REC_CREATE a stateful operation: its first answer is RMI_INCOMPLETE "
        "with a donation request (RmiResultDataIncomplete MEM_REQ = DONATE) for the REC's "
        "auxiliary granules, which RMI 1.0 took from REC_AUX_COUNT and rec_params. The host "
        "completes it with OP_MEM_DONATE and OP_CONTINUE, which must succeed.",
    ),
)
