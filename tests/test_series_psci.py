"""PSCI calls that name another REC (CPU_ON, AFFINITY_INFO) are completed with the RMM by the
kernel: v9-v13 while handling the call, v14 at the caller's next entry, its CPU_ON status read
from x0 then (cca-uapi-v12-v16.md C5/C6; [PATCH v14 32/44] kvm_rec_complete_psci). The
realm runs the PSCI probe guest (backends/guests.py) on two vCPUs."""

from __future__ import annotations

import errno

import pytest

from backends import abi, guests
from backends.errors import KvmError
from backends.exits import HypercallExit, SystemEventExit
from backends.machine import DemoMachine, MachineSpec
from backends.series import SERIES
from backends.sim import RealmSeries, SimHost, SimKernel
from backends.sim import confidential_peek as peek
from backends.smccc import (
    PSCI_ALREADY_ON,
    PSCI_DENIED,
    PSCI_NOT_SUPPORTED,
    PSCI_SUCCESS,
)
from backends.vmm import Vcpu
from realmtui import regs


def _two_vcpus(name: str, forward_cpu_on: bool = False) -> tuple[DemoMachine, Vcpu]:
    m = DemoMachine(
        SimKernel(SimHost(series=RealmSeries(name))),
        MachineSpec(realm=True, series=SERIES[name], program=guests.RMM_PSCI_PROBE),
    )
    m.build()
    assert m.vm is not None
    second = m.vm.create_vcpu(1)  # MPIDR affinity 1: the probe's CPU_ON target
    features = [abi.KVM_ARM_VCPU_PSCI_0_2]
    if not SERIES[name].implicit:
        features.append(abi.KVM_ARM_VCPU_REC)
    second.init(m.vm.preferred_target(), features)
    if forward_cpu_on:  # the VMM handles CPU_ON itself (KVM_ARM_VM_SMCCC_FILTER)
        m.vm.set_smccc_filter(guests.PSCI_CPU_ON_64, 1, abi.KVM_SMCCC_FILTER_FWD_TO_USER)
    m.create_realm()
    if SERIES[name].implicit:
        return m, second
    m.finalize_rec()  # the RMM takes RECs in MPIDR order
    second.finalize(abi.KVM_ARM_VCPU_REC)
    m.activate()
    return m, second


def _rec(m: DemoMachine, vcpu: Vcpu) -> peek.RecView:
    view = peek.rec_now(m.kernel, vcpu.fd)
    assert view is not None
    return view


@pytest.mark.parametrize("name", ["v9", "v12", "v13", "v14"])
def test_kernel_psci_turns_the_second_rec_on_and_answers_affinity(name: str) -> None:
    m, second = _two_vcpus(name)
    assert m.vcpu is not None
    e = m.vcpu.run()  # CPU_ON, AFFINITY_INFO (each a PSCI exit KVM handles), SYSTEM_OFF
    assert isinstance(e, SystemEventExit), e
    rec1 = _rec(m, second)
    assert rec1.runnable  # the RMM turned REC 1 on: the call was completed with SUCCESS
    assert rec1.regs[regs.PC] == guests.PSCI_PROBE_SECONDARY
    assert rec1.regs[regs.x_id(0)] == guests.PSCI_PROBE_CONTEXT


@pytest.mark.parametrize("vmm_x0,on", [(PSCI_SUCCESS, True), (PSCI_ALREADY_ON, True),
                                       (PSCI_DENIED, False), (PSCI_NOT_SUPPORTED, False)])
def test_v14_completes_a_forwarded_cpu_on_with_the_x0_the_vmm_left(vmm_x0: int, on: bool) -> None:
    m, second = _two_vcpus("v14", forward_cpu_on=True)
    assert m.vcpu is not None
    e = m.vcpu.run()
    assert isinstance(e, HypercallExit) and e.nr == guests.PSCI_CPU_ON_64
    m.vcpu.set_reg(regs.x_id(0), vmm_x0)  # the VMM's answer; v14 has no PSCI_COMPLETE ioctl
    e = m.vcpu.run()  # the next entry completes the call first, then the probe runs on
    assert isinstance(e, SystemEventExit), e
    assert _rec(m, second).runnable is on


def test_v13_needs_the_ioctl_after_a_forwarded_cpu_on() -> None:
    m, _second = _two_vcpus("v13", forward_cpu_on=True)
    assert m.vcpu is not None
    assert isinstance(m.vcpu.run(), HypercallExit)
    m.vcpu.set_reg(regs.x_id(0), PSCI_SUCCESS)  # x0 alone does nothing in v13 (C5)
    with pytest.raises(KvmError) as e:
        m.vcpu.run()  # the RMM still waits on RMI_PSCI_COMPLETE: RMI_ERROR_REC
    assert e.value.errno == errno.ENXIO
