"""Refunds: Stars given back through refundStarPayment once (a repeat answered
CHARGE_ALREADY_REFUNDED counts as done), a card payment recorded as due for the staff, a
second payment of an order refunded by its own charge id, and a staff cancellation of a paid
order refunding it."""

from __future__ import annotations

from typing import Any, cast

from core.catalogue.product import Product
from core.catalogue.store import CatalogueStore
from core.db.engine import Database
from core.orders.fulfilment import Fulfilment
from core.orders.payment import PaymentClient
from core.orders.priced import place_priced
from core.orders.pricing import price
from core.orders.states import OrderState
from core.orders.store import OrderStore
from core.payments.payload import make_payload
from core.payments.refunds import Refunds, too_late_to_cancel
from core.payments.store import Paid, PaymentStore
from core.staff.actions import StaffActions
from core.staff.desk import StaffDesk
from core.telegram.client import BadRequest, BotApi
from core.telegram.courier import Courier


class FakeApi:
    def __init__(self) -> None:
        self.refunded: set[str] = set()
        self.calls = 0

    def call(self, method: str, params: dict[str, Any]) -> Any:
        assert method == "refundStarPayment"
        self.calls += 1
        charge = params["telegram_payment_charge_id"]
        if charge in self.refunded:
            raise BadRequest(method, 400, "Bad Request: CHARGE_ALREADY_REFUNDED")
        self.refunded.add(charge)
        return True


class FakeCourier:
    def __init__(self) -> None:
        self.sent: dict[str, tuple[int, str]] = {}

    def send(self, chat_id: int, text: str, *, key: str, **_: Any) -> int:
        self.sent.setdefault(key, (chat_id, text))  # a key is sent once, as the courier does
        return 1


def setup(db: Database, currency: str) -> tuple[PaymentStore, Refunds, FakeApi, FakeCourier, str]:
    CatalogueStore(db).replace_all([Product("X", "Cosa", "Thing", 500, currency, stock=3)])
    store = OrderStore(db)
    [quote] = price([("X", 1)], CatalogueStore(db).get_many(["X"]), shop_currency=currency)
    method = "stars" if currency == "XTR" else "telegram"
    order, _ = place_priced(store, 5, 5, quote, "t", "es", method, True)
    payments = PaymentStore(store)
    api, courier = FakeApi(), FakeCourier()
    refunds = Refunds(payments, cast(BotApi, api), cast(Courier, courier), (-100,))
    return payments, refunds, api, courier, order.id


def paid(order_id: str, currency: str, charge: str) -> Paid:
    provider = "" if currency == "XTR" else f"ch_{charge}"
    payload = make_payload(order_id, 5)
    return Paid(order_id, 5, currency, 500, payload, charge, provider)


def test_stars_are_refunded_once_even_when_asked_twice(sqlite_db: Database) -> None:
    payments, refunds, api, courier, order_id = setup(sqlite_db, "XTR")
    payments.record(paid(order_id, "XTR", "stars-1"))
    payments.orders.move(order_id, OrderState.CANCELADO)
    assert refunds.refund(order_id, "cancelado") == "done"
    assert refunds.refund(order_id, "cancelado") == "done"  # CHARGE_ALREADY_REFUNDED
    assert api.calls == 2 and api.refunded == {"stars-1"}
    refund = payments.refund_of(order_id)
    assert refund is not None and (refund.status, refund.amount) == ("done", 500)
    told = [text for chat, text in courier.sent.values() if chat == 5]
    assert len(told) == 1 and "Te devolvimos" in told[0]


def test_a_card_refund_is_due_and_shown_to_the_staff(sqlite_db: Database) -> None:
    payments, refunds, api, courier, order_id = setup(sqlite_db, "EUR")
    payments.record(paid(order_id, "EUR", "card-1"))
    assert refunds.refund(order_id, "cancelado") == "due"
    assert api.calls == 0
    refund = payments.refund_of(order_id)
    assert refund is not None
    assert (refund.status, refund.provider_payment_charge_id) == ("due", "ch_card-1")
    [staff_text] = [text for chat, text in courier.sent.values() if chat == -100]
    assert "ch_card-1" in staff_text and "5,00" in staff_text


def test_a_second_payment_is_refunded_by_its_own_charge(sqlite_db: Database) -> None:
    payments, refunds, api, _, order_id = setup(sqlite_db, "XTR")
    assert payments.record(paid(order_id, "XTR", "stars-1")).moved
    assert not payments.record(paid(order_id, "XTR", "stars-2")).moved
    assert refunds.refund(order_id, "pago sin pedido", "stars-2") == "done"
    assert api.refunded == {"stars-2"}
    assert payments.orders.get(order_id).state is OrderState.PENDIENTE


def test_a_paid_order_in_preparation_is_the_staffs_to_cancel() -> None:
    assert not too_late_to_cancel(OrderState.PENDIENTE, "stars")
    assert too_late_to_cancel(OrderState.PREPARANDO_ENVIO, "telegram")
    assert not too_late_to_cancel(OrderState.PREPARANDO_ENVIO, "")
    assert not too_late_to_cancel(OrderState.PREPARANDO_ENVIO, "cash")


def test_a_staff_cancellation_of_a_paid_order_refunds_it(sqlite_db: Database) -> None:
    payments, _, _, courier, order_id = setup(sqlite_db, "XTR")
    payments.record(paid(order_id, "XTR", "stars-1"))
    refunded: list[str] = []
    fulfilment = Fulfilment(
        payments.orders, cast(Courier, courier), PaymentClient("", 1.0), step_seconds=0
    )
    actions = StaffActions(
        desk=cast(StaffDesk, None),
        fulfilment=fulfilment,
        snooze_for=60,
        remind_after=60,
        retry=lambda order: None,
        revoke=lambda ids: None,
        refund=refunded.append,
    )
    assert actions._cancel(order_id) == "cancelled"
    assert refunded == [order_id]
    assert payments.orders.get(order_id).state is OrderState.CANCELADO
