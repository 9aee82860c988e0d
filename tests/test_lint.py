"""The tree stays ruff-clean and keeps its import contracts (both live in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_ruff_is_clean() -> None:
    exe = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(exe).exists():
        pytest.skip("ruff is not installed (it comes with the test extra)")
    out = subprocess.run([exe, "check", "--quiet", "."], capture_output=True, text=True,
                         cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.skip("import-linter is not installed (it comes with the test extra)")
    out = subprocess.run([exe, "--no-cache"], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr


def test_widgets_are_bound_to_the_model_by_a_contract() -> None:
    """The widgets draw plain values: a contract keeps the live Session, the backends that
    open a kernel and the sim out of widgets/, directly or through another module."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    forbidden = {m for c in contracts if c.get("source_modules") == ["widgets"]
                 for m in c.get("forbidden_modules", [])}
    assert {"realmtui.session", "realmtui.view", "realmtui.backend", "backends.sim",
            "backends.linux", "backends.vmm"} <= forbidden
