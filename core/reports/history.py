"""The history of a period's orders (created in it), read once as a stream, order by order:
what the staff times and the deadline breaches are measured from."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from sqlalchemy import or_, select

from core.db.engine import Database
from core.db.models import OrderEvent, OrderRow
from core.reports.period import Period

# Rows fetched from the database at a time (a server-side cursor on PostgreSQL).
BATCH = 5000


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
    query = (
        select(OrderEvent.order_id, OrderEvent.at, OrderEvent.from_state, OrderEvent.to_state)
        .join(OrderRow, OrderRow.id == OrderEvent.order_id)
        .where(OrderRow.created_at >= start, OrderRow.created_at < end)
        .where(or_(OrderEvent.to_state.in_(wanted), OrderEvent.from_state.in_(wanted)))
        .order_by(OrderEvent.order_id, OrderEvent.id)
        .execution_options(yield_per=BATCH)
    )
    current, events = "", list[Event]()
    with db.reading() as session:
        for order_id, at, from_state, to_state in session.execute(query):
            if order_id != current:
                if events:
                    yield current, events
                current, events = order_id, []
            events.append(Event(at, from_state, to_state))
    if events:
        yield current, events
