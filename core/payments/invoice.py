"""The invoice of an order, as sendInvoice wants it: title and description from the order, one
price per line (and delivery as its own), summing to the order's total; Stars (XTR) invoices
have no provider token and exactly one price, as Telegram requires."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core import texts
from core.orders.model import Order
from core.orders.pricing import PricedLine
from core.payments.methods import STARS_CURRENCY
from core.payments.payload import make_payload

MAX_TITLE = 32
MAX_DESCRIPTION = 255
MAX_LABEL = 64


@dataclass(frozen=True)
class Invoice:
    title: str
    description: str
    payload: str
    currency: str
    prices: tuple[tuple[str, int], ...]
    provider_token: str
    # Fiat only: Telegram ignores need_* for Stars.
    need_name: bool
    need_phone_number: bool
    # Delivered to a zone (core.payments.zones): ask the address, the fee comes with it.
    flexible: bool = False
    # Receipts by email (RECEIPT_EMAIL): ask for the address they go to.
    need_email: bool = False

    @property
    def total(self) -> int:
        return sum(amount for _, amount in self.prices)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def invoice_for(
    order: Order,
    lines: Sequence[PricedLine],
    language: str,
    provider_token: str,
    shipped: bool = False,
    need_email: bool = False,
) -> Invoice:
    title = _clip(texts.plain(language, "pay.invoice_title", id=order.id), MAX_TITLE)
    wanted = ", ".join(f"{ln.quantity}× {ln.name(language)}" for ln in lines) or order.text
    description = _clip(wanted, MAX_DESCRIPTION)
    stars = order.currency == STARS_CURRENCY
    if stars:
        prices: tuple[tuple[str, int], ...] = ((title, order.total),)
    else:
        prices = tuple(
            (_clip(f"{ln.quantity}× {ln.name(language)}", MAX_LABEL), ln.line_total) for ln in lines
        )
        if order.delivery_fee:
            prices += ((texts.raw(language, "pay.delivery_label"), order.delivery_fee),)
    return Invoice(
        title=title,
        description=description,
        payload=make_payload(order.id, order.user_id),
        currency=order.currency,
        prices=prices,
        provider_token="" if stars else provider_token,
        need_name=not stars,
        need_phone_number=not stars,
        flexible=shipped and not stars,
        need_email=need_email and not stars,
    )
