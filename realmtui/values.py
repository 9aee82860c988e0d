"""What a user types as a register value: checked before anything reaches the kernel."""

from __future__ import annotations

import re


class BadValue(ValueError):
    """The text is not a value this register can hold; the message says what was expected."""


# ASCII digits only: Python's int() also takes fullwidth and other Unicode digits, which no
# one types on purpose, and a value is part of a strict grammar (batch, the editor, MMIO).
_HEX = re.compile(r"0x([0-9a-f]+(?:_[0-9a-f]+)*)", re.ASCII)
_DEC = re.compile(r"[0-9]+(?:_[0-9]+)*", re.ASCII)


def max_decimal_digits(bits: int) -> int:
    return len(str((1 << bits) - 1))


def parse_value(text: str, bits: int) -> int:
    """Decimal or 0x-hex (underscores allowed between digits), fitting in `bits` bits.

    A negative number is refused: two's complement depends on the width the user means,
    so they write it as hex (0xffff_ffff_ffff_ffff rather than -1). A value with more
    significant digits than the register can hold is refused by its length, before any
    conversion: int() of a long decimal string is quadratic, and past 4300 digits Python
    refuses it with an internal message.
    """
    raw = text.strip().lower()
    if not raw:
        raise BadValue(f"no value given: type a number for this u{bits} register (123 or 0x7b)")
    if raw.startswith("-"):
        raise BadValue(
            f"negative numbers are not accepted: write the u{bits} bit pattern in hex "
            f"(e.g. -1 is 0x{(1 << bits) - 1:x})"
        )
    if raw.startswith("+"):
        raw = raw[1:]
    if m := _HEX.fullmatch(raw):
        digits = m.group(1).replace("_", "").lstrip("0")
        # Refused by length before converting (a 5000-digit paste costs nothing); one
        # digit of slack so a near miss still says how many bits it has, below.
        if len(digits) > (bits + 3) // 4 + 1:
            raise BadValue(
                f"{len(digits)} significant hex digits are too wide: this register holds "
                f"u{bits} (at most {(bits + 3) // 4} hex digits, 0x{(1 << bits) - 1:x})"
            )
        value = int(digits or "0", 16)
    elif _DEC.fullmatch(raw):
        digits = raw.replace("_", "").lstrip("0")
        if len(digits) > max_decimal_digits(bits) + 1:
            raise BadValue(
                f"{len(digits)} significant decimal digits are too wide: this register holds "
                f"u{bits} (at most {max_decimal_digits(bits)} digits, {(1 << bits) - 1})"
            )
        value = int(digits or "0", 10)
    else:
        raise BadValue(f"{_shown(text)} is not a number: use decimal (123) or hex (0x7b)")
    if value >= 1 << bits:
        raise BadValue(
            f"0x{value:x} is {value.bit_length()} bits wide; this register holds u{bits} "
            f"(at most 0x{(1 << bits) - 1:x})"
        )
    return value


def _shown(text: str, limit: int = 40) -> str:
    """The user's text in a message, cut so that a pasted megabyte stays one readable line."""
    text = text.strip()
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit]) + f"… ({len(text)} characters)"


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
