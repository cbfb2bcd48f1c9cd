"""The currencies Telegram Payments accept, with each one's minor unit and the total an invoice
may have (about US$1 to US$10,000), from a copy of Telegram's currencies.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# Same shape as https://core.telegram.org/bots/payments/currencies.json (amounts are strings
# of minor units there too); the limits follow exchange rates, so Telegram's file moves a little.
CURRENCIES_FILE = Path(__file__).resolve().parent / "currencies.json"
STARS = "XTR"


@dataclass(frozen=True)
class Currency:
    """One currency: `exp` digits after the decimal point; totals within min..max minor units."""

    code: str
    exp: int
    min_amount: int
    max_amount: int
    symbol: str
    symbol_left: bool
    space_between: bool
    thousands_sep: str
    decimal_sep: str

    def format(self, amount: int) -> str:
        """The amount as Telegram's apps show it: "12,34 €", "$12.34", "CLP 9.350", "⭐️50"."""
        sign = "-" if amount < 0 else ""
        whole, cents = divmod(abs(amount), 10**self.exp)
        digits = f"{whole:,}".replace(",", self.thousands_sep)
        if self.exp:
            digits += self.decimal_sep + str(cents).rjust(self.exp, "0")
        space = " " if self.space_between else ""
        if self.symbol_left:
            return f"{sign}{self.symbol}{space}{digits}"
        return f"{sign}{digits}{space}{self.symbol}"


@cache
def currencies() -> dict[str, Currency]:
    """Every known currency by its ISO 4217 code (and XTR, Telegram Stars)."""
    data = json.loads(CURRENCIES_FILE.read_text(encoding="utf-8"))
    return {
        code: Currency(
            code=code,
            exp=int(item["exp"]),
            min_amount=int(item["min_amount"]),
            max_amount=int(item["max_amount"]),
            symbol=item["symbol"],
            symbol_left=bool(item["symbol_left"]),
            space_between=bool(item["space_between"]),
            thousands_sep=item["thousands_sep"],
            decimal_sep=item["decimal_sep"],
        )
        for code, item in data.items()
    }
