"""What a user types as a value is checked before it reaches the kernel."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realmtui.values import BadValue, format_value, parse_value

WIDTHS = [32, 64, 128, 256, 512, 1024, 2048]


@pytest.mark.parametrize("text,value", [
    ("0", 0), ("123", 123), ("0x7b", 123), ("0X7B", 123), (" 0xdead_beef ", 0xDEADBEEF),
    ("1_000", 1000), ("+5", 5),
])
def test_decimal_and_hex_are_accepted(text: str, value: int) -> None:
    assert parse_value(text, 64) == value


@pytest.mark.parametrize("text", ["", "abc", "0x", "12ab", "1.5", "0x_1", "1-", "0b101"])
def test_malformed_values_say_what_was_expected(text: str) -> None:
    with pytest.raises(BadValue) as e:
        parse_value(text, 64)
    assert "decimal" in str(e.value) or "no value" in str(e.value)


def test_negative_numbers_point_to_the_hex_spelling() -> None:
    with pytest.raises(BadValue) as e:
        parse_value("-1", 32)
    assert "0xffffffff" in str(e.value)


@pytest.mark.parametrize("bits", WIDTHS)
def test_width_is_enforced_at_every_register_size(bits: int) -> None:
    top = (1 << bits) - 1
    assert parse_value(hex(top), bits) == top
    with pytest.raises(BadValue) as e:
        parse_value(hex(top + 1), bits)
    assert f"u{bits}" in str(e.value)


sized_values = st.sampled_from(WIDTHS).flatmap(
    lambda b: st.tuples(st.just(b), st.integers(0, (1 << b) - 1))
)


@given(sized_values)
def test_formatted_values_parse_back(bits_value: tuple[int, int]) -> None:
    bits, value = bits_value
    assert parse_value(format_value(value, bits), bits) == value
    assert parse_value(format_value(value, bits, "dec"), bits) == value
