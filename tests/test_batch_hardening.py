"""`realmtui batch` under hostile input (issue 12 items 5, 6, 8, 9; the suites it asks for).

The bad-line matrix: every kind of bad line -- values too wide in each base and at each
register width, 4301+ digits, bytes that are not UTF-8, lines over the 64 KiB limit, CR-only
and CRLF endings, a byte-order mark, fullwidth digits, spaces and quotes inside values, control
characters, missing and extra arguments for every command -- each answered `ok: false` with
what was wrong, and the good line after it still answered. Then a seeded random run of
thousands of lines: every input line that is not blank or a comment gets exactly one JSON
answer with `ok`, in order. Both run as one `realmtui batch` process each, as a user runs it.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from realmtui.batch import COMMANDS
from realmtui.batch_input import MAX_LINE

CMD = [sys.executable, "-m", "realmtui", "batch"]
# To the demo's E5, an 8-byte MMIO read: `mmio VALUE` then checks its value (u64).
TO_MMIO_READ = [b"finalize", b"activate"] + [b"run"] * 5
GOOD = b"get x0"  # after each bad line: the line after it is still answered

# (value, what the answer says) for a register or MMIO read of `bits` bits.
def bad_values(bits: int) -> list[tuple[bytes, str]]:
    top = 1 << bits
    return [
        (str(top).encode(), f"{bits + 1} bits wide"),  # one past the largest, decimal
        (hex(top).encode(), f"{bits + 1} bits wide"),  # ... hex
        (b"0x1_" + b"_".join([b"0000"] * (bits // 16)), f"{bits + 1} bits wide"),
        (str(top * 10**3).encode(), "too wide"),  # digits beyond the width: by length
        (b"0x" + b"f" * (bits // 4 + 2), "too wide"),
        (b"9" * 4301, "too wide"),  # past Python's int() limit
        (b"1" + b"0" * 5000, "too wide"),
        (b"0x" + b"f" * 5000, "too wide"),
        (b"-1", "negative"),
        (b"-0x1", "negative"),
        (b"0b101", "not a number"),
        (b"0o17", "not a number"),
        (b"1e3", "not a number"),
        (b"1.5", "not a number"),
        (b"0x", "not a number"),
        (b"0xg1", "not a number"),
        (b"1__2", "not a number"),
        (b"_1", "not a number"),
        (b"1_", "not a number"),
        ("１２".encode(), "non-ASCII"),  # fullwidth digits
        ("٣".encode(), "non-ASCII"),  # Arabic-Indic three
        (b"'12'", "no quotes"),
        (b"\\x12", "no quotes"),
    ]


def _matrix() -> list[tuple[bytes, str]]:
    """(line, needle in its error): every kind of bad line the issue lists."""
    cases: list[tuple[bytes, str]] = []
    for reg, bits in ((b"x0", 64), (b"fpcr", 32), (b"v0", 128)):
        cases += [(b"set " + reg + b" " + v, needle) for v, needle in bad_values(bits)]
    cases += [(b"mmio " + v, needle) for v, needle in bad_values(64)]
    cases += [
        # spaces and tabs inside a value: two words, not one value
        (b"set x1 1 2", "expected: set REG VALUE"),
        (b"set x1 0x12 34", "expected: set REG VALUE"),
        (b"set x1 1\t2", "expected: set REG VALUE"),
        (b"set x1 '1 2'", "no quotes"),
        (b'set x1 "1 2"', "no quotes"),
        (b"mmio 1 2", "expected: mmio VALUE"),
        # names: fullwidth digits and letters, unknown ones
        ("get S3_0_C１_C0_0".encode(), "non-ASCII"),
        ("get ｘ0".encode(), "non-ASCII"),
        (b"get S3_0_C99_C0_0", "unknown register"),
        (b"get nosuchreg", "unknown register"),
        (b"frobnicate", "unknown command"),
        (b"set", "expected: set REG VALUE"),
        (b"set x0", "expected: set REG VALUE"),
        (b"get", "expected: get REG"),
        (b"mmio", "expected: mmio VALUE"),
        # bytes that are not UTF-8, anywhere in the line
        (b"\xff", "byte 0xff"),
        (b"get x0 \xff", "byte 0xff at column 8"),
        (b"\xc3\x28", "byte 0xc3"),  # a lead byte without its continuation
        (b"\x80get x0", "byte 0x80"),  # a lone continuation byte
        (b"\xc0\xaf", "byte 0xc0"),  # an overlong '/'
        (b"\xed\xa0\x80", "byte 0xed"),  # a UTF-16 surrogate
        (b"get x\xe2\x82", "byte 0xe2"),  # cut in the middle of a character
        # control characters and a byte-order mark that is not at the start
        (b"get x0\x00", "control character U+0000"),
        (b"\x1b[31mget x0", "control character U+001B"),
        (b"get\x7fx0", "control character U+007F"),
        (b"get x0\x0b", "control character U+000B"),
        (b"\xef\xbb\xbfget x0", "non-ASCII character U+FEFF"),
        # over-long lines: skipped to their end, whatever they hold
        (b"a" * (MAX_LINE + 1), "longer than 65536 bytes"),
        (b"set x0 " + b"9" * (1 << 20), "longer than 65536 bytes"),
        (b"\xff" * (MAX_LINE + 7), "longer than 65536 bytes"),
    ]
    # extra arguments for every command (and `help me`, which used to be ok), and a
    # 4301-digit number for every numeric argument
    placeholder = {"REG": "x0", "VALUE": "1", "N": "1", "M": "1", "[N]": "1", "FILE": "out"}
    expect_usage = "expected: expect REG VALUE"
    cases += [(b"expect x0 " + v, n) for v, n in bad_values(64)[:8]]
    cases += [(b"expect x0 1 2", expect_usage), (b"expect stage created extra", expect_usage),
              (b"expect access x0 effective extra", expect_usage), (b"expect", expect_usage)]
    for usage in COMMANDS:
        name, *params = usage.split()
        if "..." in params:
            continue  # its forms are above
        args = [placeholder[p] for p in params]
        needle = ("takes no arguments" if name in ("create", "finalize", "activate")
                  else usage)
        cases.append((" ".join([name, *args, "extra"]).encode(), needle))
        for i, param in enumerate(params):
            if param in ("VALUE", "N", "M", "[N]"):
                huge = [*args[:i], "9" * 4301, *args[i + 1:]]
                cases.append((" ".join([name, *huge]).encode(),
                               "too wide" if param == "VALUE" else usage))
    return cases


def _answers(data: bytes, timeout: float = 120) -> list[dict]:
    with tempfile.TemporaryDirectory() as cwd:  # a random `export FILE` writes there
        proc = subprocess.run(CMD, input=data, capture_output=True, timeout=timeout, cwd=cwd)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr[-2000:]
    lines = proc.stdout.decode().splitlines()
    answers = [json.loads(line) for line in lines]
    assert all(isinstance(a, dict) and isinstance(a.get("ok"), bool) for a in answers)
    return answers


def test_every_bad_line_is_answered_with_why_and_the_next_line_still_runs() -> None:
    cases = _matrix()
    assert len(cases) > 120
    lines = list(TO_MMIO_READ)
    for bad, _ in cases:
        lines += [bad, GOOD]
    answers = _answers(b"\n".join(lines) + b"\n")
    assert [a["line"] for a in answers] == list(range(1, len(lines) + 1)), "a line was lost"
    assert all(a["ok"] for a in answers[:len(TO_MMIO_READ)]), answers[:len(TO_MMIO_READ)]
    wrong = []
    for i, (bad, needle) in enumerate(cases):
        answer, after = answers[len(TO_MMIO_READ) + 2 * i: len(TO_MMIO_READ) + 2 * i + 2]
        if answer["ok"] or needle not in answer.get("error", ""):
            wrong.append(f"{bad[:60]!r}: {answer.get('error', answer)!s:.200}")
        if not after["ok"]:
            wrong.append(f"the line after {bad[:60]!r}: {after}")
        if len(answer.get("error", "")) > 400:  # one readable line, not the input echoed back
            wrong.append(f"{bad[:60]!r}: a {len(answer['error'])}-character error")
    assert not wrong, "\n".join(wrong)


def test_line_endings_a_leading_bom_and_the_exact_limit() -> None:
    """CR-only (old Mac), CRLF and LF endings mix; a BOM at the start is not part of the
    first command; a line of exactly 64 KiB is a line, one byte more is not."""
    exact = b"set x0 " + b"0" * (MAX_LINE - len(b"set x0 1")) + b"1"
    assert len(exact) == MAX_LINE
    data = (b"\xef\xbb\xbfget x0\rget x1\r\nget x2\n\rget x3\r\r\n"
            + exact + b"\n" + exact + b"1\nstate")  # the last line has no end
    answers = _answers(data)
    assert [(a["line"], a["command"], a["ok"]) for a in answers] == [
        (1, "get", True), (2, "get", True), (3, "get", True), (5, "get", True),
        (7, "set", True), (8, None, False), (9, "state", True),
    ]
    assert [a["reg"] for a in answers[:4]] == ["x0", "x1", "x2", "x3"]
    assert int(answers[4]["value"], 16) == 1


def test_an_endless_line_is_read_in_bounded_memory_and_linear_time() -> None:
    """`batch < /dev/zero` grew to 23 GB; a 1 MiB line took up to 68 s."""
    data = b"\0" * (64 << 20) + b"\nstate\n" + b"get " + b"x" * (16 << 20) + b"\nstate\n"
    proc = subprocess.Popen(CMD, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    watchdog = threading.Timer(90, proc.kill)  # a quadratic reader would take hours
    watchdog.start()
    try:
        start = time.monotonic()
        proc.stdin.write(data)  # the answers are four short lines: no pipe fills up
        proc.stdin.flush()
        answers = [json.loads(proc.stdout.readline()) for _ in range(4)]
        took = time.monotonic() - start
        with open(f"/proc/{proc.pid}/status") as f:  # still running: waiting for a line
            peak_kib = int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert [(a["line"], a["ok"]) for a in answers] == [(1, False), (2, True), (3, False),
                                                       (4, True)]
    assert "longer than" in answers[0]["error"] and "longer than" in answers[2]["error"]
    assert peak_kib < 200 * 1024, f"peak RSS {peak_kib // 1024} MiB for 80 MiB of input"
    assert took < 60, f"80 MiB of over-long lines took {took:.0f} s"


def test_answers_come_as_each_line_is_read() -> None:
    """A person typing (or a program waiting for each answer) gets it before the next line."""
    proc = subprocess.Popen(CMD, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for n, line in enumerate((b"state\n", b"\xff\n", b"get x0\n"), 1):
            proc.stdin.write(line)
            proc.stdin.flush()
            answer = json.loads(proc.stdout.readline())
            assert answer["line"] == n
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- the seeded random run -------------------------------------------------------------------
RANDOM_LINES = 5_000
WORDS = [c.split()[0] for c in COMMANDS] + ["GET", "Set", "stat", "#", "quit", "x0", ""]
REGS = ["x0", "x1", "x30", "sp", "pc", "v0", "fpcr", "fpsr", "SCTLR_EL1", "0x6030000000100000",
        "S3_0_C1_C0_0", "nosuch", "x31", "X2"]
VALUES = ["0", "1", "0x10", "18446744073709551615", "18446744073709551616", "-1", "0x" + "f" * 17,
          "9" * 4301, "1_000", "0b1", "１", "0x_1", "+5", "0" * 300 + "7"]
ENDINGS = [b"\n", b"\n", b"\n", b"\r\n", b"\r"]


def _random_line(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.70:  # command-shaped
        words = [rng.choice(WORDS)] + [rng.choice(REGS + VALUES) for _ in range(rng.randint(0, 3))]
        if words == ["ioctls"]:  # the whole log since the start: output quadratic in the run
            words.append("5")
        sep = rng.choice([" ", " ", "  ", "\t"])
        line = (rng.choice(["", " ", "\t"]) + sep.join(words)).encode()
    elif kind < 0.80:  # printable noise
        line = "".join(chr(rng.randint(0x20, 0x7E)) for _ in range(rng.randint(0, 40))).encode()
    elif kind < 0.90:  # any byte but a line end
        line = bytes(rng.choice([b for b in range(256) if b not in (10, 13)])
                     for _ in range(rng.randint(1, 30)))
    elif kind < 0.93:  # around the length limit
        line = b"set x0 " + b"1" * (MAX_LINE - 7 + rng.randint(-2, 2))
    elif kind < 0.97:  # blank or a comment: skipped
        line = rng.choice([b"", b"   ", b"\t", b"# a comment", b"  #get x0"])
    else:  # a good line with a byte broken
        good = bytearray(b"set x1 0x1234")
        good[rng.randrange(len(good))] = rng.choice([0x00, 0x80, 0xFF, 0x7F, 0xC3])
        line = bytes(good)
    return line


def _answered(line: bytes) -> bool:
    """Whether batch answers this line: all but blank and comment lines (its grammar)."""
    if len(line) > MAX_LINE:
        return True
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return True
    text = text.strip(" \t")
    return bool(text) and not text.startswith("#")


@pytest.mark.parametrize("seed", [12])
def test_a_seeded_random_run_answers_every_line_in_order(seed: int) -> None:
    rng = random.Random(seed)
    data, expected, previous = bytearray(), [], b"\n"
    for number in range(1, RANDOM_LINES + 1):
        line = _random_line(rng)
        if previous == b"\r" and not line:
            line = b"#"  # an empty line after a lone CR would make it a CRLF
        ending = rng.choice(ENDINGS)
        data += line + ending
        previous = ending
        if _answered(line):
            expected.append(number)
    answers = _answers(bytes(data), timeout=300)
    assert [a["line"] for a in answers] == expected
    oks = sum(a["ok"] for a in answers)
    assert 0 < oks < len(answers)  # the run did both: real commands and refusals
    assert all("error" in a for a in answers if not a["ok"])
    assert not any(re.search(r"Traceback|Exceeds the limit", json.dumps(a)) for a in answers)
