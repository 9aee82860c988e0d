"""The simulated KVM, laid out as arch/arm64/kvm/ (with virt/kvm/kvm_main.c): each module's
docstring names the file it mirrors. It reaches the RMM only through backends.sim.rmm."""
