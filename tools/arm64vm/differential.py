"""The real-kernel tier, inside the emulated machine: the kvm backend end to end, observed so
that the host can run the same scenario on the simulated kernel and compare the two.

    python tools/arm64vm/run.py --script tools/arm64vm/differential.py --textual \
        --include tools/arm64vm/kvm_screenshot.py --out /tmp/x

Plain Python (the guest has no pytest): it only *observes* and sends everything back as
differential.json (plus real-arm64-kvm.svg when the app could draw). The verdicts are made
host-side by tests/arm64/, which knows the table of accepted differences.

What it observes on the real /dev/kvm (the host observes a SimKernel configured like this host
the same way, with `observe`: the sim's CPU is unicorn, which the guest does not have):
- the register list, and a GET/SET round trip of every listed register, per vCPU feature set;
- the errnos of a fixed set of probes (bogus ids, before KVM_ARM_VCPU_INIT, a bogus target, ...);
- the normal demo through the Session: each exit and every register's value at each exit;
- real only: `realmtui batch --backend kvm --vm normal` as a subprocess, the CLI's answer when
  a realm is asked for, the C guest (`--guest`, when the host put it here) and a headless
  screenshot of the app on the real vCPU.

Then, when the machine has a second UART and agent_uart.py was included, it serves
`realmtui agent` there until the host's walk through it says bye (tests/arm64/agent_walk.py):
the same boot carries the tier's agent part.
"""

from __future__ import annotations

import errno
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from backends import abi
from backends.errors import KvmError
from backends.kernel import Kernel
from backends.linux import LinuxKernel
from backends.sim import RealmSeries, SimHost
from backends.vmm import Kvm, Vcpu
from realmtui.backend import Backend
from realmtui.context import VmKind
from realmtui.session import Session, SessionConfig, SessionError, Snapshot, Stage

# The capabilities that describe the host, as the sim can be told them (SimHost).
CAPS = {
    "KVM_CAP_ARM_VM_IPA_SIZE": abi.KVM_CAP_ARM_VM_IPA_SIZE,
    "KVM_CAP_ARM_SVE": abi.KVM_CAP_ARM_SVE,
    "KVM_CAP_ARM_PMU_V3": abi.KVM_CAP_ARM_PMU_V3,
    "KVM_CAP_ARM_PTRAUTH_ADDRESS": abi.KVM_CAP_ARM_PTRAUTH_ADDRESS,
    "KVM_CAP_ARM_PTRAUTH_GENERIC": abi.KVM_CAP_ARM_PTRAUTH_GENERIC,
    "KVM_CAP_MAX_VCPUS": abi.KVM_CAP_MAX_VCPUS,
    "KVM_CAP_ARM_PSCI_0_2": abi.KVM_CAP_ARM_PSCI_0_2,
    "KVM_CAP_ONE_REG": abi.KVM_CAP_ONE_REG,
}
PSCI = abi.KVM_ARM_VCPU_PSCI_0_2
PMU = abi.KVM_ARM_VCPU_PMU_V3
SVE = abi.KVM_ARM_VCPU_SVE
X0 = abi.KVM_REG_ARM64 | abi.KVM_REG_SIZE_U64 | abi.KVM_REG_ARM_CORE | 0x00
PSTATE = abi.KVM_REG_ARM64 | abi.KVM_REG_SIZE_U64 | abi.KVM_REG_ARM_CORE | 0x42
PMCR_EL0 = 0x6030_0000_0013_DCE0  # (3, 3, 9, 12, 0)
SVE_Z0 = abi.KVM_REG_ARM64 | abi.KVM_REG_ARM64_SVE | abi.KVM_REG_SIZE_U2048
# The ids of the brief's probe set (REPORT.md of the reference used the same ones).
BOGUS_CORE = 0x6030_0000_0010_0FFF
UNKNOWN_SYSREG = 0x6030_0000_0013_FFFF
WRONG_SIZE_X0 = 0x6020_0000_0010_0000
UNKNOWN_COPROC = 0x6030_0000_00FF_0000
BOGUS_TARGET = 0xDEAD
# What the VMM answers the demo's MMIO read with: every byte distinct, so a lost or swapped
# byte shows.
MMIO_DATA = 0x1122_3344_5566_7788

Json = dict[str, Any]


def errname(err: int) -> str:
    return errno.errorcode.get(err, f"errno {err}")


def attempt(fn: Callable[[], object]) -> str:
    """'ok' (or the result, if it is an int) or the errno's name."""
    try:
        out = fn()
    except KvmError as e:
        return errname(e.errno)
    return "ok" if not isinstance(out, int) or isinstance(out, bool) else f"ok {out}"


# --- the host ---------------------------------------------------------------------------------


def host_facts(kernel: Kernel) -> Json:
    kvm = Kvm(kernel)
    try:
        caps = {name: kvm.check_extension(cap) for name, cap in CAPS.items()}
        vm = kvm.create_vm(0)
        target = vm.preferred_target()
        vm.close()
    finally:
        kvm.close()
    return {
        "machine": platform.machine(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "caps": caps,
        "preferred_target": target,
    }


def sim_host_for(real: Json) -> SimHost:
    """A SimHost with the real host's answers, as far as SimHost can take them. The series is
    NONE: Debian's 6.1 carries no CCA patches, so a realm must be refused on both sides."""
    caps = real["host"]["caps"]
    pmcr = real["host"].get("pmcr_n")
    vq = real["host"].get("sve_max_vq")
    return SimHost(
        series=RealmSeries.NONE,
        ipa_limit=caps["KVM_CAP_ARM_VM_IPA_SIZE"] or 40,
        sve=bool(caps["KVM_CAP_ARM_SVE"]),
        sve_max_vq=vq or 4,
        pmu=bool(caps["KVM_CAP_ARM_PMU_V3"]),
        pmu_counters=pmcr if pmcr is not None else 6,
        pauth=bool(caps["KVM_CAP_ARM_PTRAUTH_ADDRESS"] and caps["KVM_CAP_ARM_PTRAUTH_GENERIC"]),
        max_vcpus=max(1, caps["KVM_CAP_MAX_VCPUS"]),
    )


# --- one vCPU per feature set: the list and the round trip ------------------------------------


def configs_for(caps: Json) -> dict[str, list[int]]:
    out = {"base": [PSCI]}
    if caps["KVM_CAP_ARM_PMU_V3"]:
        out["pmu"] = [PSCI, PMU]
    if caps["KVM_CAP_ARM_SVE"]:
        out["sve"] = [PSCI, SVE]
    return out


def fresh_vcpu(kernel: Kernel, features: list[int], finalize: bool = True) -> tuple[Kvm, Vcpu]:
    kvm = Kvm(kernel)
    vm = kvm.create_vm(0)
    vcpu = vm.create_vcpu(0)
    vcpu.init(vm.preferred_target(), features)
    if SVE in features and finalize:
        vcpu.finalize(SVE)
    return kvm, vcpu


def close(kvm: Kvm, vcpu: Vcpu | None) -> None:
    if vcpu is not None:
        vcpu.close()
        vcpu.vm.close()
    kvm.close()


def round_trip(kernel: Kernel, features: list[int]) -> Json:
    """KVM_GET_REG_LIST, then for every listed register: GET, and SET of the value just read
    (the get-reg-list selftest's round trip)."""
    kvm, vcpu = fresh_vcpu(kernel, features)
    try:
        ids = vcpu.reg_list()
        regs = {}
        for rid in ids:
            row: Json = {}
            try:
                value = vcpu.get_reg(rid)
                row["get"] = f"0x{value:x}"
            except KvmError as e:
                row["get"] = "!" + errname(e.errno)
                regs[f"0x{rid:016x}"] = row
                continue
            row["set"] = attempt(lambda rid=rid, value=value: vcpu.set_reg(rid, value))
            regs[f"0x{rid:016x}"] = row
        return {"ids": [f"0x{r:016x}" for r in ids], "regs": regs}
    finally:
        close(kvm, vcpu)


# --- the probes -------------------------------------------------------------------------------


def probes(kernel: Kernel, caps: Json) -> dict[str, str]:
    out: dict[str, str] = {}
    kvm = Kvm(kernel)
    try:
        # Before KVM_ARM_VCPU_INIT an arm64 vCPU answers nothing but INIT (arm.c: -ENOEXEC).
        vm = kvm.create_vm(0)
        vcpu = vm.create_vcpu(0)
        out["get x0 before init"] = attempt(lambda: vcpu.get_reg(X0))
        out["set x0 before init"] = attempt(lambda: vcpu.set_reg(X0, 1))
        out["reg-list before init"] = attempt(vcpu.reg_list)
        out["run before init"] = attempt(vcpu.run)
        out["init with a bogus target (0xdead)"] = attempt(
            lambda: vcpu.init(BOGUS_TARGET, [PSCI])
        )
        out["init with the REC feature (bit 9) on a normal VM"] = attempt(
            lambda: vcpu.init(vm.preferred_target(), [PSCI, abi.KVM_ARM_VCPU_REC])
        )
        vcpu.init(vm.preferred_target(), [PSCI])
        for name, rid in (
            ("bogus core offset 0x6030000000100fff", BOGUS_CORE),
            ("unknown sysreg 0x603000000013ffff", UNKNOWN_SYSREG),
            ("wrong size 0x6020000000100000", WRONG_SIZE_X0),
            ("unknown coproc 0x6030000000ff0000", UNKNOWN_COPROC),
        ):
            out[f"get {name}"] = attempt(lambda rid=rid: vcpu.get_reg(rid))
            out[f"set {name}"] = attempt(lambda rid=rid: vcpu.set_reg(rid, 0))
        # set_core_reg checks the mode a PSTATE write asks for: AArch32 USR (0x10) is a host
        # property (32-bit EL0), EL2h (0x9) needs a vCPU with EL2.
        out["set pstate to AArch32 USR (0x10)"] = attempt(lambda: vcpu.set_reg(PSTATE, 0x3D0))
        out["set pstate to EL2h (0x9)"] = attempt(lambda: vcpu.set_reg(PSTATE, 0x3C9))
        out["finalize SVE on a vCPU without SVE"] = attempt(lambda: vcpu.finalize(SVE))
        out["finalize REC on a normal VM"] = attempt(
            lambda: vcpu.finalize(abi.KVM_ARM_VCPU_REC)
        )
        vcpu.close()
        vm.close()
        # A realm is asked for with the VM type (KVM_VM_TYPE_ARM_REALM, [PATCH v9 09/43]): the
        # safe probe, since no upstream kernel gives those type bits a meaning.
        out["create a realm VM (type 0x128)"] = attempt(
            lambda: kvm.create_vm(abi.KVM_VM_TYPE_ARM_REALM | 40).close()
        )
    finally:
        kvm.close()
    if caps["KVM_CAP_ARM_SVE"]:
        kvm, vcpu = fresh_vcpu(kernel, [PSCI, SVE], finalize=False)
        try:
            out["reg-list of an SVE vCPU before finalize"] = attempt(
                lambda: len(vcpu.reg_list())
            )
            out["get z0 of an SVE vCPU before finalize"] = attempt(lambda: vcpu.get_reg(SVE_Z0))
            out["run an SVE vCPU before finalize"] = attempt(vcpu.run)
            vls = vcpu.get_reg(abi.KVM_REG_ARM64_SVE_VLS)
            out["set SVE_VLS before finalize"] = attempt(
                lambda: vcpu.set_reg(abi.KVM_REG_ARM64_SVE_VLS, vls)
            )
            vcpu.finalize(SVE)
            out["set SVE_VLS after finalize"] = attempt(
                lambda: vcpu.set_reg(abi.KVM_REG_ARM64_SVE_VLS, vls)
            )
            out["finalize SVE twice"] = attempt(lambda: vcpu.finalize(SVE))
        finally:
            close(kvm, vcpu)
    return out


# --- the normal demo, through the Session -----------------------------------------------------


def snapshot_json(snap: Snapshot) -> Json:
    values = {
        r.info.hex_id: (f"0x{r.value:x}" if r.value is not None else "!" + str(r.read_errno))
        for r in snap.regs
    }
    out: Json = {"label": snap.label, "stage": str(snap.stage), "values": values}
    if snap.exit is not None:
        e = snap.exit.exit
        out["exit"] = {"reason": e.name, **e.fields()}
        if e.errno is not None:
            out["exit"]["errno"] = errname(e.errno)
    return out


def demo(kernel: Kernel | None, backend: str, pmu: bool, sve: bool,
         opened: Backend | None = None) -> Json:
    """The normal demo to its end: N1 MMIO write, N2 MMIO read (answered with MMIO_DATA),
    N3 MMIO write of what was read, N4 PSCI SYSTEM_OFF. On `kernel`, or on a backend opened
    already (the host's walk through the agent)."""
    config = SessionConfig(backend=backend, vm=VmKind.NORMAL, pmu=pmu, sve=sve)
    t0 = time.monotonic()
    try:
        session = Session(config, kernel=kernel, backend=opened)
    except SessionError as e:
        return {"error": str(e)}
    try:
        runs: list[Json] = []
        for _ in range(6):
            if session.pending_mmio is not None:
                given = session.provide_mmio(MMIO_DATA)
                runs.append({"mmio": given.message, "ok": given.ok})
            outcome = session.run()
            runs.append({"run": outcome.message, "ok": outcome.ok, "errno": outcome.errno})
            if not outcome.ok or session.stage is Stage.OFF:
                break
        refused = session.run()  # after SYSTEM_OFF the Session must not enter KVM_RUN again
        return {
            "snapshots": [snapshot_json(s) for s in session.history],
            "runs": runs,
            "after_off": {"ok": refused.ok, "message": refused.message},
            "stage": str(session.stage),
            "seconds": round(time.monotonic() - t0, 2),
        }
    finally:
        session.close()


# --- real only: the CLI as a user runs it -----------------------------------------------------

BATCH_SCRIPT = """\
state
get x0
get pc
get SCTLR_EL1
set x2 0x1234
get x2
set sp 0x80008000
get MIDR_EL1
run
run
run
mmio 0x1122334455667788
run
run
state
run
"""


# The C guest (tests/cguest, a raw image the host built and put beside this script): run to
# its PSCI SYSTEM_OFF on the real vCPU. Bounded: a guest that spins would hold KVM_RUN.
C_GUEST = "cguest.bin"
C_GUEST_SCRIPT = "run\n" * 8 + "state\n"


def c_guest() -> Json | None:
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), C_GUEST)
    if not os.path.exists(path):
        return None
    return cli(["batch", "--backend", "kvm", "--vm", "normal", "--guest", path], C_GUEST_SCRIPT,
               timeout=60)


def cli(args: list[str], stdin: str, timeout: float = 120) -> Json:
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "realmtui", *args], input=stdin, capture_output=True,
            text=True, timeout=timeout, cwd=os.path.dirname(os.path.abspath(__file__)),
        )
    except subprocess.TimeoutExpired:
        return {"args": args, "rc": None, "error": f"timed out after {timeout} s"}
    return {
        "args": args,
        "rc": proc.returncode,
        "stdout": proc.stdout,
        "stderr": proc.stderr,
        "seconds": round(time.monotonic() - t0, 2),
    }


def screenshot(timeout: float = 240) -> tuple[Json, bytes | None]:
    """Run the app headless on the real vCPU in a child process (a hang or a crash there must
    not cost the rest of the report) and take its SVG."""
    out_path = "/tmp/real-arm64-kvm.svg"
    here = os.path.dirname(os.path.abspath(__file__))
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, os.path.join(here, "kvm_screenshot.py"), out_path],
            capture_output=True, text=True, timeout=timeout, cwd=here,
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"the app did not finish in {timeout} s"}, None
    info: Json = {
        "rc": proc.returncode,
        "stdout": proc.stdout[-4000:],
        "stderr": proc.stderr[-4000:],
        "seconds": round(time.monotonic() - t0, 2),
    }
    data = None
    if proc.returncode == 0 and os.path.exists(out_path):
        with open(out_path, "rb") as f:
            data = f.read()
    info["ok"] = data is not None
    return info, data


# --- main -------------------------------------------------------------------------------------


def observe(kernel: Kernel, backend: str, caps: Json) -> Json:
    t0 = time.monotonic()
    configs = {name: round_trip(kernel, f) for name, f in configs_for(caps).items()}
    t1 = time.monotonic()
    probe = probes(kernel, caps)
    t2 = time.monotonic()
    demos = {"base": demo(kernel, backend, pmu=False, sve=False)}
    if "pmu" in configs:
        demos["pmu"] = demo(kernel, backend, pmu=True, sve=False)
    if "sve" in configs:
        demos["sve"] = demo(kernel, backend, pmu=False, sve=True)
    t3 = time.monotonic()
    return {
        "configs": configs,
        "probes": probe,
        "demos": demos,
        "seconds": {
            "round_trips": round(t1 - t0, 2), "probes": round(t2 - t1, 2),
            "demos": round(t3 - t2, 2),
        },
    }


def real_host_details(report: Json) -> None:
    """What SimHost needs beyond the caps: PMCR_EL0.N and the largest vector length, from the
    real vCPUs' own registers."""
    host, configs = report["host"], report["real"]["configs"]
    pmcr = configs.get("pmu", {}).get("regs", {}).get(f"0x{PMCR_EL0:016x}", {}).get("get", "")
    if pmcr.startswith("0x"):
        host["pmcr_n"] = (int(pmcr, 16) >> 11) & 0x1F
    vls_id = f"0x{abi.KVM_REG_ARM64_SVE_VLS:016x}"
    vls = configs.get("sve", {}).get("regs", {}).get(vls_id, {}).get("get", "")
    if vls.startswith("0x"):
        host["sve_max_vq"] = int(vls, 16).bit_length()
        host["sve_vls_contiguous"] = int(vls, 16) == (1 << int(vls, 16).bit_length()) - 1


def main() -> int:
    import guest_io  # beside this script in the guest's /rtui (tests import the rest host-side)

    t_start = time.monotonic()
    report: Json = {"timings": {}}
    with LinuxKernel() as linux:
        report["host"] = host_facts(linux)
        caps = report["host"]["caps"]
        report["real"] = observe(linux, "kvm", caps)
    real_host_details(report)
    # The sim's side is observed host-side (tests/arm64/saved.py with_sim), from these host
    # facts: its CPU is unicorn, which the guest's bare Python does not have.
    report["timings"]["differential_s"] = round(time.monotonic() - t_start, 2)

    t0 = time.monotonic()
    report["batch"] = cli(["batch", "--backend", "kvm", "--vm", "normal"], BATCH_SCRIPT)
    report["realm_refusals"] = [
        cli(["batch", "--backend", "kvm", "--vm", "realm"], "state\n"),
        cli(["batch", "--backend", "kvm", "--vm", "realm", "--profile", "v10"], "state\n"),
        # v12 asks with bits 11:8 like v9, v14 with bit 30 (backends/series.py).
        cli(["batch", "--backend", "kvm", "--vm", "realm", "--profile", "v12"], "state\n"),
        cli(["batch", "--backend", "kvm", "--vm", "realm", "--profile", "v14"], "state\n"),
        cli(["--backend", "kvm", "--vm", "realm"], ""),
    ]
    report["c_guest"] = c_guest()
    report["timings"]["cli_s"] = round(time.monotonic() - t0, 2)

    shot, svg = screenshot()
    report["screenshot"] = shot
    report["timings"]["script_s"] = round(time.monotonic() - t_start, 2)
    if svg is not None:
        guest_io.send_file("real-arm64-kvm.svg", svg)
    guest_io.send_file("differential.json", json.dumps(report, indent=1).encode())
    print(
        f"differential: {len(report['real']['configs'])} configs, "
        f"{len(report['real']['probes'])} probes, {len(report['real']['demos'])} demos; "
        f"batch rc={report['batch']['rc']}; screenshot {'ok' if svg else 'missing'}; "
        f"{report['timings']}"
    )
    serve_agent()
    return 0


def serve_agent() -> None:
    """The agent on this machine's KVM for the host's walk, over the second UART."""
    try:
        import agent_uart  # beside this script when the tier included it
    except ImportError:
        return
    if agent_uart.wired():
        t0 = time.monotonic()
        agent_uart.serve_uart(wait_s=60.0)
        print(f"agent: {time.monotonic() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    import guest_io

    guest_io.result(main())
