"""The order chain `validar_pago → preparar_envio → notificar_cliente` and its error callback.

Tasks are thin: they take an order id, call core.orders.fulfilment, and own the retry policy.
A retried step leaves its latest error on the order, so the admins' digest can say why an
order is stuck.
"""

from __future__ import annotations

import time
from typing import Any

from celery import Task, chain, uuid
from celery.signals import task_retry
from celery.utils.log import get_task_logger

from core import texts
from core.orders.cancel import tell_cancelled
from core.orders.model import Order
from core.orders.payment import PaymentDeclined, PaymentHeld, PaymentUnavailable
from core.orders.states import STEPS, OrderState
from core.orders.store import OrderNotFound
from core.recovery.starts import START_GRACE_MS
from core.watcher.watch import error_note
from tasks import app, clients
from tasks import context as ctx
from tasks.recovery import every_sweep, starter
from tasks.telegram import TELEGRAM_RETRY, TelegramTask

log = get_task_logger(__name__)

# How often the sweep looks in the database for orders Redis lost, and how many per look.
RESUME_INTERVAL = 30.0
RESUME_BATCH = 200


def _reporter(task: Task) -> Any:
    """Report step progress as Celery's documented PROGRESS state."""

    def report(current: int, total: int, percent: int, step: str) -> None:
        if task.request.id and not task.request.called_directly:
            task.update_state(
                state="PROGRESS",
                meta={"current": current, "total": total, "percent": percent, "step": step},
            )

    return report


class OrderStep(TelegramTask):
    """A step of the order chain: the order is its unit of work (one lease per order)."""

    abstract = True

    def lease_unit(self, args: tuple, kwargs: dict) -> str | None:
        return f"order:{args[0]}" if args else None

    def give_up(self, args: tuple, kwargs: dict, crashes: int) -> None:
        """The step's runs kept dying: the order fails and the chat hears it once."""
        order_id = str(args[0])
        log.error("order=%s failed: %s runs of %s crashed", order_id, crashes, self.name)
        if ctx.fulfilment().fail(order_id, "crashed"):
            avisar_fallo.delay(order_id)


@app.task(
    bind=True,
    base=OrderStep,
    name="validar_pago",
    autoretry_for=(PaymentUnavailable,),
    max_retries=5,
)
def validar_pago(self: Task, order_id: str) -> str:
    """Step 1: the payment is authorized (or the order fails with the reason)."""
    ctx.fulfilment().validar_pago(order_id, _reporter(self))
    return order_id


@app.task(bind=True, base=OrderStep, name="preparar_envio", **TELEGRAM_RETRY)
def preparar_envio(self: Task, order_id: str) -> str:
    """Step 2: the shipment is prepared; with staff (core.shopfloor) the order's card is
    posted and the chain stops here: people move it on, and their Entregado queues
    notificar_cliente."""
    if ctx.fulfilment().preparar_envio(order_id, _reporter(self)):
        # Celery starts the chain's next step from the request after this returns.
        self.request.chain = None
    return order_id


@app.task(bind=True, base=OrderStep, name="notificar_cliente", **TELEGRAM_RETRY)
def notificar_cliente(self: Task, order_id: str) -> str:
    """Step 3: the order completes and the customer hears it once."""
    ctx.fulfilment().notificar_cliente(order_id, _reporter(self))
    return order_id


@app.task(name="registrar_fallo")
def registrar_fallo(request: Any, exc: BaseException, traceback: Any) -> None:
    """Error callback of every step: the order fails with a reason the customer understands.

    Celery runs a callback of this signature in place, in the failed step's process and under
    that step's lease: it only names the reason and queues `fallar_pedido`, leased work of its
    own. A worker that dies before queueing it leaves the step's lease to expire: the step
    runs, and fails, again. Failing the order here and telling the chat afterwards would lose
    the telling with a crash in between (the step's re-run skips a failed order).
    """
    order_id = str(request.args[0]) if request.args else ""
    if not order_id:
        return
    if isinstance(exc, PaymentHeld):
        reason = "payment_review"
    elif isinstance(exc, PaymentDeclined):
        reason = f"payment_declined:{exc.detail}" if exc.detail else "payment_declined"
    elif isinstance(exc, PaymentUnavailable):
        reason = "payment_unavailable"
    else:
        reason = "internal"
    log.warning("order=%s failed in %s: %s", order_id, request.task, reason)
    review = exc.detail if isinstance(exc, PaymentHeld) else ""
    fallar_pedido.delay(order_id, reason, review)


@app.task(base=TelegramTask, name="fallar_pedido", **TELEGRAM_RETRY)
def fallar_pedido(order_id: str, reason: str, review: str = "") -> None:
    """The order fails with `reason`, and the chat (and for a held payment, the staff) hear it
    once. Run again after a crash, it sends what it had not sent: every message has its key."""
    fulfilment = ctx.fulfilment()
    fulfilment.fail(order_id, reason)
    order = ctx.store().get(order_id)
    if order.state is not OrderState.FALLIDO or order.error != reason:
        return  # finished, cancelled or failed for another reason meanwhile: that one tells
    avisar_fallo.delay(order_id)
    if review:
        avisar_pago_en_revision.delay(order_id, review)


@app.task(base=TelegramTask, name="avisar_pago_en_revision", **TELEGRAM_RETRY)
def avisar_pago_en_revision(order_id: str, problem: str) -> None:
    """Tell the staff, once, that an order's payment does not match it and is held."""
    courier = ctx.fulfilment().courier
    text = texts.text("es", "pay.staff_review", id=order_id, problem=problem)
    for chat_id in clients.settings().admin_chat_ids:
        courier.send(chat_id, text, key=f"order:{order_id}:review:{chat_id}")


@app.task(base=TelegramTask, name="avisar_fallo", **TELEGRAM_RETRY)
def avisar_fallo(order_id: str) -> None:
    """Tell the chat its order failed, once."""
    ctx.fulfilment().tell_failure(order_id)


@app.task(base=TelegramTask, name="avisar_cancelacion", **TELEGRAM_RETRY)
def avisar_cancelacion(order_id: str) -> None:
    """Tell the chat its order was cancelled, once (when the bot could not do it at once)."""
    tell_cancelled(ctx.fulfilment(), order_id)


STEP_TASKS = (validar_pago, preparar_envio, notificar_cliente)
STEP_NAMES = frozenset({"validar_pago", "preparar_envio", "notificar_cliente"})


def order_chain(order_id: str, task_ids: list[str] | None = None) -> Any:
    """The chain for one order, each step getting only the order id (and the given task ids)."""
    on_error = registrar_fallo.s()
    ids = task_ids or [uuid() for _ in STEP_TASKS]
    return chain(
        *(
            step.si(order_id).set(task_id=task_id)
            for step, task_id in zip(STEP_TASKS, ids, strict=True)
        )
    ).on_error(on_error)


def enqueue_order(order_id: str, status_message_id: int = 0) -> str:
    """Start an order's chain; the id of its first task.

    The ids of every step are chosen and stored on the order before the chain starts, so a
    cancellation, however early, can revoke the steps not yet run; so is the Redis epoch the
    chain is queued in, so a Redis that loses it is noticed (core.recovery.epoch), and the
    status message the bot just showed (one transaction for all, before the first step can
    look for them).
    """
    task_ids = [uuid() for _ in STEP_TASKS]
    epoch = clients.epoch()
    shown = {"status_message_id": status_message_id} if status_message_id else {}
    ctx.store().set_fields(
        order_id, task_ids=",".join(task_ids), task_id=task_ids[0], queued_epoch=epoch, **shown
    )
    order_chain(order_id, task_ids).apply_async()
    return task_ids[0]


def remaining_steps(order: Order) -> int:
    """Index of the step the order is in (a pending order has not started the first).

    Orders in the staff's hands wait for people, not for a step: none is left to run, but
    for por_aceptar (preparar_envio again posts its card if it never got out, once) and
    entregado (notificar_cliente completes it)."""
    if order.state in STEPS:
        return STEPS.index(order.state)
    if order.state is OrderState.POR_ACEPTAR:
        return STEPS.index(OrderState.PREPARANDO_ENVIO)
    if order.state is OrderState.ENTREGADO:
        return STEPS.index(OrderState.NOTIFICANDO)
    return 0 if order.state is OrderState.PENDIENTE else len(STEPS)


def chain_from(order: Order, task_ids: list[str]) -> Any:
    """The order's chain from the step it is in (a step run twice is a no-op the second
    time), with the given task ids."""
    steps = STEP_TASKS[remaining_steps(order) :]
    return chain(
        *(step.si(order.id).set(task_id=t) for step, t in zip(steps, task_ids, strict=True))
    ).on_error(registrar_fallo.s())


def steps_left(order: Order) -> int:
    return len(STEP_TASKS) - remaining_steps(order)


@every_sweep(RESUME_INTERVAL)
def resume_lost_orders() -> int:
    """Orders the database has and Redis lost: pending ones nobody queued get their pending
    start back (the sweep queues them, core.recovery.starts); unfinished ones queued in another
    Redis epoch are queued again from the step they are in. How many."""
    store, epoch = ctx.store(), clients.epoch()
    unqueued = store.never_queued(time.time() - START_GRACE_MS / 1000, RESUME_BATCH)
    for order_id in unqueued:
        clients.starts().add("order", order_id)
    resumed = 0
    for order in store.lost_in(epoch, RESUME_BATCH):
        ids = [uuid() for _ in range(steps_left(order))]
        if not ids:
            # Waiting for people (core.shopfloor): nothing was queued to lose. It is this
            # epoch's now, so the next look does not find it again.
            store.set_fields(order.id, queued_epoch=epoch)
            continue
        if not store.requeue(order.id, order.queued_epoch, epoch, ids):
            continue
        chain_from(order, ids).apply_async()
        resumed += 1
        log.warning("order=%s: its queued chain was lost with Redis; queued again", order.id)
    return len(unqueued) + resumed


@starter("order")
def start_unqueued_order(order_id: str) -> None:
    """An order its bot stored and never queued (core.recovery.starts): queued now, unless it
    was."""
    try:
        order = ctx.store().get(order_id)
    except OrderNotFound:
        return
    if order.task_id or order.is_final:
        return
    enqueue_order(order_id)
    log.warning("order=%s was stored and never queued by its bot: queued now", order_id)


def revoke_order(task_ids: list[str]) -> None:
    """Revoke a cancelled order's steps: queued ones never start (a running one stops at its
    next check of the order's state, see core.orders.fulfilment)."""
    if task_ids:
        app.control.revoke(task_ids)
        log.info("revoked tasks %s", ",".join(task_ids))


@task_retry.connect
def _note_order_error(
    sender: Task | None = None, request: Any = None, reason: Any = None, **_: Any
) -> None:
    """A retried order step leaves its error on the order, for the watcher's digest."""
    if sender is None or sender.name not in STEP_NAMES or not request or not request.args:
        return
    # `reason` is the Retry exception; what went wrong is its `exc`.
    exc = getattr(reason, "exc", None) or reason
    if isinstance(exc, BaseException):
        ctx.store().note_error(str(request.args[0]), error_note(exc))
