"""An amount as shop staff type it in a chat, into minor units: `12,50`, `12.50`, `12`,
`12,5 €`, `€12.50`, `12.50 EUR`. One decimal separator, comma or point; no thousands
separators (`1.234,50` is refused rather than guessed); nothing below one minor unit."""

from __future__ import annotations

import re

from core import money

# What may stand around the number: the currency's code or a common sign.
_SIGNS = re.compile(r"^[€$£¥⭐]|[€$£¥⭐]$")


def parse_quote_amount(text: str, code: str) -> int:
    """`12,50` in EUR → 1250. Raises money.MoneyError (bad_price, negative,
    too_many_decimals, too_large, unknown_currency, below_minimum)."""
    cleaned = text.strip()
    if code and cleaned.upper().endswith(code.upper()):
        cleaned = cleaned[: -len(code)].strip()
    cleaned = _SIGNS.sub("", cleaned).strip()
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    amount = money.parse_amount(cleaned, code)
    if amount <= 0:
        raise money.MoneyError("below_minimum", limit=1, currency=code.upper())
    return amount
