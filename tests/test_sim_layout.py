"""Issue 13 item 5: the sim is laid out as the code it mirrors -- every module of sim/kvm names
an arch/arm64/kvm (or virt/kvm) file, every module of sim/rmm a TF-RMM one -- and no module of
backends imports itself in a circle."""

from __future__ import annotations

import importlib
import pkgutil

import grimp
import pytest

from backends.sim import kvm, rmm


def _modules(pkg) -> list[str]:  # type: ignore[no-untyped-def]
    return [f"{pkg.__name__}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)]


@pytest.mark.parametrize("name", _modules(kvm))
def test_each_kvm_module_names_its_kernel_file(name: str) -> None:
    doc = importlib.import_module(name).__doc__ or ""
    assert "arch/arm64/" in doc or "virt/kvm/" in doc, name


@pytest.mark.parametrize("name", _modules(rmm))
def test_each_rmm_module_names_its_tf_rmm_file(name: str) -> None:
    doc = importlib.import_module(name).__doc__ or ""
    assert "TF-RMM" in doc and ("runtime/" in doc or "lib/" in doc), name


def test_no_import_circle_in_backends() -> None:
    graph = grimp.build_graph("backends", exclude_type_checking_imports=True)
    for module in graph.modules:
        if not module.startswith("backends"):
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith("backends") and imported != module:
                chain = graph.find_shortest_chain(importer=imported, imported=module)
                assert chain is None, f"{module} -> {' -> '.join(chain or ())}"
