"""Reintentar on a staff card: the steps an order has not finished, enqueued again; and
the staff actions every card button runs."""

from __future__ import annotations

from functools import cache

from celery import chain, uuid
from celery.utils.log import get_task_logger

from core.orders.model import Order
from core.orders.states import STEPS, OrderState
from core.staff.actions import StaffActions
from tasks import context as ctx
from tasks.orders import STEP_TASKS, registrar_fallo, revoke_order

log = get_task_logger(__name__)


def remaining_steps(order: Order) -> int:
    """Index of the step the order is stuck in (a pending order has not started the first)."""
    if order.state in STEPS:
        return STEPS.index(order.state)
    return 0 if order.state is OrderState.PENDIENTE else len(STEPS)


def retry_order(order: Order) -> list[str]:
    """Enqueue the order's step it is stuck in and those after it; their task ids.

    Safe when the old messages are still queued somewhere: a step run twice is a no-op the
    second time. The new ids are stored on the order first, so a cancellation revokes them.
    """
    first = remaining_steps(order)
    steps = STEP_TASKS[first:]
    if not steps:
        return []
    ids = [uuid() for _ in steps]
    ctx.store().set_fields(order.id, task_ids=",".join(ids))
    chain(
        *(step.si(order.id).set(task_id=task_id) for step, task_id in zip(steps, ids, strict=True))
    ).on_error(registrar_fallo.s()).apply_async()
    log.info("order=%s retried from %s", order.id, steps[0].name)
    return ids


@cache
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
    )
