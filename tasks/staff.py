"""Reintentar on a staff card: the steps an order has not finished, enqueued again; and
the staff actions every card button runs."""

from __future__ import annotations

from celery import uuid
from celery.utils.log import get_task_logger

from core.orders.model import Order
from core.staff.actions import StaffActions
from tasks import context as ctx
from tasks.forksafe import per_process
from tasks.orders import chain_from, remaining_steps, revoke_order, steps_left
from tasks.payments import reembolsar

log = get_task_logger(__name__)


def retry_order(order: Order) -> list[str]:
    """Enqueue the order's step it is stuck in and those after it; their task ids.

    Safe when the old messages are still queued somewhere: a step run twice is a no-op the
    second time. The new ids are stored on the order first, so a cancellation revokes them.
    """
    ids = [uuid() for _ in range(steps_left(order))]
    if not ids:
        return []
    ctx.store().set_fields(order.id, task_ids=",".join(ids))
    chain_from(order, ids).apply_async()
    log.info("order=%s retried from step %s", order.id, remaining_steps(order) + 1)
    return ids


@per_process
def staff_actions() -> StaffActions:
    """What the staff cards' buttons do; built here, beside the tasks it queues (Reintentar
    and the revoke of a cancel), so tasks.context needs no task module."""
    config = ctx.settings()
    return StaffActions(
        desk=ctx.staff_desk(),
        fulfilment=ctx.fulfilment(),
        snooze_for=config.snooze_for,
        remind_after=config.escalate_after,
        retry=retry_order,
        revoke=revoke_order,
        refund=lambda order_id: reembolsar.delay(order_id, "cancelado por el equipo"),
        staff_chat_id=config.staff_chat_id,
    )
