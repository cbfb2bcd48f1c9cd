"""Money: strict parsing of staff-typed prices, amounts as a reader of each language expects
them, and the totals Telegram Payments accepts."""

from __future__ import annotations

import json

import pytest
from babel.numbers import get_currency_precision

from core.money import (
    CURRENCIES_FILE,
    MoneyError,
    check_total,
    currencies,
    currency,
    format_amount,
    parse_amount,
    to_major,
)


@pytest.mark.parametrize(
    ("text", "code", "minor"),
    [
        ("12.50", "EUR", 1250),
        ("12.5", "EUR", 1250),
        ("12", "EUR", 1200),
        ("0.05", "USD", 5),
        ("0", "EUR", 0),
        (" 7.99 ", "GBP", 799),
        ("1250", "CLP", 1250),
        ("1500", "JPY", 1500),
        ("50", "XTR", 50),
        ("12.50", "eur", 1250),
        ("1234.56", "HUF", 123456),  # ISO 4217 gives HUF two decimals, CLDR none
    ],
)
def test_prices_typed_in_major_units_become_minor_units(text: str, code: str, minor: int) -> None:
    assert parse_amount(text, code) == minor


@pytest.mark.parametrize(
    ("text", "code", "reason"),
    [
        ("12.5.0", "EUR", "bad_price"),
        ("12,50", "EUR", "bad_price"),
        ("1,250.00", "USD", "bad_price"),
        ("", "EUR", "bad_price"),
        ("   ", "EUR", "bad_price"),
        ("1e3", "EUR", "bad_price"),
        ("1 000", "EUR", "bad_price"),
        ("12.", "EUR", "bad_price"),
        (".5", "EUR", "bad_price"),
        ("+5", "EUR", "bad_price"),
        ("€12", "EUR", "bad_price"),
        ("١٢", "EUR", "bad_price"),  # Arabic-Indic digits
        ("NaN", "EUR", "bad_price"),
        ("-1", "EUR", "negative"),
        ("-0.50", "EUR", "negative"),
        ("12.505", "EUR", "too_many_decimals"),
        ("1250.5", "CLP", "too_many_decimals"),
        ("1250.0", "JPY", "too_many_decimals"),
        ("1.5", "XTR", "too_many_decimals"),
        ("1" * 13, "EUR", "too_large"),
        ("12.50", "EURO", "unknown_currency"),
        ("12.50", "ZZZ", "unknown_currency"),
        ("12.50", "", "unknown_currency"),
    ],
)
def test_bad_prices_are_refused_with_a_reason(text: str, code: str, reason: str) -> None:
    with pytest.raises(MoneyError) as err:
        parse_amount(text, code)
    assert err.value.code == reason


@pytest.mark.parametrize(
    ("minor", "code", "language", "shown"),
    [
        (1250, "EUR", "es", "12,50\u00a0€"),
        (1250, "EUR", "en", "€12.50"),
        (123450, "EUR", "es", "1.234,50\u00a0€"),
        (1234550, "EUR", "es", "12.345,50\u00a0€"),
        (123450, "EUR", "en", "€1,234.50"),
        (999, "USD", "en", "$9.99"),
        (5990, "CLP", "es", "5.990\u00a0CLP"),
        (1500, "JPY", "en", "¥1,500"),
        (50, "XTR", "es", "50\u00a0⭐"),
        (12000, "XTR", "en", "12,000\u00a0⭐"),
        (123456, "HUF", "es", "1.234,56\u00a0HUF"),
        (-500, "EUR", "es", "-5,00\u00a0€"),  # a refund
    ],
)
def test_amounts_are_shown_as_each_language_writes_them(
    minor: int, code: str, language: str, shown: str
) -> None:
    assert format_amount(minor, code, language) == shown


@pytest.mark.parametrize(
    ("minor", "code", "major"),
    [(1250, "EUR", "12.50"), (5, "EUR", "0.05"), (0, "EUR", "0.00"), (5990, "CLP", "5990")],
)
def test_the_plain_form_reads_back_to_the_same_amount(minor: int, code: str, major: str) -> None:
    assert to_major(minor, code) == major
    assert parse_amount(major, code) == minor


def test_exponents_are_iso_4217_and_stars_have_none() -> None:
    assert [currency(c).exponent for c in ("EUR", "USD", "GBP", "MXN", "ARS", "BRL")] == [2] * 6
    assert [currency(c).exponent for c in ("CLP", "JPY", "XTR")] == [0, 0, 0]
    assert currency("xtr").is_stars and not currency("EUR").is_stars


def test_the_table_agrees_with_babel_except_where_cldr_departs_from_iso() -> None:
    # CLDR shows HUF and COP without decimals, but ISO 4217 (and Telegram) give them two;
    # XTR is not a currency Babel knows.
    differing = {c for c in currencies() if currency(c).exponent != get_currency_precision(c)}
    assert differing == {"COP", "HUF", "XTR"}


def test_every_common_currency_has_telegram_limits() -> None:
    for code in ("EUR", "USD", "GBP", "CLP", "JPY", "MXN", "ARS", "BRL", "XTR"):
        found = currency(code)
        assert 0 < found.min_amount < found.max_amount
    raw = json.loads(CURRENCIES_FILE.read_text())
    assert all(isinstance(v["min_amount"], int) for k, v in raw.items() if k != "_comment")


def test_totals_outside_telegrams_limits_are_refused() -> None:
    eur = currency("EUR")
    check_total(eur.min_amount, "EUR")
    check_total(eur.max_amount, "EUR")
    with pytest.raises(MoneyError) as low:
        check_total(eur.min_amount - 1, "EUR")
    assert low.value.code == "below_minimum" and low.value.values["limit"] == eur.min_amount
    with pytest.raises(MoneyError) as high:
        check_total(10_001, "XTR")
    assert high.value.code == "above_maximum"
