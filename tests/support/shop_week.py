"""A shop's week written straight into the system of record: orders with their priced lines,
payments (some in Stars), refunds, and the history of each order through the staff's states,
some of them late. Deterministic for a seed; for the report's tests and its benchmark."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from sqlalchemy import insert

from core.db.engine import Database
from core.db.models import IssuedOrderId, OrderEvent, OrderRow
from core.db.payments import PaymentRow, RefundRow
from core.db.shop import OrderLineRow
from core.orders.states import HUMAN_STATES, OrderState
from tests.support.bulk import order_id

# sku, Spanish name, English name, price in cents; the first sells most.
PRODUCTS = (
    ("PIZ-MAR", "Pizza margarita", "Margherita pizza", 1250),
    ("EMP-ATU", "Empanada de atún", "Tuna empanada", 350),
    ("NOQ-PES", "Ñoquis al pesto", "Gnocchi with pesto", 990),
    ("CAF-SOL", "Café solo", "Espresso", 140),
    ("TAR-LIM", "Tarta de limón", "Lemon tart", 475),
)
WEIGHTS = (8, 4, 3, 2, 1)
# What no report may show: a customer's words and name.
CUSTOMER_TEXT = "Sin cebolla, llamar al timbre de Doña Secreta"
CUSTOMER_NAME = "María Secreta"
BEFORE_STAFF = (OrderState.PENDIENTE, OrderState.VALIDANDO_PAGO, OrderState.PREPARANDO_ENVIO)
TABLES = (IssuedOrderId, OrderRow, OrderLineRow, PaymentRow, RefundRow, OrderEvent)


def seed_week(db: Database, start: float, orders: int, seed: int = 7, first: int = 0) -> None:
    """`orders` orders created in the week from `start` (Unix time), each with its money and
    history; `first` numbers the ids (seed another week after one without clashes)."""
    rows: dict[Any, list[dict[str, Any]]] = {table: [] for table in TABLES}
    rng = random.Random(seed)
    for n in range(first, first + orders):
        for table, row in _order(rng, n, start + rng.uniform(0, 7 * 86400 - 4 * 3600)):
            rows[table].append(row)
    with db.transaction() as session:
        for table in TABLES:
            for at in range(0, len(rows[table]), 5000):
                session.execute(insert(table), rows[table][at : at + 5000])


def _order(rng: random.Random, n: int, created: float) -> Iterator[tuple[Any, dict[str, Any]]]:
    oid = order_id(n)
    roll = rng.random()
    state = (
        OrderState.COMPLETADO
        if roll < 0.7
        else OrderState.CANCELADO
        if roll < 0.8
        else OrderState.AWAITING_PAYMENT
        if roll < 0.85
        else OrderState.EN_PREPARACION
    )
    stars = rng.random() < 0.05
    currency = "XTR" if stars else "EUR"
    lines = list(_lines(rng, oid, currency))
    total = sum(line["line_total"] for line in lines)
    yield IssuedOrderId, {"id": oid, "issued_at": created}
    yield OrderRow, _row(oid, n, state, created, currency, total)
    for line in lines:
        yield OrderLineRow, line
    if state is OrderState.AWAITING_PAYMENT:
        yield OrderEvent, _event(oid, created, "", OrderState.AWAITING_PAYMENT)
        return
    paid_at = created + rng.uniform(20, 120)
    yield PaymentRow, _payment(n, oid, currency, total, paid_at)
    yield from _history(rng, oid, created, paid_at, state)
    if state is OrderState.CANCELADO:
        refund = {"id": n + 1, "payment_id": n + 1, "order_id": oid, "method": "telegram"}
        refund |= {"currency": currency, "amount": total, "telegram_payment_charge_id": f"t{n}"}
        refund |= {"status": "due" if n % 3 == 0 else "done", "created_at": paid_at + 900}
        yield RefundRow, refund


def _lines(rng: random.Random, oid: str, currency: str) -> Iterator[dict[str, Any]]:
    picked = {rng.choices(PRODUCTS, WEIGHTS)[0] for _ in range(rng.randint(1, 3))}
    for position, (sku, name_es, name_en, price) in enumerate(sorted(picked)):
        quantity = rng.randint(1, 4)
        unit = price // 100 if currency == "XTR" else price
        yield {
            "order_id": oid,
            "position": position,
            "sku": sku,
            "name_es": name_es,
            "name_en": name_en,
            "unit_price": unit,
            "quantity": quantity,
            "line_total": unit * quantity,
            "currency": currency,
        }


def _row(
    oid: str, n: int, state: OrderState, created: float, currency: str, total: int
) -> dict[str, Any]:
    return {
        "id": oid,
        "chat_id": 10_000 + n,
        "user_id": 10_000 + n,
        "text": CUSTOMER_TEXT,
        "state": state.value,
        "created_at": created,
        "updated_at": created,
        "finished_at": created + 3600 if state.is_final else 0.0,
        "currency": currency,
        "subtotal": total,
        "total": total,
        "payment_method": "stars" if currency == "XTR" else "telegram",
        "customer_name": CUSTOMER_NAME,
    }


def _payment(n: int, oid: str, currency: str, total: int, at: float) -> dict[str, Any]:
    return {
        "id": n + 1,
        "order_id": oid,
        "user_id": 10_000 + n,
        "method": "stars" if currency == "XTR" else "telegram",
        "currency": currency,
        "total_amount": total,
        "telegram_payment_charge_id": f"t{n}",
        "provider_payment_charge_id": None if currency == "XTR" else f"p{n}",
        "payload": f"payload-{n}",
        "created_at": at,
    }


def _event(oid: str, at: float, from_state: str, to_state: OrderState) -> dict[str, Any]:
    return {
        "order_id": oid,
        "at": at,
        "from_state": from_state,
        "to_state": to_state.value,
        "actor": "system",
    }


def _history(
    rng: random.Random, oid: str, created: float, paid_at: float, state: OrderState
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Through the chain to the staff, then each human state for a while (a tenth of the
    orders wait 15 to 40 minutes to be accepted), to the order's state."""
    at, previous = created, ""
    path: list[OrderState] = [OrderState.AWAITING_PAYMENT, *BEFORE_STAFF]
    stop = {OrderState.CANCELADO: 2, OrderState.EN_PREPARACION: 3}.get(state, len(HUMAN_STATES))
    path += HUMAN_STATES[:stop]
    if state.is_final:
        path.append(state)
    for reached in path:
        yield OrderEvent, _event(oid, at, previous, reached)
        previous = reached.value
        if reached is OrderState.AWAITING_PAYMENT:
            at = paid_at
        elif reached is OrderState.POR_ACEPTAR and rng.random() < 0.1:
            at += rng.uniform(15 * 60, 40 * 60)
        else:
            at += rng.uniform(30, 600) if reached in HUMAN_STATES else rng.uniform(1, 5)
