"""A small VMM for the demo guests: it builds a realm or a normal VM through the ioctl wrappers,
step by step, in the order kvmtool-cca uses (reference/cca-semantics.md §6).

Realm, v9/v10: create the VM (realm type, 40-bit IPA), the vGICv3 and the memslot, route the
demo's host call to userspace (SMCCC filter), configure the measurement algorithm, create and
init the vCPU (PSCI 0.2 + REC), set pc and x0 -- then, as separate steps the user can watch:
create the realm, INIT_RIPAS and populate the image; finalize the REC; activate.
Realm, v12 on (kvmtool-cca cca/v10+): the same VM with the series' realm type, no hash
configuration and no REC feature; one step -- KVM_ARM_RMI_POPULATE, whose first call creates
the realm; the first KVM_RUN then activates it and creates the REC from x0-x7 and pc.
Realm parameters (PMCR_EL0.N, ID_AA64DFR0_EL1, the SVE vector length) are ONE_REG writes on
the vCPU before the realm is created, which is why the vCPU comes first ([PATCH v9 32/35/38]).
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass

from backends import abi, guests, reg_ids
from backends.abi import ffi
from backends.arch import GRANULE_SIZE
from backends.errors import KvmError
from backends.kernel import Kernel
from backends.series import SERIES, Series
from backends.vmm import Device, Kvm, Vcpu, Vm

GIC_DIST_BASE = 0x0800_0000  # QEMU virt's layout, for familiarity
GIC_REDIST_BASE = 0x080A_0000
PMU_IRQ = 23  # the PPI Linux's DT for a virtual PMU uses
DEMO_X0 = 0x5245_414C_4D00  # "REALM\0": easy to spot when the guest writes it at E1


@dataclass(frozen=True)
class MachineSpec:
    realm: bool = True
    pmu: bool = False
    sve: bool = False
    series: Series = SERIES["v9"]  # which posting's uAPI the realm is built with
    # Another guest in place of the demo (tests use small programs of their own), and the
    # SMCCC function ids the VMM asks KVM to forward to it (a realm's host call by default).
    program: guests.Program | None = None
    forward_fids: tuple[int, ...] = (guests.HOSTCALL_FID,)


class DemoMachine:
    """Owns every fd and mapping it creates; `close()` releases them on every path."""

    def __init__(self, kernel: Kernel, spec: MachineSpec) -> None:
        self.kernel = kernel
        self.spec = spec
        self.program = spec.program or (guests.REALM_DEMO if spec.realm else guests.NORMAL_DEMO)
        self.kvm: Kvm | None = None
        self.vm: Vm | None = None
        self.vcpu: Vcpu | None = None
        self.gic: Device | None = None
        self._ram: mmap.mmap | None = None
        self._gmem_fd: int | None = None
        self._ram_ptr = None
        self.realm_created = False
        self.rec_created = False
        self.active = False

    # --- the steps ----------------------------------------------------------------------------
    def build(self) -> None:
        """Everything up to the point where the user takes over: for a realm, a vCPU whose
        pc and x0 are set while the realm is not yet created; for a normal VM, a ready vCPU."""
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self) -> None:
        spec = self.spec
        self.kvm = Kvm(self.kernel)
        vm_type = (spec.series.realm_vm_type if spec.realm else 0) | self._ipa_bits()
        self.vm = vm = self.kvm.create_vm(vm_type)
        vm.rme_cap = spec.series.cap
        implicit = spec.series.implicit
        if spec.realm or spec.pmu:
            self._create_gic(vm)
        self._map_ram(vm)
        if spec.realm:
            for fid in spec.forward_fids:
                vm.set_smccc_filter(fid, 1, abi.KVM_SMCCC_FILTER_FWD_TO_USER)
            if not implicit:  # v12 dropped hash/RPV configuration (v14 cover letter)
                vm.rme_config_hash(abi.ARM_RME_CONFIG_HASH_ALGO_SHA256)
        self.vcpu = vcpu = vm.create_vcpu(0)
        features = [abi.KVM_ARM_VCPU_PSCI_0_2]
        if spec.realm and not implicit:
            features.append(abi.KVM_ARM_VCPU_REC)
        if spec.pmu:
            features.append(abi.KVM_ARM_VCPU_PMU_V3)
        if spec.sve:
            features.append(abi.KVM_ARM_VCPU_SVE)
        vcpu.init(vm.preferred_target(), features)
        if spec.sve and not spec.realm:
            vcpu.finalize(abi.KVM_ARM_VCPU_SVE)
        vcpu.set_reg(reg_ids.PC, self.program.entry)
        vcpu.set_reg(reg_ids.X[0], DEMO_X0)
        if not spec.realm:
            self._init_gic_and_pmu()

    def create_realm(self) -> None:
        """CREATE_REALM, then INIT_RIPAS over the image's first MiB and POPULATE the image.
        SVE vCPUs are finalized first: the vector length is a realm parameter (v9-38)."""
        vm, vcpu = self._vm(), self._vcpu()
        if self.spec.sve:
            vcpu.finalize(abi.KVM_ARM_VCPU_SVE)
        size = -(-len(self.program.image) // GRANULE_SIZE) * GRANULE_SIZE
        series = self.spec.series
        if series.implicit:
            # The first POPULATE creates the RD (realm_ensure_created, O2); the image is
            # copied from the shared alias (the mmap behind the memslot).
            assert series.populate_ioctl is not None and self._ram_ptr is not None
            uaddr = int(ffi.cast("uintptr_t", self._ram_ptr))  # maps REALM_RAM_BASE
            vm.rmi_populate(
                series.populate_ioctl, guests.REALM_RAM_BASE, size, uaddr,
                returns_bytes=series.populate_returns_bytes,
            )
            self.realm_created = True
        else:
            vm.rme_create_realm()
            self.realm_created = True
            vm.rme_init_ripas(guests.REALM_RAM_BASE, guests.REALM_INIT_RIPAS_SIZE)
            vm.rme_populate(guests.REALM_RAM_BASE, size, measure=True)
        self._init_gic_and_pmu()

    def finalize_rec(self) -> None:
        """KVM_ARM_VCPU_FINALIZE(REC): RMI_REC_CREATE takes x0-x7 and pc, now."""
        self._vcpu().finalize(abi.KVM_ARM_VCPU_REC)
        self.rec_created = True

    def activate(self) -> None:
        self._vm().rme_activate()
        self.active = True

    def first_run_done(self) -> None:
        """v12 on: a KVM_RUN that came back with an exit activated the realm and made the
        REC (kvm_activate_realm, C12)."""
        if self.spec.realm and self.spec.series.implicit:
            self.rec_created = self.active = True

    # --- pieces ---------------------------------------------------------------------------------
    def _ipa_bits(self) -> int:
        """The IPA size to ask KVM_CREATE_VM for (type bits [7:0]), as kvmtool does: what the
        memory map needs, checked against KVM_CAP_ARM_VM_IPA_SIZE. A kernel without the cap
        (before v4.20) only does 40 bits and wants 0. Asking for 0 elsewhere means 40 bits,
        which a host with a smaller limit refuses (EINVAL, reset.c/mmu.c kvm_init_stage2_mmu)."""
        limit = self._kvm().check_extension(abi.KVM_CAP_ARM_VM_IPA_SIZE)
        if self.spec.realm:
            # The realm's IPA width is part of the demo's layout: the top bit splits protected
            # and unprotected addresses (guests.REALM_UART_IPA).
            need = guests.REALM_IPA_BITS
        else:
            top = max(guests.NORMAL_RAM_BASE + guests.NORMAL_RAM_SIZE, guests.NORMAL_UART_IPA + 8)
            need = max(32, (top - 1).bit_length())  # ARM64_MIN_PARANGE_BITS is 32
        if not limit:
            return 0
        if need > limit:
            raise KvmError(
                22, "KVM_CHECK_EXTENSION(KVM_CAP_ARM_VM_IPA_SIZE)",  # EINVAL
                detail=f"this host's stage 2 takes {limit}-bit IPAs; the demo needs {need}",
            )
        return need

    def _create_gic(self, vm: Vm) -> None:
        self.gic = gic = vm.create_device(abi.KVM_DEV_TYPE_ARM_VGIC_V3)
        for attr, addr in (
            (abi.KVM_VGIC_V3_ADDR_TYPE_DIST, GIC_DIST_BASE),
            (abi.KVM_VGIC_V3_ADDR_TYPE_REDIST, GIC_REDIST_BASE),
        ):
            gic.set_attr(abi.KVM_DEV_ARM_VGIC_GRP_ADDR, attr, ffi.new("uint64_t *", addr))

    def _init_gic_and_pmu(self) -> None:
        """The vGIC can only be initialised once its vCPUs exist; the PMU after the vGIC."""
        if self.gic is not None:
            self.gic.set_attr(abi.KVM_DEV_ARM_VGIC_GRP_CTRL, abi.KVM_DEV_ARM_VGIC_CTRL_INIT)
        if self.spec.pmu:
            vcpu = self._vcpu()
            vcpu.set_device_attr(0, 0, ffi.new("int *", PMU_IRQ))  # PMU_V3_CTRL, PMU_V3_IRQ
            vcpu.set_device_attr(0, 1)  # PMU_V3_CTRL, PMU_V3_INIT

    def _map_ram(self, vm: Vm) -> None:
        p = self.program
        base = guests.REALM_RAM_BASE if self.spec.realm else guests.NORMAL_RAM_BASE
        size = guests.REALM_RAM_SIZE if self.spec.realm else guests.NORMAL_RAM_SIZE
        self._ram = ram = mmap.mmap(-1, size)
        ram[p.load_address - base : p.load_address - base + len(p.image)] = p.image
        self._ram_ptr = ffi.from_buffer(ram)
        uaddr = int(ffi.cast("uintptr_t", self._ram_ptr))
        if not self.spec.realm:
            # A normal VM: a plain memslot, as every kernel since 2.6 takes (Linux 6.1 has no
            # guest_memfd).
            vm.set_user_memory_region(0, base, size, uaddr)
            return
        # A realm's protected RAM must be private memory: a guest_memfd behind the memslot
        # (its userspace_addr is the shared alias POPULATE copies the image from), marked
        # PRIVATE -- v9 POPULATE answers EPERM on any other slot ([PATCH v9 19/43]), and
        # protected faults need it too (v9-20). kvmtool-cca's order: memfd, slot, attributes.
        # The demo has no shared RAM: its only unprotected access is the UART, which has no
        # memslot on purpose (every access is MMIO).
        self._gmem_fd = vm.create_guest_memfd(size)
        vm.set_user_memory_region2(0, base, size, uaddr, self._gmem_fd)
        vm.set_memory_attributes(base, size, abi.KVM_MEMORY_ATTRIBUTE_PRIVATE)

    def read_shared(self, ipa: int, size: int) -> bytes | None:
        """The guest's RAM as the VMM's own mapping holds it. For a realm that is only the
        image as loaded: the guest's protected memory is not the host's to read."""
        base = guests.REALM_RAM_BASE if self.spec.realm else guests.NORMAL_RAM_BASE
        if self._ram is None or not base <= ipa or ipa + size > base + len(self._ram):
            return None
        return bytes(self._ram[ipa - base : ipa - base + size])

    def _kvm(self) -> Kvm:
        if self.kvm is None:
            raise KvmError(9, "machine", detail="/dev/kvm is not open")  # EBADF
        return self.kvm

    def _vm(self) -> Vm:
        if self.vm is None:
            raise KvmError(9, "machine", detail="the VM is not built")  # EBADF
        return self.vm

    def _vcpu(self) -> Vcpu:
        if self.vcpu is None:
            raise KvmError(9, "machine", detail="the vCPU is not built")
        return self.vcpu

    def close(self) -> None:
        for obj in (self.vcpu, self.gic, self.vm, self.kvm):
            if obj is not None:
                try:
                    obj.close()
                except (OSError, ValueError):
                    pass
        if self._gmem_fd is not None:
            try:
                self.kernel.close(self._gmem_fd)
            except OSError:
                pass
            self._gmem_fd = None
        self.vcpu = self.gic = self.vm = self.kvm = None
        self._ram_ptr = None
        if self._ram is not None:
            try:
                self._ram.close()
            except BufferError:
                pass  # a cffi view still points at it; it goes with the process
            self._ram = None
