"""Every way the simulated kernel answers differently from the real arm64 KVM of the tier
(Debian's Linux 6.1 under QEMU 10.0 TCG from bookworm-backports, `-cpu max,pauth=off`),
with the reason.

The tier test (test_real_kernel.py) fails on a difference that is not here, on a listed one
whose answers changed, on a fixed sim bug that came back, and on a legitimate entry that no
longer occurs -- so this table stays what the README says it is. DIFFERENCES.md is generated
from it:

    python -m tests.arm64.known_differences > tests/arm64/DIFFERENCES.md

Keys are (kind, what). Kinds: `listed` (only one kernel lists the register), `order`, `get`,
`set` (the round trip's answer), `probe` (an errno probe), `exit` (a field of a demo exit),
`value` (a register's value at some exit, for registers both list). `sim`/`real` are the
answers as the comparison prints them; VARIES accepts any answer (counters, timers).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

LEGITIMATE = "legitimate"
SIM_BUG_FIXED = "sim bug fixed"
VARIES = "varies"


@dataclass(frozen=True)
class KnownDifference:
    kind: str
    cls: str
    what: str  # a register or probe; with `matches`, a description of the family
    sim: str  # for a fixed bug: what the sim answered before the fix
    real: str
    reason: str
    status: str = LEGITIMATE
    # fnmatch patterns of the registers this entry covers (a family, e.g. PMEVTYPER*_EL0);
    # empty: exactly `what`.
    matches: tuple[str, ...] = ()


def _new(what: str, cls: str, reason: str) -> KnownDifference:
    """A register that exists since a kernel newer than 6.1: the sim lists it, 6.1 does not."""
    return KnownDifference("listed", cls, what, "listed", "not listed", reason)


def _host(what: str, cls: str, sim: str, real: str, reason: str = "") -> KnownDifference:
    """A value that is a property of the host CPU: the sim's imaginary Neoverse-class part
    against QEMU 10.0's `max` CPU, as each kernel sanitises it."""
    return KnownDifference(
        "value", cls, what, sim, real,
        reason or "host CPU: the sim's imaginary Neoverse-class part vs QEMU's `-cpu max`",
    )


def _fixed(kind: str, cls: str, what: str, sim: str, real: str, reason: str,
           matches: tuple[str, ...] = ()) -> KnownDifference:
    return KnownDifference(kind, cls, what, sim, real, reason, SIM_BUG_FIXED, matches)


_UNKNOWN = "0x1de7ec7edbadc0de"  # reset_unknown's marker (arch/arm64/kvm/sys_regs.h)

KNOWN: tuple[KnownDifference, ...] = (
    # --- registers 6.1 does not have ----------------------------------------------------------
    _new("VENDOR_HYP_BMAP_2", "FW_FEAT_BMAP",
         "KVM_REG_ARM_VENDOR_HYP_BMAP_2 (hypercalls.c) came in v6.16, with the discovery of "
         "the implementations a VM may migrate between"),
    _new("CNTPCT_EL0", "SYSREG",
         "the physical timer became save/restorable through ONE_REG after 6.1 (the v6.4 timer "
         "offset rework, arch_timer.c); 6.1 lists only the virtual timer"),
    _new("CNTP_CTL_EL0", "SYSREG", "as CNTPCT_EL0: the physical timer is listed since v6.4"),
    _new("CNTP_CVAL_EL0", "SYSREG", "as CNTPCT_EL0: the physical timer is listed since v6.4"),
    *(
        _new(name, "SYSREG",
             f"{feature} support is newer than 6.1. v6.16 lists the register only when the "
             "VM's ID_AA64MMFR3_EL1 advertises the feature (sys_regs.c visibility); the sim "
             "lists it always, as the get-reg-list selftest's blessed list does, although its "
             "own ID_AA64MMFR3_EL1 reads 0")
        for name, feature in (
            ("SCTLR2_EL1", "FEAT_SCTLR2"), ("TCR2_EL1", "FEAT_TCR2"),
            ("PIRE0_EL1", "FEAT_S1PIE"), ("PIR_EL1", "FEAT_S1PIE"),
            ("POR_EL1", "FEAT_S1POE"), ("POR_EL0", "FEAT_S1POE"),
        )
    ),
    # --- the order of KVM_GET_REG_LIST --------------------------------------------------------
    *(
        KnownDifference(
            "order", "SYSREG", name, sim, real,
            "6.1's kvm_arm_copy_sys_reg_indices lists invariant_sys_regs (MIDR, REVIDR, "
            "CLIDR, AIDR, CTR) before walking sys_reg_descs; later kernels made them table "
            "entries, listed in encoding order",
        )
        for name, sim, real in (
            ("MIDR_EL1", "after DBGVCR32_EL2", "after CNTV_CVAL_EL0"),
            ("REVIDR_EL1", "after MPIDR_EL1", "after CNTV_CVAL_EL0"),
            ("CLIDR_EL1", "after CNTKCTL_EL1", "after CNTV_CVAL_EL0"),
            ("AIDR_EL1", "after CNTKCTL_EL1", "after CNTV_CVAL_EL0"),
            ("CTR_EL0", "after CSSELR_EL1", "after CNTV_CVAL_EL0"),
        )
    ),
    # --- probes -------------------------------------------------------------------------------
    KnownDifference(
        "probe", "-", "set pstate to AArch32 USR (0x10)", "EINVAL", "ok",
        "host CPU: guest.c set_core_reg accepts an AArch32 EL0 mode when the host has 32-bit "
        "EL0 (QEMU max: ID_AA64PFR0_EL1.EL0 = 2); the sim's host is AArch64-only (EL0 = 1)",
    ),
    # --- values: the host CPU -----------------------------------------------------------------
    _host("MIDR_EL1", "SYSREG", "0x410fd490", "0xf0510"),
    _host("CTR_EL0", "SYSREG", "0x8444c004", "0xb444c004",
          "host CPU: QEMU max sets CTR_EL0.IDC and DIC (no cache maintenance needed for "
          "instruction coherence)"),
    _host("CLIDR_EL1", "SYSREG", "0xa200023", "0x2000023"),
    _host("CCSIDR[0]", "DEMUX", "0x701fe01a", "0x700fe01a",
          "host CPU: cache geometry (CCSIDR through the demux, sys_regs.c)"),
    _host("CCSIDR[1]", "DEMUX", "0x701fe01a", "0x201fe012",
          "host CPU: cache geometry (CCSIDR through the demux, sys_regs.c)"),
    _host("CCSIDR[2]", "DEMUX", "0x707fe03a", "0x70ffe07a",
          "host CPU: cache geometry (CCSIDR through the demux, sys_regs.c)"),
    _host("SMCCC_ARCH_WORKAROUND_2", "FW", "0x3", "0x0",
          "host CPU: the Spectre-v4 state KVM reports (hypercalls.c, proton-pack.c); QEMU's "
          "max CPU gives KVM no answer, so 6.1 says NOT_AVAIL"),
    _host("ID_AA64PFR0_EL1", "SYSREG", "0x1100000011000011 / 0x1100000111000011",
          "0x1101001021110222 / 0x1101001121110222",
          "host CPU (the second value of each: the SVE vCPU, SVE = 1); QEMU max also has "
          "AArch32 EL0/EL1, AdvSIMD/FP half precision, GICv3 system registers, DIT"),
    _host("ID_AA64PFR1_EL1", "SYSREG", "0x0", "0x21"),
    _host("ID_AA64ZFR0_EL1", "SYSREG", "0x1", "0x110110100210021",
          "host CPU: QEMU max has SVE2 and its extensions; the sim's host has SVE only"),
    _host("ID_AA64DFR0_EL1", "SYSREG", "0x10305106", "0x10305506",
          "host CPU: PMUVer of the PMU vCPU -- PMUv3 (1) on the sim's host, PMUv3p4 (5) on "
          "QEMU max"),
    _host("ID_AA64ISAR0_EL1", "SYSREG", "0x221100010212120", "0x1221111110212120"),
    _host("ID_AA64ISAR1_EL1", "SYSREG", "0x0", "0x11211100211002"),
    _host("ID_AA64ISAR2_EL1", "SYSREG", "0x0", "0x100012"),
    _host("ID_AA64MMFR0_EL1", "SYSREG", "0x101122", "0x2100032310201126"),
    _host("ID_AA64MMFR1_EL1", "SYSREG", "0x10212122", "0x10102010312122"),
    _host("ID_AA64MMFR2_EL1", "SYSREG", "0x1011", "0x1221011112011011"),
    KnownDifference(
        "value", "SYSREG", "the AArch32 ID registers (ID_PFR*, ID_DFR0, ID_ISAR*, ID_MMFR*, "
        "MVFR*)", "0x0", VARIES,
        "host CPU: the sim's host has no AArch32, so they read as zero; QEMU max implements "
        "AArch32 and 6.1 passes the sanitised values through",
        matches=("ID_PFR?_EL1", "ID_DFR0_EL1", "ID_ISAR?_EL1", "ID_MMFR?_EL1", "MVFR?_EL1"),
    ),
    # --- values: what a real CPU does to the state KVM gives it -------------------------------
    KnownDifference(
        "value", "SYSREG", "CNTVCT_EL0", "0x0", VARIES,
        "the sim has no clock: its virtual counter reads 0; the real one counts",
    ),
    KnownDifference(
        "value", "SYSREG", "AFSR0_EL1, AFSR1_EL1 (after the first run)", _UNKNOWN, "0x0",
        "QEMU implements AFSR0/1_EL1 as RAZ/WI: reset_unknown's marker is loaded into the CPU "
        "at the first vcpu_load and comes back as 0 when KVM saves the context; the sim has "
        "no hardware to drop it",
        matches=("AFSR0_EL1", "AFSR1_EL1"),
    ),
    KnownDifference(
        "value", "SYSREG", "CSSELR_EL1 (after the first run)", _UNKNOWN, "0xe",
        "the CPU keeps only the CSSELR_EL1 bits it implements (Level, InD) of reset_unknown's "
        "marker once KVM has loaded it",
        matches=("CSSELR_EL1",),
    ),
    # --- values: 6.1's PMU reset against v6.7+ ------------------------------------------------
    KnownDifference(
        "value", "SYSREG", "PMCR_EL0", "0x3040", "0x410130ac / 0x410130a8",
        "6.1's reset_pmcr keeps the host's IMP/IDCODE and fills the writable bits from "
        "0xdecafbad (C is consumed at the first run: 0xac -> 0xa8); v6.7+ (\"KVM: arm64: PMU: "
        "Allow userspace to limit PMCR_EL0.N\") resets to LC | N",
    ),
    KnownDifference(
        "value", "SYSREG", "PMEVTYPER0-30_EL0", "0xc00000de", "0xc800c0de",
        "reset_pmevtyper masks reset_unknown's marker: 6.1 with ARMV8_PMU_EVTYPE_MASK "
        "(0xc800ffff), v6.7+ with kvm_pmu_evtyper_mask (pmu-emul.c: NSH only with EL2, the "
        "event number as wide as the vCPU's PMUVer -- 10 bits for the sim's PMUv3)",
        matches=("PMEVTYPER*_EL0",),
    ),
    KnownDifference(
        "value", "SYSREG", "PMCCNTR_EL0 (after the first run)", _UNKNOWN, "0x0",
        "6.1's PMCR_EL0 reset value has C set (from 0xdecafbad), so the first vcpu load "
        "zeroes the cycle counter (kvm_pmu_handle_pmcr); v6.7+ resets PMCR to 0 and the "
        "counter keeps reset_unknown's marker",
        matches=("PMCCNTR_EL0",),
    ),
    # --- sim bugs the real kernel showed, fixed in backends/sim/ ------------------------------
    _fixed("order", "SYSREG", "CNTV_CTL_EL0, CNTVCT_EL0, CNTV_CVAL_EL0", "after TPIDRRO_EL0",
           "after VENDOR_HYP_BMAP",
           "the three timer ids come between the firmware registers and the sysregs "
           "(guest.c kvm_arm_copy_reg_indices -> copy_timer_indices, kept by the CCA series); "
           "the sim sorted them among the sysregs by encoding",
           matches=("CNTV_CTL_EL0", "CNTVCT_EL0", "CNTV_CVAL_EL0")),
    _fixed("probe", "-", "init with the REC feature (bit 9) on a normal VM", "EINVAL", "ENOENT",
           "arm.c kvm_vcpu_init_check_features: a feature bit beyond KVM_VCPU_MAX_FEATURES is "
           "ENOENT; EINVAL is for known features the VM cannot have (the sim gave EINVAL for "
           "every refused bit; with the CCA series bit 9 is known, and EINVAL is right there)"),
    _fixed("probe", "-", "reg-list of an SVE vCPU before finalize", "ok 222", "EPERM",
           "arm.c KVM_GET_REG_LIST refuses an unfinalized vCPU with EPERM; only [PATCH v9 "
           "39/43] removes that check, so a sim kernel without the series must keep it"),
    _fixed("value", "CORE", "x0 (at the SYSTEM_OFF exit)", "0x84000008", "0xfffffffffffffffa",
           "psci.c kvm_psci_0_2_call preloads x0 with PSCI_RET_INTERNAL_FAILURE for a VMM that "
           "resumes after SYSTEM_OFF/RESET, and smccc_set_retval zeroes x1-x3",
           matches=("x0",)),
    _fixed("value", "CORE", "x1 (at the SYSTEM_OFF exit)", "0x1122334455667788", "0x0",
           "as x0: smccc_set_retval(vcpu, PSCI_RET_INTERNAL_FAILURE, 0, 0, 0)",
           matches=("x1",)),
    _fixed("value", "SYSREG", "TTBR0/1_EL1, ESR_EL1, FAR_EL1, PAR_EL1, MAIR_EL1, TPIDR_EL1, "
           "TPIDR_EL0, TPIDRRO_EL0, CSSELR_EL1, AFSR0/1_EL1, DACR32_EL2, IFSR32_EL2", "0x0",
           VARIES,
           "sys_regs.c reset_unknown writes 0x1de7ec7edbadc0de, not 0; the sim reset every "
           "\"unknown\" register to 0",
           matches=("TTBR?_EL1", "ESR_EL1", "FAR_EL1", "PAR_EL1", "MAIR_EL1", "TPIDR*_EL?",
                    "CSSELR_EL1", "AFSR?_EL1", "DACR32_EL2", "IFSR32_EL2")),
    _fixed("value", "SYSREG", "FPEXC32_EL2", "0x0", "0x700",
           "sys_regs.c resets FPEXC32_EL2 with reset_val 0x700"),
    _fixed("value", "SYSREG", "CNTV_CTL_EL0", "0x0", "0x4",
           "arch_timer.c read_timer_ctl reports ISTATUS whenever CVAL <= the counter, enabled "
           "or not; the sim returned the stored bits only"),
    _fixed("value", "SYSREG", "PMCNTENSET/CLR_EL0, PMINTENSET/CLR_EL1, PMOVSSET/CLR_EL0",
           "0x0", "0x8000001e",
           "reset_pmu_reg: reset_unknown's marker masked to the cycle counter and the N "
           "event counters",
           matches=("PMCNTEN*_EL0", "PMINTEN*_EL1", "PMOVS*_EL0")),
    _fixed("value", "SYSREG", "PMSELR_EL0", "0x0", "0x1e",
           "reset_pmselr: reset_unknown's marker masked to PMSELR_EL0.SEL"),
    _fixed("value", "SYSREG", "PMEVCNTR0-30_EL0", "0x0", "0xdbadc0de",
           "reset_pmevcntr: reset_unknown's marker masked to 32 bits",
           matches=("PMEVCNTR*_EL0",)),
    _fixed("value", "SYSREG", "PMEVTYPER0-30_EL0 (reset)", "0x0", "0xc800c0de",
           "reset_pmevtyper masks reset_unknown's marker; the sim gave 0 (the mask itself "
           "differs between 6.1 and v6.7+, listed above)",
           matches=("PMEVTYPER*_EL0",)),
    _fixed("value", "SYSREG", "PMCCNTR_EL0 (reset)", "0x0", _UNKNOWN,
           "PMCCNTR_EL0 is reset_unknown", matches=("PMCCNTR_EL0",)),
    _fixed("value", "SYSREG", "PMCR_EL0 (IMP field)", "0x41003040",
           "0x410130ac / 0x410130a8",
           "the sim combined 6.1's IMP = 'A' with v6.7+'s zeroed reset; v6.7+ reset_pmcr "
           "leaves IMP 0 (the remaining difference is listed above)",
           matches=("PMCR_EL0",)),
)


# What no emulated arm64 machine can show: said plainly in the README, after the table.
UNVERIFIED = """\
### What is not verified against a real kernel

- **Realms.** Debian's 6.1 carries no CCA host patches, so on the real kernel the tier proves
  only the refusal: `realmtui batch --backend kvm --vm realm` (profiles `v9` and `v10`) exits
  with status 3 and *this kernel has no realm support: KVM_CREATE_VM with
  KVM_VM_TYPE_ARM_REALM failed with EINVAL*. Everything after that -- the realm RAM as a
  private guest_memfd slot (`KVM_CREATE_GUEST_MEMFD`, `KVM_SET_USER_MEMORY_REGION2`,
  `KVM_SET_MEMORY_ATTRIBUTES`: 6.1 has none of them), the `KVM_CAP_ARM_RME`
  sub-commands (cap 243 for v9, 244 for v10), `KVM_ARM_VCPU_FINALIZE(REC)`, the SMCCC filter
  that forwards the host call, the realm demo's exits E1-E9 through KVM, and KVM's half of
  which register writes reach the guest -- has run only against the simulated kernel. (The RMM
  half runs against TF-RMM: see "Proven against a real RMM".) It needs a kernel with the v9 or
  v10 CCA series and an RMM: an Arm FVP (Base AEM with RME, TF-A and TF-RMM) or CCA hardware.
  On such a host the app shows the kernel's answer beside the rule's prediction and says when
  they disagree.
- **Finding realm support.** The kvm backend never asks `KVM_CHECK_EXTENSION` for 243 or 244
  (upstream gave 243 to `KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED`): it creates a VM of the realm
  type and explains EINVAL (no series) or EPERM (series, no RMM). The EPERM answer is tested
  against a simulated kernel only.
- **Other kernels and CPUs.** The tier runs Linux 6.1 on QEMU's `max` CPU with pointer
  authentication off (for speed): the pointer-authentication registers, MTE and nested
  virtualisation (EL2 vCPUs) are exercised by the sim alone, and registers added after 6.1 are
  listed by the sim alone (the table above).
- **Interrupts and SMP.** The demos use one vCPU. With `--pmu` the in-kernel vGICv3 is created
  and initialised on the real kernel, but no interrupt is ever delivered.
"""


def render_markdown(known: tuple[KnownDifference, ...] = KNOWN) -> str:
    """The README section: one table, fixed sim bugs last."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    rows = sorted(known, key=lambda k: (k.status == SIM_BUG_FIXED, k.kind, k.cls, k.what))
    fixed = sum(k.status == SIM_BUG_FIXED for k in known)
    lines = [
        "### How the simulated kernel differs from a real one",
        "",
        "The real-kernel tier (`tests/arm64/`) runs the same scenario on the simulated kernel "
        "and on a real arm64 KVM (Debian's Linux 6.1 inside QEMU 10.0 TCG, `-cpu max,pauth=off`)"
        " in the same process: the register lists per vCPU feature set, a GET/SET round trip of "
        "every listed register, a set of errno probes, and the normal demo's exits with every "
        "register's value at each exit. The sim is configured from the real host's "
        "capabilities. Every difference is below; the tier fails on any other, and on a listed "
        f"one that no longer occurs. {len(known) - fixed} rows are legitimate (the sim models a "
        "v6.16-era kernel with the CCA series, on an imaginary host CPU, and has no hardware "
        f"underneath); {fixed} rows were sim bugs, found by this comparison and fixed.",
        "",
        "| kind | class | register or probe | sim | real 6.1 | why | status |",
        "|---|---|---|---|---|---|---|",
    ]
    for k in rows:
        lines.append(
            f"| {k.kind} | {k.cls} | {cell(k.what)} | {cell(k.sim)} | {cell(k.real)} | "
            f"{cell(k.reason)} | {k.status} |"
        )
    return "\n".join(lines) + "\n\n" + UNVERIFIED


if __name__ == "__main__":
    sys.stdout.write(render_markdown())
