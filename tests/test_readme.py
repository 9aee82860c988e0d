"""The README keeps its promises: the two copy-paste lines, the pictures it shows, and the
table of differences from a real kernel (generated from tests/arm64/known_differences.py)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def test_the_test_command_is_marked_for_ci() -> None:
    block = README.split("<!-- test-command -->")[1].split("<!-- /test-command -->")[0]
    assert "pytest" in block and "pip install" in block


def test_every_screenshot_the_readme_shows_exists() -> None:
    for path in re.findall(r"\((screenshots/[^)]+\.svg)\)", README):
        assert (REPO / path).is_file(), path


def test_the_differences_table_is_the_generated_one() -> None:
    generated = (REPO / "tests" / "arm64" / "DIFFERENCES.md").read_text().strip()
    assert generated in README, "paste tests/arm64/DIFFERENCES.md into README.md"
