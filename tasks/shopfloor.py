"""The shop floor's tasks: what follows a staff member's press on an order card.

The press itself is one transition made by the bot (core.shopfloor.moves); these tasks then
refresh the card, the customer's status message and tell the customer once (keyed sends, so
a retried task repeats nothing). Entregado queues notificar_cliente, the chain's last step,
with its task id and Redis epoch recorded on the order as any chain's are (so a Redis that
loses it is noticed: tasks.orders.resume_lost_orders).

A bot killed between committing a press and queueing what follows would leave the customer
untold (and a delivered order never completed): so the bot adds the move to the pending starts
(core.recovery.starts) before it presses, and takes it off once this queueing is done; the
recovery sweep queues a move left there whose order is still in the state it moved to.
"""

from __future__ import annotations

from celery import uuid
from celery.utils.log import get_task_logger

from core.orders.states import OrderState
from core.orders.store import OrderNotFound
from core.recovery.starts import PendingStarts
from tasks import app, clients
from tasks import context as ctx
from tasks.orders import notificar_cliente, registrar_fallo
from tasks.payments import reembolsar
from tasks.recovery import starter
from tasks.telegram import TELEGRAM_RETRY, TelegramTask

log = get_task_logger(__name__)


@app.task(base=TelegramTask, name="avisar_paso", **TELEGRAM_RETRY)
def avisar_paso(order_id: str, state: str) -> None:
    """After a staff move into `state`: the card and the status message show it; the
    customer hears it once."""
    ctx.shop_floor().tell(order_id, OrderState(state))


@app.task(base=TelegramTask, name="avisar_rechazo", **TELEGRAM_RETRY)
def avisar_rechazo(order_id: str, reason: str) -> None:
    """After Rechazar: card and status show it, the customer hears why once; then the
    refund (none for cash or unpaid orders)."""
    ctx.shop_floor().tell_rejected(order_id, reason)
    reembolsar.delay(order_id, "rechazado por la tienda")


def move_unit(order_id: str, state: OrderState, reason: str = "") -> str:
    """A move's id among the pending starts: the order, the state it moves to, the reason."""
    return f"{order_id}>{state.value}>{reason}"


def after_move(
    order_id: str, state: OrderState, reason: str = "", starts: PendingStarts | None = None
) -> None:
    """Queue what follows a move the bot just committed; then the move leaves `starts`."""
    _queue_after(order_id, state, reason)
    if starts is not None:
        starts.done("move", move_unit(order_id, state, reason))


@starter("move")
def start_unqueued_move(unit: str) -> None:
    """A press whose bot died before queueing what follows: queued now if the order is still
    where the press put it (a press that never committed, or a later move, tells its own)."""
    order_id, state, reason = unit.split(">", 2)
    try:
        order = ctx.store().get(order_id)
    except OrderNotFound:
        return
    if order.state.value != state:
        return
    log.warning(
        "order=%s moved to %s and its bot never queued what follows: queued now", order_id, state
    )
    _queue_after(order_id, OrderState(state), reason)


def _queue_after(order_id: str, state: OrderState, reason: str) -> None:
    if state is OrderState.CANCELADO:
        avisar_rechazo.delay(order_id, reason)
        return
    avisar_paso.delay(order_id, state.value)
    if state is OrderState.ENTREGADO:
        task_id = uuid()
        ctx.store().set_fields(
            order_id, task_ids=task_id, task_id=task_id, queued_epoch=clients.epoch()
        )
        step = notificar_cliente.si(order_id).set(task_id=task_id)
        step.on_error(registrar_fallo.s()).apply_async()
        log.info("order=%s delivered: notificar_cliente queued", order_id)
