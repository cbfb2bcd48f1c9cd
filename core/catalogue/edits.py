"""Staff quick edits from the chat: `/precio SKU 12.50`, `/stock SKU 10`, `/agotado SKU`.

Only the command's words are read here; the handler looks the SKU up and applies the change
through the catalogue's store.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.catalogue.product import UNLIMITED, ProductError, clean_sku, parse_stock
from core.money import parse_amount

# Words meaning "no stock limit" for /stock: an explicit word rather than a blank, so that a
# `/stock SKU` sent by mistake without its number changes nothing.
UNLIMITED_WORDS = frozenset({"∞", "ilimitado", "ilimitada", "unlimited", "infinito", "sinlimite"})


class EditError(ValueError):
    """Why a quick edit could not be read: `usage` (wrong number of words), or the reason of
    the SKU (missing_sku, bad_sku) or the value (bad_stock, and MoneyError's for prices)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class PriceEdit:
    """`/precio SKU 12.50`: the price as typed, read once the product's currency is known."""

    sku: str
    price_text: str

    def price(self, currency: str) -> int:
        """The new price in minor units of `currency`. Raises core.money.MoneyError."""
        return parse_amount(self.price_text, currency)


@dataclass(frozen=True)
class StockEdit:
    """`/stock SKU 10` or `/stock SKU ∞`: the new stock, None for unlimited."""

    sku: str
    stock: int | None


def _words(args: str, count: int) -> list[str]:
    words = args.split()
    if len(words) != count:
        raise EditError("usage")
    return words


def _sku(raw: str) -> str:
    try:
        return clean_sku(raw)
    except ProductError as exc:
        raise EditError(exc.code) from None


def parse_price_edit(args: str) -> PriceEdit:
    """The words after `/precio`: a SKU and a price. Raises EditError."""
    sku, price = _words(args, 2)
    return PriceEdit(_sku(sku), price)


def parse_stock_edit(args: str) -> StockEdit:
    """The words after `/stock`: a SKU and a count, or ∞ / ilimitado / unlimited. Raises
    EditError."""
    sku, value = _words(args, 2)
    if value.lower().replace("í", "i") in UNLIMITED_WORDS:
        return StockEdit(_sku(sku), UNLIMITED)
    try:
        return StockEdit(_sku(sku), parse_stock(value))
    except ProductError as exc:
        raise EditError(exc.code) from None


def parse_sold_out(args: str) -> str:
    """The SKU after `/agotado` (its stock becomes 0). Raises EditError."""
    (sku,) = _words(args, 1)
    return _sku(sku)
