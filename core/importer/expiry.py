"""Offers nobody answers. An imported order waits in `por_confirmar` holding its lines'
stock, as a checkout's invoice does; a customer who never answers would hold it for good. So
after OFFER_TTL the order is cancelled by the system (its stock goes back) and its customer is
told once that the offer lapsed, the buttons gone. A Confirmar pressed in the same moment is
either first (nothing lapses) or refused as stale: the cancellation holds the row's lock and
moves only from `por_confirmar`.
"""

from __future__ import annotations

from core import texts
from core.orders.model import Order
from core.orders.states import OrderState
from core.orders.store import OrderStore
from core.orders.waiting import call_off, waiting_since

# How long an imported order's offer waits for its customer's answer.
OFFER_TTL = 48 * 3600.0
LAPSED = "offer_expired"


def unanswered(store: OrderStore, before: float, limit: int) -> list[str]:
    """Imported orders still waiting for their customer since before `before`, oldest first."""
    return waiting_since(store, OrderState.POR_CONFIRMAR, before, limit)


def lapse(store: OrderStore, order_id: str) -> bool:
    """Cancel an unanswered offer (its stock back); False if its customer answered first."""
    return call_off(store, order_id, OrderState.POR_CONFIRMAR, LAPSED, "sin respuesta")


def lapsed_key(order_id: str) -> str:
    return f"order:{order_id}:import_offer_lapsed"


def lapsed_text(order: Order) -> str:
    hours = round(OFFER_TTL / 3600)
    return texts.text(order.language, "import.lapsed", id=order.id, hours=hours)
