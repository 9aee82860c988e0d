"""The last exit, explained line by line: what KVM_RUN returned and what it implies.

Pure domain (no Textual): the realm panel draws these lines, and they can be tested without
a screen. For the sim both syndromes are known -- what KVM saw and what the RMM kept -- and
the difference between them is the lesson. For a real kernel the syndrome KVM saw is not
exported to userspace, so an MMIO exit's syndrome is *reconstructed* from kvm_run and is
labelled as such.
"""

from __future__ import annotations

import errno as errno_mod
from dataclasses import dataclass
from functools import lru_cache

from backends import abi, guests
from backends.exits import HypercallExit, MemoryFaultExit, MmioExit, SystemEventExit
from realmtui.decode import Field, decode_esr, format_fields
from realmtui.model import ExitInfo

# TF-RMM runtime/core/exit.c: for an emulatable data abort the host gets
# esr & ESR_EMULATED_ABORT_MASK, which drops SRT and SSE (and IL), so KVM sees SRT = 0.
RMM_MASK_SOURCE = "TF-RMM runtime/core/exit.c (ESR_EMULATED_ABORT_MASK)"
# What an MMIO exit tells about its syndrome: the class, and the access (valid, size, width,
# direction). The register (SRT) and the fault status (DFSC) are not in kvm_run.
IMPLIED_FIELDS = frozenset({"EC", "ISV", "SAS", "SF", "WnR"})


@dataclass(frozen=True)
class Line:
    label: str
    text: str
    note: str = ""  # a short why, drawn muted under the text
    style: str = ""  # "", "warning" or "error": how loudly to draw it


def kvm_exit_name(info: ExitInfo) -> str:
    return f"KVM_EXIT_{info.exit.name}"


def smccc_function(fid: int) -> str:
    """An SMCCC function id in words (SMC Calling Convention, DEN0028, "Function Identifiers")."""
    owners = {
        0: "Arm architecture", 1: "CPU service", 2: "SiP service", 3: "OEM service",
        4: "standard secure service", 5: "standard hypervisor service",
        6: "vendor hypervisor service",
    }
    owner_id = (fid >> 24) & 0x3F
    if owner_id in owners:
        owner = owners[owner_id]
    elif 0x30 <= owner_id <= 0x31:
        owner = "trusted application"
    elif 0x32 <= owner_id <= 0x3F:
        owner = "trusted OS"
    else:
        owner = f"owner {owner_id}"
    kind = "fast" if fid >> 31 & 1 else "yielding"
    conv = "SMC64" if fid >> 30 & 1 else "SMC32"
    return f"{kind}, {conv}, {owner}, function {fid & 0xFFFF:#x}"


def hypercall_flags(flags: int) -> str:
    words = ["SMC" if flags & abi.KVM_HYPERCALL_EXIT_SMC else "HVC"]
    if flags & abi.KVM_HYPERCALL_EXIT_16BIT:
        words.append("16-bit instruction")
    return ", ".join(words)


def implied_mmio_esr(mmio: MmioExit) -> int:
    """The syndrome an MMIO exit implies: a data abort from a lower EL with a valid syndrome,
    the access size and direction from kvm_run.mmio. SRT is unknown (0), as the RMM leaves
    it for a realm; DFSC is not known either."""
    sas = {1: 0, 2: 1, 4: 2, 8: 3}.get(mmio.length, 3)
    return (
        0x24 << 26  # EC: data abort from a lower EL
        | 1 << 24  # ISV: KVM only exits to userspace for MMIO with a valid syndrome
        | sas << 22
        | (1 << 15 if mmio.length == 8 else 0)  # SF: a 64-bit register
        | (1 << 6 if mmio.is_write else 0)  # WnR
    )


def _field_map(fields: list[Field]) -> dict[str, Field]:
    return {f.name: f for f in fields}


def esr_difference(kernel_esr: int, rmm_esr: int) -> list[str]:
    """The fields the RMM hid from KVM: "SRT x8 → x0", "IL 1 → 0"."""
    seen = _field_map(decode_esr(kernel_esr))
    full = _field_map(decode_esr(rmm_esr))
    out = []
    for name, f in full.items():
        k = seen.get(name)
        if k is None or k.value == f.value:
            continue
        if f.meaning and k.meaning and name not in ("IL",):
            out.append(f"{name} {f.meaning} → {k.meaning}")
        else:
            out.append(f"{name} {f.value} → {k.value}")
    return out


def _esr_lines(info: ExitInfo, realm: bool) -> list[Line]:
    kernel, rmm = info.kernel_esr, info.rmm_esr
    if info.exit.reason == abi.KVM_EXIT_SHUTDOWN:
        return []  # REC_ENTER failed: there was no REC exit, so no syndrome
    if not isinstance(info.exit, MmioExit):
        rmm = None  # the RMM's saved syndrome is a data abort's; it says nothing here
    lines: list[Line] = []
    if kernel is None and rmm is None:
        if isinstance(info.exit, MmioExit):
            esr = implied_mmio_esr(info.exit)
            known = [f for f in decode_esr(esr) if f.name in IMPLIED_FIELDS]
            note = ("reconstructed from kvm_run.mmio, not read: userspace never sees the ESR, "
                    "and kvm_run has no SRT or DFSC")
            if realm:
                note += "; for a realm SRT is 0 anyway, the RMM hides it"
            lines.append(Line("ESR implied", f"{esr:#010x}  {format_fields(known)}", note))
        return lines
    if kernel:
        lines.append(Line("ESR KVM saw", _esr_words(kernel)))
    elif kernel == 0:
        lines.append(Line("ESR KVM saw", "0", "the RMM reports no syndrome for this exit"))
    if rmm and realm:
        lines.append(Line("ESR RMM kept", _esr_words(rmm),
                          "sim only: the full syndrome, confidential to the realm"))
        if kernel:
            diff = _hidden(kernel, rmm)
            if diff:
                lines.append(Line("hidden", diff,
                                  f"the RMM masks the syndrome it forwards — {RMM_MASK_SOURCE}",
                                  "warning"))
    return lines


# A guest exits again and again at the same few instructions, with the same syndromes; decoding
# them was half of explaining an exit, which the realm panel does at every step.
@lru_cache(maxsize=256)
def _esr_words(esr: int) -> str:
    return f"{esr:#010x}  {format_fields(decode_esr(esr))}"


@lru_cache(maxsize=256)
def _hidden(kernel_esr: int, rmm_esr: int) -> str:
    return "; ".join(esr_difference(kernel_esr, rmm_esr))


def unprotected_note(addr: int) -> str:
    """A realm's MMIO address as KVM reports it has lost the unprotected-IPA bit: the guest
    used the shared alias, KVM strips the top IPA bit before the memslot lookup and the exit
    (kvm_gpa_from_fault, [PATCH v9 20/43])."""
    guest_ipa = addr | 1 << (guests.REALM_IPA_BITS - 1)
    return (
        f"the guest used IPA {guest_ipa:#x} (unprotected alias, bit "
        f"{guests.REALM_IPA_BITS - 1} set); KVM reports it without that bit — "
        "kvm_gpa_from_fault, [PATCH v9 20/43]"
    )


def _body(info: ExitInfo, pending_data: int | None, realm: bool = False) -> list[Line]:
    e = info.exit
    if isinstance(e, MmioExit):
        width = f"{e.length} byte{'s' if e.length != 1 else ''}"
        note = unprotected_note(e.addr) if realm else ""
        if e.is_write:
            return [Line("MMIO", f"write {width} at {e.addr:#x}, data {e.data:#x}", note)]
        data = (
            f"data {pending_data:#x} given" if pending_data is not None
            else "data: the VMM must supply it (kvm_run.mmio.data) before the next KVM_RUN"
        )
        return [Line("MMIO", f"read {width} at {e.addr:#x}", note), Line("", data)]
    if isinstance(e, HypercallExit):
        return [
            Line("function", f"{e.nr:#x}", smccc_function(e.nr)),
            Line("flags", f"{e.flags:#x}", hypercall_flags(e.flags)),
        ]
    if isinstance(e, MemoryFaultExit):
        kind = "private (RIPAS RAM)" if e.private else "shared"
        return [Line("range", f"{e.gpa:#x} + {e.size:#x}", f"flags {e.flags:#x}: {kind}")]
    if isinstance(e, SystemEventExit):
        data = ", ".join(f"{d:#x}" for d in e.data) or "none"
        return [Line("event", e.type_name, f"data {data}")]
    if e.reason == abi.KVM_EXIT_SHUTDOWN:
        return [Line("", "the realm is off: REC_ENTER refuses to run it", "", "error")]
    return []


def explain_exit(info: ExitInfo, realm: bool, pending_data: int | None = None) -> list[Line]:
    """Lines for the realm panel, most important first."""
    lines = [Line("exit", f"E{info.number}  {kvm_exit_name(info)}")]
    if info.exit.errno is not None:
        name = errno_mod.errorcode.get(info.exit.errno, str(info.exit.errno))
        lines.append(Line("KVM_RUN", f"returned -{name}", "kvm_run is still filled in"))
    lines.append(Line("RMI exit" if realm else "cause", info.rmi_reason))
    if info.plane is not None:
        # RMM 2.0's rec_exit.plane (TF-RMM v0.9.0 smc-rmi.h, 0x608); the kernel ignores it.
        lines.append(Line("plane", f"P{info.plane}", "rec_exit.plane (RMM 2.0): the plane "
                          "that exited; P0 is the realm's primary plane"))
    lines += _body(info, pending_data, realm)
    lines += _esr_lines(info, realm)
    if info.step:
        lines.append(Line("guest was", info.step))
    return lines
