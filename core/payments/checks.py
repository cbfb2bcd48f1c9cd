"""What must hold before Telegram may charge a customer (the pre-checkout answer) and what a
recorded payment must match before an order is fulfilled (validar_pago). Each answers None
when all is well, else a problem code whose words are `pay.error.{code}` in the locales."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.orders.model import Order
from core.orders.states import OrderState
from core.payments.methods import INVOICED, STARS_CURRENCY, invoice_method
from core.payments.payload import make_payload, order_of
from core.payments.zones import Zone, fee_of

# The error an order is cancelled with when its invoice expired unpaid.
EXPIRED = "invoice_expired"


@dataclass(frozen=True)
class Checkout:
    """An order as the pre-checkout question needs it: with whether its stock is held."""

    order: Order
    stock_reserved: bool
    has_lines: bool


@dataclass(frozen=True)
class Recorded:
    """A payment as recorded from Telegram's successful_payment."""

    id: int
    order_id: str
    method: str
    currency: str
    total_amount: int
    payload: str
    telegram_payment_charge_id: str
    provider_payment_charge_id: str


def is_shipped(order: Order, zones: Sequence[Zone], shop_currency: str) -> bool:
    """Whether the order's invoice asks for an address and charges its zone's fee: a card
    order in the shop's currency (the fees' currency) when the shop has delivery zones."""
    return bool(zones) and order.currency == shop_currency and order.currency != STARS_CURRENCY


def shipping_fee(
    order: Order,
    zones: Sequence[Zone],
    shop_currency: str,
    chosen: str,
    post_code: str,
    city: str,
) -> int | None:
    """What the chosen shipping option adds to the order (0: none asked); None when the
    option is not one the bot offers for that address."""
    if not is_shipped(order, zones, shop_currency):
        return 0 if not chosen else None
    return fee_of(zones, chosen, post_code, city)


def precheckout_problem(
    found: Checkout | None,
    user_id: int,
    currency: str,
    total_amount: int,
    now: float,
    invoice_ttl: float,
    fee: int | None = 0,
) -> str | None:
    """Whether Telegram may charge `user_id` `total_amount` of `currency` for `found`
    (None: the payload named no order of the bot's making, or no order at all), the chosen
    shipping option adding `fee` (None: an option the bot never offered)."""
    if found is None:
        return "unknown"
    order = found.order
    if order.user_id != user_id:
        return "unknown"
    if order.state is OrderState.CANCELADO:
        return "expired" if order.error == EXPIRED else "closed"
    if order.state is not OrderState.AWAITING_PAYMENT:
        return "paid" if order.payment_method in INVOICED else "closed"
    # From when it came to await payment (updated_at: a quote is priced long after it was
    # asked for), which is its creation for a cart's order.
    if now >= order.updated_at + invoice_ttl:
        return "expired"
    if fee is None:
        return "shipping"
    if currency != order.currency or total_amount != order.total + fee:
        return "amount"
    if found.has_lines and not found.stock_reserved:
        return "stock"
    return None


def payload_order(payload: str, user_id: int) -> str | None:
    return order_of(payload, user_id)


def payment_problem(order: Order, payment: Recorded | None) -> str | None:
    """Whether the recorded payment pays for `order` exactly: method, currency, amount and
    the payload the bot signed for it. None: verified."""
    if payment is None:
        return "missing"
    if payment.order_id != order.id or payment.payload != make_payload(order.id, order.user_id):
        return "payload"
    if payment.method != order.payment_method or payment.method != invoice_method(order.currency):
        return "method"
    if payment.currency != order.currency or payment.total_amount != order.total:
        return "amount"
    return None
