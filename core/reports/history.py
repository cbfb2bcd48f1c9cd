"""The history of a period's orders (created in it), read once as a stream, order by order:
what the staff times and the deadline breaches are measured from."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple, cast

from sqlalchemy import Table, or_, select

from core.db.engine import Database
from core.db.models import OrderEvent, OrderRow
from core.reports.period import Period

# Rows fetched from the database at a time (a server-side cursor on PostgreSQL).
BATCH = 5000
EVENTS = cast(Table, OrderEvent.__table__)
ORDERS = cast(Table, OrderRow.__table__)


class Event(NamedTuple):
    at: float
    from_state: str
    to_state: str


def order_events(
    db: Database, period: Period, states: Iterable[str]
) -> Iterator[tuple[str, list[Event]]]:
    """(order id, its events in order) for each order created in the period that entered or
    left one of `states`; only those events."""
    wanted = sorted(set(states))
    start, end = period.bounds()
    # Core tables, not ORM entities: rows come as plain tuples, without the ORM's loading.
    # In the orders' index order, then each order's history in its own index order: both
    # engines walk the two indexes instead of sorting the rows.
    events, orders = EVENTS.c, ORDERS.c
    query = (
        select(events.order_id, events.at, events.from_state, events.to_state)
        .join(ORDERS, orders.id == events.order_id)
        .where(orders.created_at >= start, orders.created_at < end)
        .where(or_(events.to_state.in_(wanted), events.from_state.in_(wanted)))
        .order_by(orders.created_at, orders.id, events.id)
        .execution_options(yield_per=BATCH)
    )
    current, found = "", list[Event]()
    with db.reading() as session:
        for order_id, at, from_state, to_state in session.execute(query):
            if order_id != current:
                if found:
                    yield current, found
                current, found = order_id, []
            found.append(Event(at, from_state, to_state))
    if found:
        yield current, found
