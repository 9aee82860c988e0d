"""A simulated arm64 kernel with the CCA host series: KVM -> RMM -> an A64 interpreter."""

from backends.sim.host import RealmSeries, SimHost
from backends.sim.kernel import SimKernel

__all__ = ["RealmSeries", "SimHost", "SimKernel"]
