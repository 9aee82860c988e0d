"""What a user types as a register value: checked before anything reaches the kernel."""

from __future__ import annotations

import re


class BadValue(ValueError):
    """The text is not a value this register can hold; the message says what was expected."""


_HEX = re.compile(r"0x[0-9a-f]+(?:_[0-9a-f]+)*")
_DEC = re.compile(r"[0-9]+(?:_[0-9]+)*")


def parse_value(text: str, bits: int) -> int:
    """Decimal or 0x-hex (underscores allowed between digits), fitting in `bits` bits.

    A negative number is refused: two's complement depends on the width the user means,
    so they write it as hex (0xffff_ffff_ffff_ffff rather than -1).
    """
    raw = text.strip().lower().replace(" ", "")
    if not raw:
        raise BadValue(f"no value given: type a number for this u{bits} register (123 or 0x7b)")
    if raw.startswith("-"):
        raise BadValue(
            f"negative numbers are not accepted: write the u{bits} bit pattern in hex "
            f"(e.g. -1 is 0x{(1 << bits) - 1:x})"
        )
    if raw.startswith("+"):
        raw = raw[1:]
    if _HEX.fullmatch(raw):
        value = int(raw, 16)
    elif _DEC.fullmatch(raw):
        value = int(raw, 10)
    else:
        raise BadValue(f"{text.strip()!r} is not a number: use decimal (123) or hex (0x7b)")
    if value >= 1 << bits:
        raise BadValue(
            f"0x{value:x} is {value.bit_length()} bits wide; this register holds u{bits} "
            f"(at most 0x{(1 << bits) - 1:x})"
        )
    return value


def format_value(value: int, bits: int, radix: str = "hex") -> str:
    """Full-width hex (so a glance shows the register's width), or decimal."""
    if radix == "dec":
        return str(value)
    digits = max(1, bits // 4)
    text = f"{value:0{digits}x}"
    if digits > 16:
        # Wide registers: group by 64-bit lanes so they can be read at all.
        text = "_".join(text[i : i + 16] for i in range(0, len(text), 16))
    return "0x" + text
