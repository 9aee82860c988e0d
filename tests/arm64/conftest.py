"""One boot of the emulated arm64 machine for the whole tier (tier.py)."""

from __future__ import annotations

import pytest

from tests.arm64.tier import Tier, boot


@pytest.fixture(scope="session")
def tier(tmp_path_factory: pytest.TempPathFactory) -> Tier:
    return boot(tmp_path_factory.mktemp("arm64-tier"))
