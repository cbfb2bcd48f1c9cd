"""Orders that wait on someone outside the shop and may lapse: an invoice not paid
(`esperando_pago`, core.payments), an imported order's offer not answered (`por_confirmar`,
core.importer.expiry). Which have waited too long, and calling one off: from that state only,
holding the row's lock, so an answer at the same moment is either first (nothing lapses) or
refused by the state machine."""

from __future__ import annotations

from sqlalchemy import select, update

from core.db.models import OrderRow
from core.orders.rows import SYSTEM
from core.orders.states import OrderState
from core.orders.store import OrderStore


def waiting_since(store: OrderStore, state: OrderState, before: float, limit: int) -> list[str]:
    """Unfinished orders in `state` since before `before` (they came to it then: a priced
    quote awaits payment long after its creation), oldest first."""
    query = (
        select(OrderRow.id)
        .where(
            OrderRow.finished_at == 0,
            OrderRow.state == state.value,
            OrderRow.updated_at < before,
        )
        .order_by(OrderRow.updated_at)
        .limit(limit)
    )
    with store.db.reading() as session:
        return list(session.scalars(query))


def call_off(
    store: OrderStore, order_id: str, state: OrderState, error: str, note: str = ""
) -> bool:
    """Cancel an order still in `state` (its stock goes back), with `error` as the reason;
    False if it moved on meanwhile."""
    with store.db.transaction() as session:
        held = session.execute(
            update(OrderRow)
            .where(OrderRow.id == order_id, OrderRow.state == state.value)
            .values(error=error)
            .execution_options(synchronize_session=False)
        )
        if not getattr(held, "rowcount", 0):
            return False
        return store.transition(session, order_id, OrderState.CANCELADO, SYSTEM, note)
