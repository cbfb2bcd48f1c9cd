"""Amounts as shop staff type them in the chat, into minor units; anything doubtful refused."""

from __future__ import annotations

import pytest

from core.money import MoneyError
from core.quotes.amounts import parse_quote_amount


@pytest.mark.parametrize(
    ("typed", "code", "minor"),
    [
        ("12,50", "EUR", 1250),
        ("12.50", "EUR", 1250),
        ("12", "EUR", 1200),
        ("12,5", "EUR", 1250),
        (" 12,50 € ", "EUR", 1250),
        ("€12.50", "EUR", 1250),
        ("12.50 eur", "EUR", 1250),
        ("0,01", "EUR", 1),
        ("1500", "CLP", 1500),
        ("250", "XTR", 250),
    ],
)
def test_amounts_typed_as_people_type_them(typed: str, code: str, minor: int) -> None:
    assert parse_quote_amount(typed, code) == minor


@pytest.mark.parametrize(
    ("typed", "code", "error"),
    [
        ("doce", "EUR", "bad_price"),
        ("", "EUR", "bad_price"),
        ("1.234,50", "EUR", "bad_price"),  # a thousands separator is refused, not guessed
        ("12,50,1", "EUR", "bad_price"),
        ("1e3", "EUR", "bad_price"),
        ("-5", "EUR", "negative"),
        ("12,505", "EUR", "too_many_decimals"),
        ("12,5", "CLP", "too_many_decimals"),
        ("0", "EUR", "below_minimum"),
        ("0,00", "EUR", "below_minimum"),
        ("9999999999999", "EUR", "too_large"),
        ("12", "ZZZ", "unknown_currency"),
    ],
)
def test_doubtful_amounts_are_refused_with_a_reason(typed: str, code: str, error: str) -> None:
    with pytest.raises(MoneyError) as refused:
        parse_quote_amount(typed, code)
    assert refused.value.code == error
