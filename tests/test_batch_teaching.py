"""Issue 9 item 5: batch for people writing exercises -- a FILE argument, `#` comments anywhere,
`--format text`, `expect` failing a --strict run with its line number, and `run` before
activation answering with the step to take first."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from realmtui.batch import answer_lines, split_words
from realmtui.batch_input import read_lines
from realmtui.session import Session

CMD = [sys.executable, "-m", "realmtui"]


def _answers(text: str, fmt: str = "json", strict: bool = False) -> tuple[int, list, list]:
    out = io.StringIO()
    failures: list[str] = []
    session = Session()
    try:
        status = answer_lines(session, read_lines(io.BytesIO(text.encode())), out, strict,
                              fmt, failures)
    finally:
        session.close()
    lines = out.getvalue().splitlines()
    return status, ([json.loads(x) for x in lines] if fmt == "json" else lines), failures


def test_a_comment_anywhere_on_a_line_is_skipped() -> None:
    assert split_words("set x0 0x12   # the first MMIO write shows it") == ["set", "x0", "0x12"]
    assert split_words("   # only a comment, with «any» text") == []
    _, answers, _ = _answers("set x0 0x12 # why\n# a whole line\nget x0#tight\n")
    assert [a["line"] for a in answers] == [1, 3]
    assert answers[0]["ok"] and answers[1]["value"] == "0x0000000000000012"


def test_expect_passes_and_fails_with_the_line_number_under_strict() -> None:
    script = "\n".join([
        "set x0 0x1111",
        "set sp 0x10",
        "expect errno EINVAL",
        "finalize",
        "activate",
        "run",
        "expect exit MMIO",
        "expect x0 0x1111",
        "expect access x0 ignored",
        "expect stage active",
        "expect x0 0x2222",  # line 11: wrong on purpose
        "expect exit HYPERCALL",  # line 12: wrong too
    ])
    status, answers, failures = _answers(script, strict=True)
    by_line = {a["line"]: a for a in answers}
    assert all(by_line[n]["ok"] for n in (3, 7, 8, 9, 10))
    assert not by_line[11]["ok"] and "x0 is 0x0000000000001111" in by_line[11]["error"]
    assert not by_line[12]["ok"] and "E1 MMIO" in by_line[12]["error"]
    assert status == 1
    assert [f.split(":")[0] for f in failures] == ["line 11", "line 12"]
    # Without --strict the same failures are answers, and the status stays 0.
    assert _answers(script)[0] == 0


def test_expect_errno_checks_the_command_before_it() -> None:
    _, answers, _ = _answers("set x1 0x5\nexpect errno none\nexpect errno EINVAL\n")
    assert answers[1]["ok"] and not answers[2]["ok"]
    assert "answered errno none" in answers[2]["error"]


def test_run_before_activation_says_which_step_comes_first() -> None:
    _, answers, _ = _answers("run\nfinalize\nrun\n")
    assert "the realm is not active yet: finalize first" in answers[0]["error"]
    assert "the realm is not active yet: activate first" in answers[2]["error"]


def test_text_format_is_one_line_per_answer() -> None:
    _, lines, _ = _answers("set x0 0x1111\nset sp 0x10\nfinalize\nactivate\nrun\n"
                           "expect x0 0x1\n", fmt="text")
    assert lines[0] == ("   1  set x0 0x1111 -> 0x0000000000001111 effective — accepted; the "
                        "guest will see it")
    assert lines[1].startswith("   2  set sp 0x10 -> EINVAL — KVM refuses all but x0-x30")
    assert "[PATCH v9 22/43]" in lines[1]
    assert lines[4].startswith("   5  run -> E1 KVM_EXIT_MMIO (addr 0x9000000 len 8 is_write "
                               "true data 0x1111)")
    assert lines[5].startswith("   6  expect x0 0x1 -> FAILED: expected x0 = 0x0000000000000001")


def test_batch_reads_a_file_and_names_the_failed_expect(tmp_path: Path) -> None:
    script = tmp_path / "walk.txt"
    script.write_text("finalize  # REC\nactivate\nrun\nexpect exit SYSTEM_EVENT\n")
    proc = subprocess.run([*CMD, "batch", "--strict", "--format", "text", str(script)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "   4  expect exit SYSTEM_EVENT -> FAILED" in proc.stdout
    assert "expect failed at line 4: expect exit SYSTEM_EVENT" in proc.stderr
    missing = subprocess.run([*CMD, "batch", str(tmp_path / "nope.txt")], capture_output=True,
                             text=True, timeout=60)
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    assert "Traceback" not in missing.stderr
