"""Shared test helpers: where the reference data lives, and fresh sessions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def reference_dir() -> Path:
    """../shared/reference beside the checkout (every developer and CI run has it), or
    $REALMTUI_REFERENCE."""
    env = os.environ.get("REALMTUI_REFERENCE")
    return Path(env) if env else REPO.parent / "shared" / "reference"


def load_reference(name: str) -> dict:
    path = reference_dir() / name
    if not path.exists():
        pytest.skip(f"reference data {path} is not here (set REALMTUI_REFERENCE)")
    return json.loads(path.read_text())
