"""The sim's RMM driven through its SMC entry alone -- RMI function ids and physical addresses,
no KVM -- as a host kernel drives TF-RMM (and as the real-RMM comparison drives both)."""

from __future__ import annotations

from backends import a64
from backends.sim.rmm.handler import PhysicalMemory, RmiHandler
from backends.sim.rmm.rmi import Rmm, RmmLimits
from backends.sim.rmm.smc_rmi import (
    REALM_PARAMS_NUM_BPS,
    REALM_PARAMS_NUM_WPS,
    REALM_PARAMS_S2SZ,
    REC_ENTER_FLAG_EMULATED_MMIO,
    REC_EXIT_ESR,
    REC_EXIT_GPRS,
    REC_EXIT_OFFSET,
    REC_EXIT_REASON,
    REC_PARAMS_FLAG_RUNNABLE,
    REC_PARAMS_FLAGS,
    REC_PARAMS_GPRS,
    REC_PARAMS_PC,
    RMI_ABI_VERSION_1_0,
    RMI_DATA_CREATE,
    RMI_FEATURES,
    RMI_GRANULE_DELEGATE,
    RMI_REALM_ACTIVATE,
    RMI_REALM_CREATE,
    RMI_REC_CREATE,
    RMI_REC_ENTER,
    RMI_RTT_INIT_RIPAS,
    RMI_VERSION,
)

RD, REC, DATA = 0x1_0000, 0x1_1000, 0x1_2000  # delegated granules
REALM_PARAMS, REC_PARAMS, RUN, SRC = 0x2_0000, 0x2_1000, 0x2_2000, 0x2_3000  # normal world
BASE, UART = 0x8000_0000, 1 << 39 | 0x0900_0000
SUCCESS, ERROR_INPUT, ERROR_REALM = 0, 1, 2


def _u64(v: int) -> bytes:
    return v.to_bytes(8, "little")


def _guest() -> bytes:
    asm = a64.Assembler(BASE)
    asm.emit(*a64.mov_imm(a64.X[20], UART))
    asm.emit(a64.str_(a64.X[0], a64.X[20]))
    asm.label("end")
    asm.b("end")
    return asm.assemble().image


def _host() -> tuple[RmiHandler, PhysicalMemory]:
    ns = PhysicalMemory()
    return RmiHandler(Rmm(100_000, RmmLimits()), ns), ns


def _build(rmi: RmiHandler, ns: PhysicalMemory) -> None:
    for pa in (RD, REC, DATA):
        assert rmi.smc(RMI_GRANULE_DELEGATE, pa)[0] == SUCCESS
    ns.write(REALM_PARAMS + REALM_PARAMS_S2SZ, _u64(40))
    ns.write(REALM_PARAMS + REALM_PARAMS_NUM_BPS, _u64(5))  # counts minus one: 6 and 4
    ns.write(REALM_PARAMS + REALM_PARAMS_NUM_WPS, _u64(3))
    assert rmi.smc(RMI_REALM_CREATE, RD, REALM_PARAMS)[0] == SUCCESS
    assert rmi.smc(RMI_RTT_INIT_RIPAS, RD, BASE, BASE + 0x1000)[:2] == (SUCCESS, BASE + 0x1000)
    ns.write(SRC, _guest())
    assert rmi.smc(RMI_DATA_CREATE, RD, DATA, BASE, SRC, 0)[0] == SUCCESS
    ns.write(REC_PARAMS + REC_PARAMS_FLAGS, _u64(REC_PARAMS_FLAG_RUNNABLE))
    ns.write(REC_PARAMS + REC_PARAMS_PC, _u64(BASE))
    ns.write(REC_PARAMS + REC_PARAMS_GPRS, _u64(0xCAFE))
    assert rmi.smc(RMI_REC_CREATE, RD, REC, REC_PARAMS)[0] == SUCCESS


def test_a_realm_built_and_run_through_rmi_calls_alone() -> None:
    rmi, ns = _host()
    assert rmi.smc(RMI_VERSION, RMI_ABI_VERSION_1_0)[:3] == (SUCCESS, 1 << 16, 1 << 16)
    _build(rmi, ns)
    assert rmi.smc(RMI_REC_ENTER, REC, RUN)[0] == ERROR_REALM  # realm NEW: index 0
    assert rmi.smc(RMI_REALM_ACTIVATE, RD)[0] == SUCCESS
    assert rmi.smc(RMI_REC_ENTER, REC, RUN)[0] == SUCCESS
    exit_ = ns.read(RUN + REC_EXIT_OFFSET, 0x800)
    assert exit_[REC_EXIT_REASON] == 0  # RMI_EXIT_SYNC
    esr = int.from_bytes(exit_[REC_EXIT_ESR : REC_EXIT_ESR + 8], "little")
    assert esr >> 26 == 0x24 and esr & 1 << 6  # a data abort, a write
    assert int.from_bytes(exit_[REC_EXIT_GPRS : REC_EXIT_GPRS + 8], "little") == 0xCAFE
    # Completing the MMIO write: the REC steps over the store and spins -- an IRQ exit.
    ns.write(RUN, _u64(REC_ENTER_FLAG_EMULATED_MMIO))
    assert rmi.smc(RMI_REC_ENTER, REC, RUN)[0] == SUCCESS
    assert ns.read(RUN + REC_EXIT_OFFSET, 1)[0] == 1  # RMI_EXIT_IRQ


def test_granule_and_argument_errors_are_rmi_error_input() -> None:
    rmi, ns = _host()
    assert rmi.smc(RMI_REALM_CREATE, RD, REALM_PARAMS)[0] == ERROR_INPUT  # RD not delegated
    assert rmi.smc(RMI_GRANULE_DELEGATE, RD)[0] == SUCCESS
    assert rmi.smc(RMI_GRANULE_DELEGATE, RD)[0] == ERROR_INPUT  # twice
    assert rmi.smc(RMI_GRANULE_DELEGATE, RD + 8)[0] == ERROR_INPUT  # not a granule address
    ns.write(REALM_PARAMS + REALM_PARAMS_S2SZ, _u64(40))
    ns.write(REALM_PARAMS + REALM_PARAMS_NUM_BPS, _u64(16))  # more than the CPU has
    ns.write(REALM_PARAMS + REALM_PARAMS_NUM_WPS, _u64(4))
    assert rmi.smc(RMI_REALM_CREATE, RD, REALM_PARAMS)[0] == ERROR_INPUT
    assert rmi.smc(0xC400_01FF)[0] == (1 << 64) - 1  # SMC_UNKNOWN


def test_features_register_0_describes_the_rmm_limits() -> None:
    rmi, _ = _host()
    status, f0, *_ = rmi.smc(RMI_FEATURES, 0)
    assert status == SUCCESS
    assert f0 & 0xFF == 48 and (f0 >> 14) & 0x3F == 5 and (f0 >> 20) & 0x3F == 3
