"""Money: amounts as integers in a currency's minor units, parsed strictly and shown per language.

Prices, carts, orders, payments and reports all speak in minor units (cents, or whole pesos for
CLP, or Stars for XTR); a float never holds an amount. Which currencies a shop may price in, their
exponents and the totals Telegram Payments accepts come from `core/data/currencies.json`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel.numbers import format_currency, format_decimal, get_currency_precision

CURRENCIES_FILE = Path(__file__).with_name("data") / "currencies.json"
STARS = "XTR"
# Telegram Stars are not ISO 4217, so Babel has no symbol for them.
STAR_SIGN = "⭐"
# A price has at most this many digits before the point: far above any shop's price or
# Telegram's largest total, and small enough that no absurd input reaches the database.
MAX_WHOLE_DIGITS = 12
# ASCII digits only (`\d` would take Arabic-Indic digits too), one optional point, no sign.
AMOUNT = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
# Every code a MoneyError may give (texts under money.error in core/locales).
ERRORS = (
    "bad_price",
    "negative",
    "too_many_decimals",
    "too_large",
    "unknown_currency",
    "below_minimum",
    "above_maximum",
)


class MoneyError(ValueError):
    """Why an amount or currency was refused; `code` picks the message (bad_price, negative,
    too_many_decimals, too_large, unknown_currency, below_minimum, above_maximum)."""

    def __init__(self, code: str, **values: object) -> None:
        super().__init__(code)
        self.code = code
        self.values = values


@dataclass(frozen=True)
class Currency:
    """A currency a shop may price in."""

    code: str
    # Digits after the point in a major-unit amount: 2 for EUR (12.50), 0 for CLP, JPY and XTR.
    exponent: int
    # The smallest and largest invoice total Telegram Payments accepts, in minor units.
    min_amount: int
    max_amount: int

    @property
    def is_stars(self) -> bool:
        return self.code == STARS


@cache
def _table() -> dict[str, Currency]:
    raw = json.loads(CURRENCIES_FILE.read_text(encoding="utf-8"))
    return {
        code: Currency(code, entry["exp"], entry["min_amount"], entry["max_amount"])
        for code, entry in raw.items()
        if not code.startswith("_")
    }


def currencies() -> list[str]:
    """Every currency code a shop may price in, sorted."""
    return sorted(_table())


def currency(code: str) -> Currency:
    """The currency for a code such as `EUR` or `eur`. Raises MoneyError(unknown_currency)."""
    found = _table().get(code.strip().upper())
    if found is None:
        raise MoneyError("unknown_currency", currency=code)
    return found


def parse_amount(text: str, code: str) -> int:
    """`12.50` in EUR → 1250: a major-unit amount as the staff type it, in minor units.

    Strict: ASCII digits with at most one `.` and at most the currency's decimals; no sign,
    comma, exponent, blank or inner space. Raises MoneyError.
    """
    found = currency(code)
    cleaned = text.strip()
    if cleaned.startswith("-") and AMOUNT.fullmatch(cleaned[1:]):
        raise MoneyError("negative", amount=text)
    match = AMOUNT.fullmatch(cleaned)
    if match is None:
        raise MoneyError("bad_price", amount=text)
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > found.exponent:
        raise MoneyError("too_many_decimals", amount=text, decimals=found.exponent)
    if len(whole.lstrip("0")) > MAX_WHOLE_DIGITS:
        raise MoneyError("too_large", amount=text)
    return int(whole) * 10**found.exponent + int(fraction.ljust(found.exponent, "0") or "0")


def to_major(minor: int, code: str) -> str:
    """1250 in EUR → `12.50`: the plain form `parse_amount` reads back (CSV, commands)."""
    exponent = currency(code).exponent
    sign, digits = ("-" if minor < 0 else ""), str(abs(minor))
    if exponent == 0:
        return sign + digits
    digits = digits.rjust(exponent + 1, "0")
    return f"{sign}{digits[:-exponent]}.{digits[-exponent:]}"


def format_amount(minor: int, code: str, language: str) -> str:
    """An amount as a person reading `language` expects: `12,50 €` (es), `€12.50` (en),
    `50 ⭐` for Stars. The space before a trailing sign does not break (Babel's U+00A0)."""
    found = currency(code)
    if found.is_stars:
        return f"{format_decimal(minor, locale=language)}\u00a0{STAR_SIGN}"
    value = Decimal(minor).scaleb(-found.exponent)
    # Babel (CLDR) shows some currencies with fewer digits than ISO 4217 gives them (HUF and
    # COP with none); the locale's pattern then supplies ISO's two.
    own_digits = get_currency_precision(found.code) == found.exponent
    return format_currency(value, found.code, locale=language, currency_digits=own_digits)


def check_total(minor: int, code: str) -> None:
    """Raise MoneyError(below_minimum / above_maximum) when Telegram Payments would refuse an
    invoice of this total; `values` carry the limit in minor units as `limit`."""
    found = currency(code)
    if minor < found.min_amount:
        raise MoneyError("below_minimum", limit=found.min_amount, currency=found.code)
    if minor > found.max_amount:
        raise MoneyError("above_maximum", limit=found.max_amount, currency=found.code)
