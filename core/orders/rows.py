"""An order as a database row and back, and who changed it: the mapping the order store and
its queries share (core.orders.store, core.orders.queries)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core import metrics
from core.db.models import Customer, IssuedOrderId, OrderEvent, OrderRow
from core.orders.model import Order
from core.orders.states import OrderState

SYSTEM = "system"


def customer(user_id: int) -> str:
    return f"customer:{user_id}"


def staff(user_id: int) -> str:
    return f"staff:{user_id}"


@dataclass(frozen=True)
class Placement:
    """Who places a new order and how it starts: the customer's own message places it
    `pendiente`; the staff (an imported row) place it under the row's source, in the state it
    waits in for the customer (or `pendiente`, paid in cash), with `extra` kept on it."""

    source: str
    actor: str
    state: OrderState = OrderState.PENDIENTE
    payment_method: str = ""
    extra: tuple[tuple[str, str], ...] = ()

    def apply(self, order: Order) -> Order:
        order.state = self.state
        order.payment_method = self.payment_method or order.payment_method
        order.extra.update(self.extra)
        return order


def telegram_source(chat_id: int, message_id: int) -> str:
    return f"tg:{chat_id}:{message_id}"


def to_order(row: Any) -> Order:
    """An Order from an ORM row or a Core row of `orders` (the same attribute names)."""
    return Order(
        id=row.id,
        chat_id=row.chat_id,
        user_id=row.user_id,
        text=row.text,
        state=OrderState(row.state),
        step=row.step,
        progress=row.progress,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
        status_message_id=row.status_message_id,
        task_id=row.task_id,
        task_ids=row.task_ids,
        error=row.error,
        language=row.language,
        stale_alerted_at=row.stale_alerted_at,
        queued_epoch=row.queued_epoch,
        currency=row.currency,
        subtotal=row.subtotal,
        delivery_fee=row.delivery_fee,
        total=row.total,
        payment_method=row.payment_method,
        extra={str(k): str(v) for k, v in (row.extra or {}).items()},
    )


def insert_order(session: Session, order: Order, source: str | None, actor: str) -> None:
    """Add `order` (its id issued for ever) and its first history row to `session`."""
    session.add(IssuedOrderId(id=order.id, issued_at=order.created_at))
    session.flush()
    session.add(
        OrderRow(
            id=order.id,
            chat_id=order.chat_id,
            user_id=order.user_id,
            text=order.text,
            state=order.state.value,
            step=order.step,
            progress=order.progress,
            created_at=order.created_at,
            updated_at=order.updated_at,
            finished_at=order.finished_at,
            status_message_id=order.status_message_id,
            task_id=order.task_id,
            task_ids=order.task_ids,
            error=order.error,
            language=order.language,
            extra=dict(order.extra),
            source=source,
            stale_alerted_at=0.0,
            stale_run="",
            queued_epoch="",
            currency=order.currency,
            subtotal=order.subtotal,
            delivery_fee=order.delivery_fee,
            total=order.total,
            payment_method=order.payment_method,
            stock_reserved=False,
            version=1,
        )
    )
    session.flush()  # the order row before its history row (no ORM relationship orders them)
    session.add(
        OrderEvent(
            order_id=order.id,
            at=order.created_at,
            from_state="",
            to_state=order.state.value,
            actor=actor,
            note="",
        )
    )
    session.flush()


def remember_customer(session: Session, order: Order) -> None:
    """The order's customer as a row: added the first time, language kept current."""
    known = session.get(Customer, order.user_id)
    if known is None:
        session.add(
            Customer(
                user_id=order.user_id,
                chat_id=order.chat_id,
                language=order.language,
                created_at=order.created_at,
                updated_at=order.created_at,
            )
        )
    elif known.language != order.language:
        known.language = order.language
        known.updated_at = order.created_at


def record_change(
    session: Session, order_id: str, now: float, wanted: OrderState, actor: str, note: str
) -> None:
    """The history row of a change just made (its `from` is the previous row's `to`: the
    conditional update holds the order's row lock, so no other change comes between); the
    time the order spent in the state it left goes to the metrics."""
    found = session.execute(
        select(OrderEvent.to_state, OrderEvent.at)
        .where(OrderEvent.order_id == order_id)
        .order_by(OrderEvent.id.desc())
        .limit(1)
    ).first()
    previous = found[0] if found else ""
    if found is not None and previous != wanted.value:
        metrics.state_time(previous, now - found[1])
    session.execute(
        insert(OrderEvent).values(
            order_id=order_id,
            at=now,
            from_state=previous or "",
            to_state=wanted.value,
            actor=actor,
            note=note,
        )
    )
