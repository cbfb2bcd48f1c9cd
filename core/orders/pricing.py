"""Pricing an order on the server: the customer's wanted (SKU, quantity) pairs and the
catalogue as it is now become quotes — one per currency, since an order has one currency
(Stars products and fiat products check out as two orders). Money in minor units."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core import money
from core.catalogue.matching import MAX_LINES, MAX_QUANTITY
from core.catalogue.product import Product


@dataclass(frozen=True)
class PricedLine:
    sku: str
    name_es: str
    name_en: str
    unit_price: int
    quantity: int
    line_total: int
    currency: str
    fulfilment: str

    def name(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name_es


@dataclass(frozen=True)
class Quote:
    currency: str
    lines: tuple[PricedLine, ...]
    delivery_fee: int = 0

    @property
    def subtotal(self) -> int:
        return sum(line.line_total for line in self.lines)

    @property
    def total(self) -> int:
        return self.subtotal + self.delivery_fee

    def text(self) -> str:
        """The order's text as stored and shown to staff (Spanish names, one line each)."""
        return "\n".join(f"{line.quantity}× {line.name_es}" for line in self.lines)


class QuoteProblem(ValueError):
    """Why the wanted lines cannot be ordered as they are; `code` picks the customer's text
    (withdrawn, sold_out, bad_quantity, too_many_lines, empty, below_shop_minimum; and
    Telegram's below_minimum / above_maximum for the currency), `sku` names the product
    at fault, if one is."""

    def __init__(self, code: str, sku: str = "", **values: object) -> None:
        super().__init__(code)
        self.code = code
        self.sku = sku
        self.values = values


def _line(product: Product, quantity: int) -> PricedLine:
    return PricedLine(
        sku=product.sku,
        name_es=product.name_es,
        name_en=product.name_en,
        unit_price=product.price,
        quantity=quantity,
        line_total=product.price * quantity,
        currency=product.currency,
        fulfilment=product.fulfilment.value,
    )


def price(
    wanted: Sequence[tuple[str, int]],
    products: Mapping[str, Product],
    min_order: int = 0,
    shop_currency: str = "EUR",
) -> list[Quote]:
    """Quotes for `wanted` at today's prices, the shop's currency first; QuoteProblem when a
    line cannot be sold (withdrawn or sold out products are flagged, never dropped)."""
    if not wanted:
        raise QuoteProblem("empty")
    if len(wanted) > MAX_LINES:
        raise QuoteProblem("too_many_lines", limit=MAX_LINES)
    by_currency: dict[str, list[PricedLine]] = {}
    for sku, quantity in wanted:
        product = products.get(sku)
        if product is None or not product.active:
            raise QuoteProblem("withdrawn", sku)
        if not 1 <= quantity <= MAX_QUANTITY:
            raise QuoteProblem("bad_quantity", sku, limit=MAX_QUANTITY)
        if not product.can_sell(quantity):
            raise QuoteProblem("sold_out", sku, left=product.stock or 0)
        by_currency.setdefault(product.currency, []).append(_line(product, quantity))
    quotes = [Quote(code, tuple(lines)) for code, lines in by_currency.items()]
    quotes.sort(key=lambda q: q.currency != shop_currency)
    for quote in quotes:
        try:
            money.check_total(quote.total, quote.currency)
        except money.MoneyError as exc:
            raise QuoteProblem(exc.code, "", **exc.values) from None
        if quote.currency == shop_currency and quote.total < min_order:
            raise QuoteProblem("below_shop_minimum", minimum=min_order, currency=shop_currency)
    return quotes
