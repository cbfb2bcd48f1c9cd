"""Orders made in bulk, each under a guard of its own (an imported CSV row): one transaction,
a second import of the same row making nothing."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import metrics
from core.db.models import OrderRow
from core.orders.model import Order
from core.orders.rows import SYSTEM, insert_order
from core.orders.store import GUARD_FIELD, OrderStore


def create_guarded(
    store: OrderStore, orders: Sequence[tuple[Order, str, str]], actor: str = SYSTEM
) -> list[tuple[int, str]]:
    """Store new orders in one transaction, each under its (source, guard value).

    For each: (1, id) created; (0, value) its source was taken (nothing created: `value`
    is what the first order's guard holds); (-1, '') the random id was taken (draw another
    and retry). The guard value is kept on the order (extra `guard`).
    """
    results: list[tuple[int, str]] = []
    with store.db.transaction() as session:
        for order, source, value in orders:
            order.extra[GUARD_FIELD] = value
            try:
                with session.begin_nested():
                    insert_order(session, order, source, actor)
                results.append((1, order.id))
                continue
            except IntegrityError:
                pass
            first = session.scalar(select(OrderRow).where(OrderRow.source == source))
            if first is None:
                results.append((-1, ""))
            else:
                results.append((0, str((first.extra or {}).get(GUARD_FIELD, first.id))))
    created = [order_id for status, order_id in results if status == 1]
    if store.starts is not None:
        for order_id in created:
            store.starts.add("order", order_id)
    metrics.order_event("created", len(created))
    return results
