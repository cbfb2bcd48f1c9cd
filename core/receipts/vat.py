"""VAT included in a price: the base and the tax of a total, in integer minor units.

The total is what the customer paid; the base is the total divided by (1 + rate), rounded to
the nearest minor unit (halves away from zero), and the VAT is what is left: total - base.
So base + VAT equals the total exactly, on every receipt, and the VAT carries the rounding.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def split_vat(total: int, rate: Decimal) -> tuple[int, int]:
    """(base, vat) of a VAT-included `total` at `rate` percent; a negative total (a corrective
    receipt) splits as its positive counterpart, negated."""
    sign = -1 if total < 0 else 1
    amount = abs(total)
    base = int((Decimal(amount) * 100 / (100 + rate)).to_integral_value(ROUND_HALF_UP))
    return sign * base, sign * (amount - base)


def rate_text(rate: Decimal) -> str:
    """`21` for 21, `10.5` for 10.50: how the rate is stored and printed."""
    return format(rate.normalize(), "f")
