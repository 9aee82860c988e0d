"""The simulated Realm Management Monitor, laid out as TF-RMM rmm-spec-v1.0-rel0 (runtime/rmi,
runtime/rsi, runtime/core, lib/smc): each module's docstring names the file it mirrors. It
never imports the sim's KVM (an import-linter contract in pyproject.toml)."""
