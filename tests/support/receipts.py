"""A shop that issues receipts, for tests and benchmarks: a pizza in the catalogue, orders
awaiting payment, their successful payments, a clock a test moves."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from core.catalogue.product import Product
from core.catalogue.store import CatalogueStore
from core.db.engine import Database
from core.orders.model import Order
from core.orders.priced import place_priced
from core.orders.pricing import price
from core.orders.store import OrderStore
from core.payments.payload import make_payload
from core.payments.store import Paid, PaymentStore
from core.receipts.book import ReceiptBook, ReceiptPolicy

PIZZA = Product("PZ", "Pizza margarita", "Margherita pizza", 950, "EUR", stock=None)
MADRID = "Europe/Madrid"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def shop(db: Database, clock: Clock | None = None) -> tuple[OrderStore, PaymentStore]:
    CatalogueStore(db).replace_all([PIZZA])
    orders = OrderStore(db)
    book = ReceiptBook(
        db, ReceiptPolicy(Decimal(21), MADRID), **({"clock": clock} if clock else {})
    )
    return orders, PaymentStore(orders, book)


def awaiting(orders: OrderStore, n: int, user: int = 7) -> Order:
    [quote] = price([("PZ", n)], CatalogueStore(orders.db).get_many(["PZ"]))
    order, _ = place_priced(orders, user, user, quote, f"t:{user}:{n}", "es", "telegram", True)
    return order


def paid_for(order: Order, charge: str, **changes: object) -> Paid:
    paid = Paid(
        order.id,
        order.user_id,
        order.currency,
        order.total,
        make_payload(order.id, order.user_id),
        charge,
        f"prov-{charge}",
        name="Ana Pérez",
    )
    return replace(paid, **changes)  # type: ignore[arg-type]
