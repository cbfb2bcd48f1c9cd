"""Cancelling an order: one atomic change of state decides, whoever asks and whatever runs.

The order moves to `cancelado` in the store's transition script, which refuses a finished
order. Racing the last step, exactly one of `completado` and `cancelado` wins: the step
tells the chat when it wins, and `tell_cancelled` (called only by the side whose move
succeeded) when the cancellation does; its delivery key makes a retry harmless.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from core import texts
from core.orders.fulfilment import Fulfilment
from core.orders.model import Order
from core.orders.states import InvalidTransition, OrderState
from core.orders.store import OrderNotFound, OrderStore

log = logging.getLogger(__name__)


class CancelOutcome(StrEnum):
    """What a request to cancel came to."""

    CANCELLED = "cancelled"  # this request cancelled it: tell the chat
    ALREADY_CANCELLED = "already_cancelled"
    FINISHED = "finished"  # completed or failed first: too late
    NOT_FOUND = "not_found"  # unknown, or another chat's
    NOT_YOURS = "not_yours"  # in a group, someone else's order


@dataclass(frozen=True)
class CancelResult:
    outcome: CancelOutcome
    order: Order | None = None


def cancel_order(store: OrderStore, order_id: str, chat_id: int, user_id: int) -> CancelResult:
    """Cancel the chat's order for the user who placed it, if it has not finished."""
    order = store.find(order_id, chat_id)
    if order is None:
        return CancelResult(CancelOutcome.NOT_FOUND)
    if order.user_id != user_id:
        return CancelResult(CancelOutcome.NOT_YOURS, order)
    try:
        moved = store.move(order_id, OrderState.CANCELADO)
    except InvalidTransition:
        return CancelResult(CancelOutcome.FINISHED, store.get(order_id))
    except OrderNotFound:
        return CancelResult(CancelOutcome.NOT_FOUND)
    outcome = CancelOutcome.CANCELLED if moved else CancelOutcome.ALREADY_CANCELLED
    log.info("order=%s cancel by user=%s: %s", order_id, user_id, outcome.value)
    return CancelResult(outcome, store.get(order_id))


def task_ids(order: Order) -> list[str]:
    """Every Celery task id of the order's chain (the ones to revoke)."""
    ids = [part for part in order.task_ids.split(",") if part]
    return ids or ([order.task_id] if order.task_id else [])


def tell_cancelled(fulfilment: Fulfilment, order_id: str) -> None:
    """Show the cancellation in the status message and tell the chat, once."""
    order = fulfilment.store.get(order_id)
    if order.state is not OrderState.CANCELADO:
        return
    fulfilment.show_status(order, best_effort=True)
    fulfilment.courier.send(
        order.chat_id,
        texts.text(order.language, "cancel.done", id=order.id),
        key=f"order:{order.id}:cancelled",
    )
