"""Reading orders from the system of record: one order, a chat's list, ranges for reports,
the stale ones for the watcher, an order's history."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, func, select, tuple_

from core.db.engine import Database
from core.db.models import OrderEvent, OrderRow
from core.orders.lines import lines_of
from core.orders.model import Order
from core.orders.pricing import PricedLine
from core.orders.rows import to_order
from core.orders.states import CUSTOMER_STATES, OrderState

# One order, and its state alone: built once (the order path reads them on every step).
_ORDERS = cast(Table, OrderRow.__table__)
_ORDER = select(_ORDERS).where(_ORDERS.c.id == bindparam("order_id"))
_STATE = select(_ORDERS.c.state).where(_ORDERS.c.id == bindparam("order_id"))
# Orders that can be stuck: unfinished and waiting on the shop, not on their customer
# (CUSTOMER_STATES); what /atrasados lists and the stale-order watcher claims.
STUCKABLE: ColumnElement[bool] = and_(
    OrderRow.finished_at == 0,
    OrderRow.state.not_in([state.value for state in CUSTOMER_STATES]),
)


class OrderNotFound(KeyError):
    """No order with that id."""


class OrderQueries:
    """What can be read of orders (the order store adds the writes)."""

    db: Database

    def ping(self) -> bool:
        """Whether the database answers (the bot's health check)."""
        with self.db.reading() as session:
            return session.scalar(select(1)) == 1

    def get(self, order_id: str) -> Order:
        with self.db.rows() as connection:
            row = connection.execute(_ORDER, {"order_id": order_id}).first()
        if row is None:
            raise OrderNotFound(order_id)
        return to_order(row)

    def find(self, order_id: str, chat_id: int) -> Order | None:
        """The order if it exists and belongs to `chat_id`: other chats' orders do not exist."""
        try:
            order = self.get(order_id)
        except OrderNotFound:
            return None
        return order if order.chat_id == chat_id else None

    def recent(self, chat_id: int, limit: int = 5, offset: int = 0) -> list[Order]:
        """The chat's orders, newest first."""
        query = (
            select(OrderRow)
            .where(OrderRow.chat_id == chat_id)
            .order_by(OrderRow.created_at.desc(), OrderRow.id.desc())
            .offset(offset)
            .limit(limit)
        )
        with self.db.reading() as session:
            return [to_order(row) for row in session.scalars(query)]

    def count(self, chat_id: int) -> int:
        query = select(func.count()).select_from(OrderRow).where(OrderRow.chat_id == chat_id)
        with self.db.reading() as session:
            return int(session.scalar(query) or 0)

    def get_many(self, order_ids: Sequence[str]) -> list[Order]:
        """The orders that exist among `order_ids`, in that order (one query)."""
        if not order_ids:
            return []
        with self.db.reading() as session:
            rows = session.scalars(select(OrderRow).where(OrderRow.id.in_(list(order_ids))))
            found = {row.id: to_order(row) for row in rows}
        return [found[i] for i in order_ids if i in found]

    def created_between(self, start: float, end: float, batch: int = 500) -> Iterator[list[Order]]:
        """Orders created in [start, end), oldest first, `batch` at a time (keyset pages)."""
        after: tuple[float, str] = (start, "")
        while True:
            query = (
                select(OrderRow)
                .where(OrderRow.created_at < end)
                .where(tuple_(OrderRow.created_at, OrderRow.id) > tuple_(*after))
                .order_by(OrderRow.created_at, OrderRow.id)
                .limit(batch)
            )
            with self.db.reading() as session:
                orders = [to_order(row) for row in session.scalars(query)]
            if not orders:
                return
            yield orders
            after = (orders[-1].created_at, orders[-1].id)

    def state_of(self, order_id: str) -> OrderState | None:
        """Just the order's state, or None if there is no such order."""
        with self.db.rows() as connection:
            state = connection.execute(_STATE, {"order_id": order_id}).scalar()
        return OrderState(state) if state else None

    def stale(self, cutoff: float, limit: int) -> tuple[int, list[Order]]:
        """How many unfinished orders were created at or before `cutoff`, and the oldest
        `limit` of them (the unfinished-orders index answers both); not those waiting on
        their customer (CUSTOMER_STATES)."""
        stale = select(OrderRow).where(STUCKABLE, OrderRow.created_at <= cutoff)
        with self.db.reading() as session:
            count = session.scalar(select(func.count()).select_from(stale.subquery())) or 0
            rows = session.scalars(stale.order_by(OrderRow.created_at).limit(limit))
            return int(count), [to_order(row) for row in rows]

    def waiting_by_state(self) -> dict[str, int]:
        """How many unfinished orders are in each state now (the metrics' gauge)."""
        query = (
            select(OrderRow.state, func.count())
            .where(OrderRow.finished_at == 0)
            .group_by(OrderRow.state)
        )
        with self.db.reading() as session:
            return {str(state): int(count) for state, count in session.execute(query)}

    def never_queued(self, created_before: float, limit: int) -> list[str]:
        """Ids of pending orders stored before `created_before` that nobody has queued (their
        bot died, or Redis lost their pending start)."""
        query = (
            select(OrderRow.id)
            .where(
                OrderRow.finished_at == 0,
                OrderRow.state == OrderState.PENDIENTE.value,
                OrderRow.task_ids == "",
                OrderRow.created_at < created_before,
            )
            .order_by(OrderRow.created_at)
            .limit(limit)
        )
        with self.db.reading() as session:
            return list(session.scalars(query))

    def lost_in(self, epoch: str, limit: int) -> list[Order]:
        """Unfinished orders whose chain was queued in another Redis epoch (lost with it)."""
        query = (
            select(OrderRow)
            .where(
                OrderRow.finished_at == 0,
                OrderRow.task_ids != "",
                OrderRow.queued_epoch != epoch,
            )
            .order_by(OrderRow.created_at)
            .limit(limit)
        )
        with self.db.reading() as session:
            return [to_order(row) for row in session.scalars(query)]

    def lines(self, order_id: str) -> list[PricedLine]:
        """The order's priced lines (none for a free-text order)."""
        with self.db.reading() as session:
            return lines_of(session, order_id)

    def history(self, order_id: str) -> list[OrderEvent]:
        query = select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
        with self.db.reading() as session:
            return list(session.scalars(query))
