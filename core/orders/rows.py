"""An order as a database row and back, and who changed it: the mapping the order store and
its queries share (core.orders.store, core.orders.queries)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, insert, literal_column, select, update
from sqlalchemy.orm import Session

from core import metrics
from core.db.models import Customer, IssuedOrderId, OrderEvent, OrderRow
from core.orders.model import Order
from core.orders.states import OrderState, sources_of

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


# The statements every order runs (placing it, each transition), built once: a statement
# object SQLAlchemy has seen skips most of its per-call work, and Core builds no ORM objects.
_ORDERS = cast(Table, OrderRow.__table__)
_EVENTS = cast(Table, OrderEvent.__table__)
_CUSTOMERS = cast(Table, Customer.__table__)
_ISSUE_ID = insert(cast(Table, IssuedOrderId.__table__)).values(
    id=bindparam("id"), issued_at=bindparam("issued_at")
)
# The columns a new order sets (the rest take their defaults).
_NEW_ORDER_COLUMNS = (
    "id",
    "chat_id",
    "user_id",
    "text",
    "state",
    "step",
    "progress",
    "created_at",
    "updated_at",
    "finished_at",
    "status_message_id",
    "task_id",
    "task_ids",
    "error",
    "language",
    "extra",
    "source",
    "stale_alerted_at",
    "stale_run",
    "queued_epoch",
    "currency",
    "subtotal",
    "delivery_fee",
    "total",
    "payment_method",
    "stock_reserved",
    "version",
)
_ADD_ORDER = insert(_ORDERS).values({name: bindparam(name) for name in _NEW_ORDER_COLUMNS})
_LAST_EVENT = (
    select(_EVENTS.c.to_state, _EVENTS.c.at)
    .where(_EVENTS.c.order_id == bindparam("order_id"))
    .order_by(_EVENTS.c.id.desc())
    .limit(1)
)
_ADD_EVENT = insert(_EVENTS).values(
    order_id=bindparam("order_id"),
    at=bindparam("at"),
    from_state=bindparam("from_state"),
    to_state=bindparam("to_state"),
    actor=bindparam("actor"),
    note=bindparam("note"),
)
_CUSTOMER_LANGUAGE = select(_CUSTOMERS.c.language).where(
    _CUSTOMERS.c.user_id == bindparam("user_id")
)
_ADD_CUSTOMER = insert(_CUSTOMERS).values(
    user_id=bindparam("user_id"),
    chat_id=bindparam("chat_id"),
    language=bindparam("language"),
    created_at=bindparam("created_at"),
    updated_at=bindparam("updated_at"),
)
# (An UPDATE's parameters named as its table's columns are kept for SET: the WHERE's is `who`.)
_CUSTOMER_SPEAKS = (
    update(_CUSTOMERS)
    .where(_CUSTOMERS.c.user_id == bindparam("who"))
    .values(language=bindparam("language"), updated_at=bindparam("at"))
)


@cache
def transition_statement(wanted: OrderState, columns: tuple[str, ...]) -> Update:
    """`UPDATE orders … WHERE id = :order_id AND state IN (wanted's sources) RETURNING *`,
    setting `columns` from parameters of their names: built once per move and set of columns,
    since the order path runs it on every step."""
    values: dict[str, Any] = {
        "state": wanted.value,
        "updated_at": bindparam("now"),
        "version": _ORDERS.c.version + 1,
        **{name: bindparam(name) for name in columns},
    }
    if wanted.is_final:
        values["finished_at"] = bindparam("now")
    sources = sorted(state.value for state in sources_of(wanted))
    # The history's last row as it was before this change (its own row comes after), in the
    # same statement: the `from` of the change and when the order entered that state.
    # Names spelled out: SQLite's RETURNING renders columns unqualified, and an unqualified
    # `id` inside the subquery would be the history's own.
    events = _EVENTS.alias("last_event")
    last = (
        select(events.c.to_state)
        .where(literal_column("last_event.order_id") == literal_column("orders.id"))
        .order_by(literal_column("last_event.id").desc())
        .limit(1)
    )
    return (
        update(_ORDERS)
        .where(_ORDERS.c.id == bindparam("order_id"), _ORDERS.c.state.in_(sources))
        .values(**values)
        .returning(
            *_ORDERS.c,
            last.scalar_subquery().label("last_state"),
            last.with_only_columns(events.c.at).scalar_subquery().label("last_at"),
        )
    )


@cache
def fields_statement(columns: tuple[str, ...]) -> Update:
    """`UPDATE orders SET <columns> WHERE id = :order_id`, built once per set of columns."""
    return (
        update(_ORDERS)
        .where(_ORDERS.c.id == bindparam("order_id"))
        .values(**{name: bindparam(name) for name in columns})
    )


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
    """Add `order` (its id issued for ever) and its first history row to `session`: three
    INSERTs in that order, built once (every /pedido runs them; no ORM unit of work)."""
    session.flush()  # what the ORM holds of this transaction first (Core skips autoflush)
    connection = session.connection()
    connection.execute(_ISSUE_ID, {"id": order.id, "issued_at": order.created_at})
    connection.execute(
        _ADD_ORDER,
        {
            "id": order.id,
            "chat_id": order.chat_id,
            "user_id": order.user_id,
            "text": order.text,
            "state": order.state.value,
            "step": order.step,
            "progress": order.progress,
            "created_at": order.created_at,
            "updated_at": order.updated_at,
            "finished_at": order.finished_at,
            "status_message_id": order.status_message_id,
            "task_id": order.task_id,
            "task_ids": order.task_ids,
            "error": order.error,
            "language": order.language,
            "extra": dict(order.extra),
            "source": source,
            "stale_alerted_at": 0.0,
            "stale_run": "",
            "queued_epoch": "",
            "currency": order.currency,
            "subtotal": order.subtotal,
            "delivery_fee": order.delivery_fee,
            "total": order.total,
            "payment_method": order.payment_method,
            "stock_reserved": False,
            "version": 1,
        },
    )
    connection.execute(
        _ADD_EVENT,
        {
            "order_id": order.id,
            "at": order.created_at,
            "from_state": "",
            "to_state": order.state.value,
            "actor": actor,
            "note": "",
        },
    )


def remember_customer(session: Session, order: Order) -> None:
    """The order's customer as a row: added the first time, language kept current."""
    connection = session.connection()
    known = connection.execute(_CUSTOMER_LANGUAGE, {"user_id": order.user_id}).first()
    if known is None:
        connection.execute(
            _ADD_CUSTOMER,
            {
                "user_id": order.user_id,
                "chat_id": order.chat_id,
                "language": order.language,
                "created_at": order.created_at,
                "updated_at": order.created_at,
            },
        )
    elif known[0] != order.language:
        connection.execute(
            _CUSTOMER_SPEAKS,
            {"who": order.user_id, "language": order.language, "at": order.created_at},
        )


def record_change(
    session: Session, order_id: str, now: float, wanted: OrderState, actor: str, note: str
) -> None:
    """The history row of a change just made (its `from` is the previous row's `to`: the
    conditional update holds the order's row lock, so no other change comes between); the
    time the order spent in the state it left goes to the metrics."""
    session.flush()  # what the ORM holds of this transaction first (Core skips autoflush)
    found = session.connection().execute(_LAST_EVENT, {"order_id": order_id}).first()
    add_change(session, order_id, now, wanted, actor, note, found)


def add_change(
    session: Session,
    order_id: str,
    now: float,
    wanted: OrderState,
    actor: str,
    note: str,
    last: tuple[str | None, float | None] | None,
) -> None:
    """`record_change` with the history's last row (`to` state, time) already read: the
    transition statement returns it."""
    previous = (last[0] if last else "") or ""
    if last is not None and last[1] is not None and previous and previous != wanted.value:
        metrics.state_time(previous, now - last[1])
    session.connection().execute(
        _ADD_EVENT,
        {
            "order_id": order_id,
            "at": now,
            "from_state": previous,
            "to_state": wanted.value,
            "actor": actor,
            "note": note,
        },
    )
