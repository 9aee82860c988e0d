"""The sim against the real 6.1 kernel's saved answers, without QEMU: every difference must be
in the table, every legitimate entry must still occur, and the fixed sim bugs must have been
real (the saved pre-fix answers show each of them) and must stay fixed."""

from __future__ import annotations

import pytest

from tests.arm64 import known_differences as kd
from tests.arm64 import saved
from tests.arm64.compare import check, covers, differences
from tests.arm64.known_differences import KNOWN, LEGITIMATE, SIM_BUG_FIXED


@pytest.fixture(scope="module")
def real() -> dict:
    return saved.load(saved.REAL)


def test_the_saved_answers_come_from_a_real_arm64_kvm(real: dict) -> None:
    host = real["host"]
    assert host["machine"] == "aarch64" and host["kernel"].startswith("6.1.")
    assert host["caps"]["KVM_CAP_ARM_VM_IPA_SIZE"] == 48
    assert set(real["real"]["configs"]) == {"base", "pmu", "sve"}
    assert len(real["real"]["configs"]["base"]["ids"]) == 242  # as the reference's REPORT.md


def test_the_sim_differs_from_the_real_kernel_only_as_the_table_says(real: dict) -> None:
    verdict = check(differences(saved.with_sim(real)), KNOWN)
    assert verdict.ok, verdict.explain()


def test_every_fixed_sim_bug_was_seen_before_the_fix(real: dict) -> None:
    """The pre-fix sim answers, against the same real answers: each 'sim bug fixed' row of the
    table reports something the real kernel really showed -- and the checker calls it a
    regression, so it would fail the tier if it came back."""
    before = dict(real) | saved.load(saved.SIM_BEFORE_FIXES)
    verdict = check(differences(before), KNOWN)
    regressed = {id(k) for k, _ in verdict.regressed}
    not_seen = [k.what for k in KNOWN if k.status == SIM_BUG_FIXED and id(k) not in regressed]
    assert not not_seen, f"fixed-bug rows the pre-fix sim did not show: {not_seen}"
    assert not verdict.unlisted, verdict.explain()


def test_table_rows_are_complete_and_distinct() -> None:
    seen = set()
    for k in KNOWN:
        assert k.status in (LEGITIMATE, SIM_BUG_FIXED)
        assert k.kind in ("listed", "order", "get", "set", "probe", "exit", "value")
        assert k.reason.strip() and k.sim and k.real, k
        row = (k.kind, k.what, k.sim, k.real)
        assert row not in seen, f"{k.what} is listed twice"
        seen.add(row)


def test_differences_md_is_generated_from_the_table() -> None:
    path = saved.DATA.parent / "DIFFERENCES.md"
    assert path.read_text() == kd.render_markdown(), (
        "tests/arm64/DIFFERENCES.md is out of date: "
        "python -m tests.arm64.known_differences > tests/arm64/DIFFERENCES.md"
    )


def test_the_readme_table_has_a_row_per_entry() -> None:
    text = kd.render_markdown()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == len(KNOWN) + 1  # the header
    assert sum(SIM_BUG_FIXED in r for r in rows) == sum(k.status == SIM_BUG_FIXED for k in KNOWN)


def test_family_rows_cover_their_members() -> None:
    from tests.arm64.compare import Difference

    family = next(k for k in KNOWN if k.matches == ("PMEVTYPER*_EL0",)
                  and k.status == LEGITIMATE)
    assert covers(family, Difference("value", "SYSREG", "PMEVTYPER17_EL0"))
    assert not covers(family, Difference("value", "SYSREG", "PMEVCNTR17_EL0"))
    assert not covers(family, Difference("listed", "SYSREG", "PMEVTYPER17_EL0"))
