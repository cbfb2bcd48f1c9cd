"""Offers nobody answers. An imported order waits in `por_confirmar` holding its lines'
stock, as a checkout's invoice does; a customer who never answers would hold it for good. So
after OFFER_TTL the order is cancelled by the system (its stock goes back) and its customer is
told once that the offer lapsed, the buttons gone. A Confirmar pressed in the same moment is
either first (nothing lapses) or refused as stale: the cancellation holds the row's lock and
moves only from `por_confirmar`.
"""

from __future__ import annotations

from sqlalchemy import select, update

from core import texts
from core.db.models import OrderRow
from core.orders.model import Order
from core.orders.rows import SYSTEM
from core.orders.states import OrderState
from core.orders.store import OrderStore

# How long an imported order's offer waits for its customer's answer.
OFFER_TTL = 48 * 3600.0
LAPSED = "offer_expired"


def unanswered(store: OrderStore, before: float, limit: int) -> list[str]:
    """Imported orders still waiting for their customer since before `before`, oldest first."""
    query = (
        select(OrderRow.id)
        .where(
            OrderRow.finished_at == 0,
            OrderRow.state == OrderState.POR_CONFIRMAR.value,
            OrderRow.updated_at < before,
        )
        .order_by(OrderRow.updated_at)
        .limit(limit)
    )
    with store.db.reading() as session:
        return list(session.scalars(query))


def lapse(store: OrderStore, order_id: str) -> bool:
    """Cancel an unanswered offer (its stock back); False if its customer answered first."""
    with store.db.transaction() as session:
        held = session.execute(
            update(OrderRow)
            .where(OrderRow.id == order_id, OrderRow.state == OrderState.POR_CONFIRMAR.value)
            .values(error=LAPSED)
            .execution_options(synchronize_session=False)
        )
        if not getattr(held, "rowcount", 0):
            return False
        return store.transition(session, order_id, OrderState.CANCELADO, SYSTEM, "sin respuesta")


def lapsed_key(order_id: str) -> str:
    return f"order:{order_id}:import_offer_lapsed"


def lapsed_text(order: Order) -> str:
    hours = round(OFFER_TTL / 3600)
    return texts.text(order.language, "import.lapsed", id=order.id, hours=hours)
