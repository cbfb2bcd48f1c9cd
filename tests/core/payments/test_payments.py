"""Payments in the domain: signed payloads, invoices from orders, the pre-checkout checks,
a payment recorded once with its order moved on, validar_pago's verification, expiry."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.catalogue.product import Product
from core.catalogue.store import CatalogueStore
from core.db.engine import Database
from core.orders.model import Order
from core.orders.payment import PaymentClient, PaymentHeld
from core.orders.priced import place_priced
from core.orders.pricing import price
from core.orders.states import OrderState
from core.orders.store import OrderNotFound, OrderStore
from core.payments.checks import EXPIRED, payment_problem, precheckout_problem
from core.payments.invoice import invoice_for
from core.payments.payload import make_payload, order_of
from core.payments.store import Paid, PaymentStore

PIZZA = Product("PZ", "Pizza", "Pizza", 950, "EUR", stock=5)
STICKERS = Product("STK", "Pegatinas", "Stickers", 50, "XTR", stock=5)
TTL = 1800.0


@pytest.fixture
def store(sqlite_db: Database) -> OrderStore:
    CatalogueStore(sqlite_db).replace_all([PIZZA, STICKERS])
    return OrderStore(sqlite_db)


def awaiting(store: OrderStore, sku: str = "PZ", quantity: int = 2) -> Order:
    catalogue = CatalogueStore(store.db)
    [quote] = price([(sku, quantity)], catalogue.get_many([sku]))
    method = "stars" if quote.currency == "XTR" else "telegram"
    order, _ = place_priced(store, 7, 7, quote, f"test:{sku}:{quantity}", "es", method, True)
    return order


def paid_for(order: Order, charge: str = "tg-1", **changes: object) -> Paid:
    paid = Paid(
        order_id=order.id,
        user_id=order.user_id,
        currency=order.currency,
        total_amount=order.total,
        payload=make_payload(order.id, order.user_id),
        telegram_payment_charge_id=charge,
        provider_payment_charge_id="" if order.currency == "XTR" else f"ch-{charge}",
        name="Ana",
        phone="+34600",
    )
    return replace(paid, **changes)  # type: ignore[arg-type]


def test_a_payload_names_its_order_only_for_its_user_and_unedited() -> None:
    payload = make_payload("P-ABCDEF", 7)
    assert len(payload.encode()) <= 128
    assert order_of(payload, 7) == "P-ABCDEF"
    assert order_of(payload, 8) is None
    assert order_of(payload.replace("P-ABCDEF", "P-ABCDEG"), 7) is None
    assert order_of("garbage", 7) is None


def test_an_invoice_lists_the_lines_and_stars_get_one_price(store: OrderStore) -> None:
    order = awaiting(store)
    fiat = invoice_for(order, store.lines(order.id), "es", "TOKEN")
    assert fiat.prices == (("2× Pizza", 1900),) and fiat.total == order.total == 1900
    assert (fiat.provider_token, fiat.need_name, fiat.title) == (
        "TOKEN",
        True,
        f"Pedido {order.id}",
    )
    delivered = invoice_for(replace(order, delivery_fee=300, total=2200), [], "en", "TOKEN")
    assert delivered.prices[-1] == ("Delivery", 300)
    stars = awaiting(store, "STK", 3)
    xtr = invoice_for(stars, store.lines(stars.id), "es", "TOKEN")
    assert (xtr.provider_token, len(xtr.prices), xtr.total) == ("", 1, 150)


def test_pre_checkout_refuses_what_does_not_match(store: OrderStore) -> None:
    payments = PaymentStore(store)
    order = awaiting(store)
    found = payments.checkout(order.id)
    now = order.created_at + 10
    assert precheckout_problem(found, 7, "EUR", 1900, now, TTL) is None
    assert precheckout_problem(found, 7, "EUR", 1800, now, TTL) == "amount"
    assert precheckout_problem(found, 7, "USD", 1900, now, TTL) == "amount"
    assert precheckout_problem(found, 8, "EUR", 1900, now, TTL) == "unknown"
    assert precheckout_problem(None, 7, "EUR", 1900, now, TTL) == "unknown"
    assert precheckout_problem(found, 7, "EUR", 1900, order.created_at + TTL, TTL) == "expired"


def test_a_payment_is_recorded_once_and_moves_its_order(store: OrderStore) -> None:
    payments = PaymentStore(store)
    order = awaiting(store)
    first = payments.record(paid_for(order))
    assert (first.new, first.moved) == (True, True)
    again = payments.record(paid_for(order))
    assert (again.new, again.moved) == (False, False)
    assert payments.count(order.id) == 1
    assert store.get(order.id).state is OrderState.PENDIENTE
    later = payments.checkout(order.id)
    assert precheckout_problem(later, 7, "EUR", 1900, order.created_at, TTL) == "paid"


def test_validar_pago_verifies_the_recorded_payment(store: OrderStore) -> None:
    payments = PaymentStore(store)
    client = PaymentClient("", 1.0, recorded=payments.payment_of)
    order = awaiting(store)
    with pytest.raises(PaymentHeld, match="missing"):
        client.authorize(store.get(order.id))
    payments.record(paid_for(order))
    client.authorize(store.get(order.id))  # verified: returns
    short = awaiting(store, quantity=1)
    payments.record(paid_for(short, charge="tg-2", total_amount=1))
    with pytest.raises(PaymentHeld, match="amount"):
        client.authorize(store.get(short.id))
    assert payment_problem(store.get(short.id), payments.payment_of(short.id)) == "amount"
    # Payments off: an order with no payment method is placed "sin cobro", as before.
    client.authorize(replace(store.get(order.id), payment_method=""))


def test_an_expired_invoice_cancels_its_order_and_gives_its_stock_back(store: OrderStore) -> None:
    payments = PaymentStore(store)
    catalogue = CatalogueStore(store.db)
    order = awaiting(store, quantity=3)
    assert catalogue.get("PZ").stock == 2  # type: ignore[union-attr]
    assert payments.expired(order.created_at + 1, 10) == [order.id]
    assert payments.expire(order.id, EXPIRED)
    assert not payments.expire(order.id, EXPIRED)
    cancelled = store.get(order.id)
    assert (cancelled.state, cancelled.error) == (OrderState.CANCELADO, EXPIRED)
    assert catalogue.get("PZ").stock == 5  # type: ignore[union-attr]
    # A paid order is never expired.
    other = awaiting(store, quantity=1)
    payments.record(paid_for(other, charge="tg-3"))
    assert not payments.expire(other.id, EXPIRED)
    assert store.get(other.id).state is OrderState.PENDIENTE


def test_retention_keeps_a_paid_order_for_the_legal_term(store: OrderStore) -> None:
    """ORDER_RETENTION deletes an old finished order, but one with a payment only once
    LEGAL_RETENTION has passed too; its payment row stays in the books either way."""
    payments = PaymentStore(store)
    paid = awaiting(store)
    assert payments.record(paid_for(paid)).moved
    unpaid = awaiting(store, quantity=1)
    for order in (paid, unpaid):
        store.move(order.id, OrderState.CANCELADO)
    finished = max(store.get(o.id).finished_at for o in (paid, unpaid))

    assert store.delete_finished_before(finished, 10, paid_cutoff=finished - 1) == 1
    assert store.get(paid.id).state is OrderState.CANCELADO
    with pytest.raises(OrderNotFound):
        store.get(unpaid.id)
    assert store.delete_finished_before(finished, 10, paid_cutoff=finished) == 1
    with pytest.raises(OrderNotFound):
        store.get(paid.id)
    assert payments.count(paid.id) == 1
