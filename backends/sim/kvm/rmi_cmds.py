"""How KVM calls the RMM: one SMC per RMI command, with physical addresses of granules it
delegated and of normal-world pages it filled (arch/arm64/include/asm/rmi_cmds.h, the rmi_*
wrappers of [PATCH v9 04/43] "arm64: RME: Add wrappers for RMI calls", and rme.c's
delegated-granule allocation). The sim's "physical memory" is a page pool of its own; the RMM
reads and writes it through its SMC entry (backends/sim/rmm/handler.py), exactly as TF-RMM
reads the host's pages."""

from __future__ import annotations

from backends.arch import GRANULE_SIZE
from backends.sim.rmm.handler import PhysicalMemory, RmiHandler
from backends.sim.rmm.realm import Rec
from backends.sim.rmm.rmi import Rmm
from backends.sim.rmm.smc_rmi import (
    REC_EXIT_OFFSET,
    REC_RUN_SIZE,
    RMI_DATA_CREATE,
    RMI_GRANULE_DELEGATE,
    RMI_PSCI_COMPLETE,
    RMI_REALM_ACTIVATE,
    RMI_REALM_CREATE,
    RMI_REC_CREATE,
    RMI_REC_ENTER,
    RMI_RTT_INIT_RIPAS,
    RMI_RTT_SET_RIPAS,
    RealmParams,
    RecParams,
    RecRun,
    RmiStatus,
    realm_params_to_bytes,
    rec_enter_to_bytes,
    rec_exit_from_bytes,
    rec_params_to_bytes,
    rmi_status,
)

# Where the sim's host hands out physical pages: above anything a guest IPA names, so a
# mix-up would show.
FIRST_PA = 0x10_0000_0000


class Rmi:
    """The host's side of the RMI for one VM: a page pool and the rmi_* calls."""

    def __init__(self, rmm: Rmm) -> None:
        self.rmm = rmm
        self.memory = PhysicalMemory()
        self._handler = RmiHandler(rmm, self.memory)
        self.smc = self._handler.smc
        self._next_pa = FIRST_PA

    def _page(self, data: bytes = b"") -> int:
        pa = self._next_pa
        self._next_pa += GRANULE_SIZE
        if data:
            self.memory.write(pa, data)
        return pa

    def _delegated(self) -> int:
        """alloc_delegated_granule: a page the host gives to the realm world."""
        pa = self._page()
        status = self.smc(RMI_GRANULE_DELEGATE, pa)[0]
        assert rmi_status(status) == RmiStatus.SUCCESS, "a fresh page always delegates"
        return pa

    # --- the rmi_* wrappers -------------------------------------------------------------------
    def realm_create(self, params: RealmParams) -> tuple[int, int]:
        rd = self._delegated()
        return self.smc(RMI_REALM_CREATE, rd, self._page(realm_params_to_bytes(params)))[0], rd

    def realm_activate(self, rd: int) -> int:
        return self.smc(RMI_REALM_ACTIVATE, rd)[0]

    def rtt_init_ripas(self, rd: int, base: int, top: int) -> tuple[int, int]:
        status, out_top, *_ = self.smc(RMI_RTT_INIT_RIPAS, rd, base, top)
        return status, out_top

    def data_create(self, rd: int, ipa: int, data: bytes, flags: int) -> int:
        src = self._page(data)
        return self.smc(RMI_DATA_CREATE, rd, self._delegated(), ipa, src, flags)[0]

    def rec_create(self, rd: int, params: RecParams) -> tuple[int, int, int]:
        """(status, REC address, rec_run page address)."""
        rec = self._delegated()
        status = self.smc(RMI_REC_CREATE, rd, rec, self._page(rec_params_to_bytes(params)))[0]
        return status, rec, self._page()

    def rec_enter(self, rec: int, run_pa: int, run: RecRun) -> int:
        """rec_enter is written to the page before the SMC, rec_exit read back after it."""
        self.memory.write(run_pa, rec_enter_to_bytes(run.enter))
        status = self.smc(RMI_REC_ENTER, rec, run_pa)[0]
        if rmi_status(status) == RmiStatus.SUCCESS:
            run.exit = rec_exit_from_bytes(
                self.memory.read(run_pa + REC_EXIT_OFFSET, REC_RUN_SIZE - REC_EXIT_OFFSET)
            )
        return status

    def rtt_set_ripas(self, rd: int, rec: int, base: int, top: int) -> tuple[int, int]:
        status, out_top, *_ = self.smc(RMI_RTT_SET_RIPAS, rd, rec, base, top)
        return status, out_top

    def psci_complete(self, caller: int, target: int, status: int) -> int:
        return self.smc(RMI_PSCI_COMPLETE, caller, target, status)[0]

    def rec_at(self, rec: int) -> Rec | None:
        """SIMULATION ONLY (the confidential peek): the RMM's REC behind a granule."""
        return self._handler.recs.get(rec)
