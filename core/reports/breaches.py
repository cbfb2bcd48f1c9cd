"""Deadline breaches: how many of a period's orders missed each staff deadline.

Read from the deadlines' own table (core.db.deadlines), one row per missed phase that the
deadline watcher found and alerted the staff about: the report counts exactly what the shop
was told, with the same phases and the same opening-hours clock (core.deadlines.rules). The
phases exist only with the staff workflow on (STAFF_CHAT_ID), and so does the watcher.
ACCEPT_WITHIN, READY_WITHIN and DELIVER_WITHIN name the limits in the report's labels.
"""

from __future__ import annotations

from sqlalchemy import func, select

from core.db.deadlines import DeadlineBreachRow
from core.db.engine import Database
from core.db.models import OrderRow
from core.deadlines.rules import Kind
from core.orders.states import OrderState
from core.reports.period import Period
from core.settings import Settings

# The state each deadline waits for, its setting and its default (seconds).
DEADLINES: dict[OrderState, tuple[str, float]] = {
    OrderState.ACEPTADO: ("accept_within", 10 * 60.0),
    OrderState.LISTO: ("ready_within", 45 * 60.0),
    OrderState.ENTREGADO: ("deliver_within", 90 * 60.0),
}
STATE_OF = {
    Kind.ACCEPT.value: OrderState.ACEPTADO,
    Kind.READY.value: OrderState.LISTO,
    Kind.DELIVER.value: OrderState.ENTREGADO,
}


def limits(settings: Settings) -> dict[OrderState, float]:
    """Each deadline's seconds: its setting when the settings have it, else the default."""
    return {
        state: float(getattr(settings, name, default))
        for state, (name, default) in DEADLINES.items()
    }


def breaches(db: Database, period: Period) -> dict[OrderState, int]:
    """Per deadline (keyed by the state it waits for), the orders created in the period that
    missed it."""
    start, end = period.bounds()
    query = (
        select(DeadlineBreachRow.kind, func.count())
        .join(OrderRow, OrderRow.id == DeadlineBreachRow.order_id)
        .where(OrderRow.created_at >= start, OrderRow.created_at < end)
        .group_by(DeadlineBreachRow.kind)
    )
    counts = dict.fromkeys(DEADLINES, 0)
    with db.reading() as session:
        for kind, count in session.execute(query):
            if kind in STATE_OF:
                counts[STATE_OF[kind]] = int(count)
    return counts
