"""Where each order's card is, what the staff see of an order, and the open orders.

One card per order (`order_cards`): `card_of` finds it by order, `order_of_card` by the
message a staff member pressed or replied to (the relay and the deadlines look cards up too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.sql.dml import Insert

from core.db.cards import OrderCardRow
from core.db.engine import Database, insert
from core.db.models import OrderRow
from core.orders.model import Order, normalize_order_id
from core.orders.rows import to_order
from core.orders.states import HUMAN_STATES, OrderState

# What /cola lists: orders the staff have in hand, and those about to reach them.
OPEN_STATES = (OrderState.PREPARANDO_ENVIO, *HUMAN_STATES)


@dataclass(frozen=True)
class Card:
    order_id: str
    chat_id: int
    message_id: int
    thread_id: int = 0


@dataclass(frozen=True)
class Customer:
    """Who the order is for and where it goes, as checkout recorded it on the order."""

    name: str
    phone: str
    address: str

    @property
    def delivery(self) -> bool:
        return bool(self.address)


def card_of(db: Database, order_id: str) -> Card | None:
    """The order's card, if one was posted."""
    with db.reading() as session:
        row = session.get(OrderCardRow, order_id)
        return Card(row.order_id, row.chat_id, row.message_id, row.thread_id) if row else None


def order_of_card(db: Database, chat_id: int, message_id: int) -> str | None:
    """The id of the order whose card is that message, if it is one."""
    query = select(OrderCardRow.order_id).where(
        OrderCardRow.chat_id == chat_id, OrderCardRow.message_id == message_id
    )
    with db.reading() as session:
        return session.scalar(query)


def record_card(db: Database, card: Card, now: float) -> None:
    """The order's card is now `card` (a card posted again replaces the older one)."""
    with db.transaction() as session:
        session.execute(_upsert(db, card, now))


def claim_card(db: Database, card: Card, now: float) -> bool:
    """Whether the pressed message `card` is its order's card, recording it when none is
    recorded yet (the worker posts a card and records it just after: a press within moments
    of its arrival). One statement and one read in one transaction, so a worker recording the
    same card at that moment cannot make the card look like an older one."""
    with db.transaction() as session:
        session.execute(_insert(db, card, now).on_conflict_do_nothing(index_elements=["order_id"]))
        found = session.get(OrderCardRow, card.order_id, populate_existing=True)
        return found is not None and (found.chat_id, found.message_id) == (
            card.chat_id,
            card.message_id,
        )


def _upsert(db: Database, card: Card, now: float) -> Insert:
    statement = _insert(db, card, now)
    newer = {name: statement.excluded[name] for name in _CARD_FIELDS}
    return statement.on_conflict_do_update(index_elements=["order_id"], set_=newer)


# What a card posted again replaces (the order's row keeps its key).
_CARD_FIELDS = ("chat_id", "message_id", "thread_id", "posted_at")


def _insert(db: Database, card: Card, now: float) -> Any:
    """The card's row as an INSERT of the database's dialect (its ON CONFLICT clauses)."""
    return insert(db.dialect, OrderCardRow).values(
        order_id=card.order_id,
        chat_id=card.chat_id,
        message_id=card.message_id,
        thread_id=card.thread_id,
        posted_at=now,
    )


def customer_of(db: Database, order_id: str) -> Customer:
    query = select(
        OrderRow.customer_name, OrderRow.customer_phone, OrderRow.shipping_address
    ).where(OrderRow.id == order_id)
    with db.reading() as session:
        found = session.execute(query).first()
    return Customer(*found) if found else Customer("", "", "")


def open_orders(db: Database, limit: int) -> list[Order]:
    """Orders in the staff's hands, oldest first."""
    query = (
        select(OrderRow)
        .where(OrderRow.finished_at == 0, OrderRow.state.in_([s.value for s in OPEN_STATES]))
        .order_by(OrderRow.created_at)
        .limit(limit)
    )
    with db.reading() as session:
        return [to_order(row) for row in session.scalars(query)]


def search(db: Database, words: str, limit: int) -> list[Order]:
    """Orders by id, customer name or phone (digits anywhere in it), newest first."""
    words = words.strip()
    digits = "".join(ch for ch in words if ch.isdigit())
    conditions = [OrderRow.id == (normalize_order_id(words) or words.upper())]
    if words:
        conditions.append(func.lower(OrderRow.customer_name).contains(words.lower()))
    if len(digits) >= 4:
        conditions.append(OrderRow.customer_phone.contains(digits))
    query = (
        select(OrderRow).where(or_(*conditions)).order_by(OrderRow.created_at.desc()).limit(limit)
    )
    with db.reading() as session:
        return [to_order(row) for row in session.scalars(query)]
