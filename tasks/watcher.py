"""`revisar_pedidos_atrasados`, the stale-order watcher beat runs every WATCH_INTERVAL.

The task is thin: core.watcher.watch does the work. It also keeps each retried order step's
latest error on the order, so the admins' digest can say why an order is stuck.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict
from typing import Any

from celery import Task
from celery.signals import task_retry
from celery.utils.log import get_task_logger

from core.watcher.watch import RUN_TIME_LIMIT, error_note
from tasks import app
from tasks import context as ctx
from tasks.telegram import TELEGRAM_RETRY, TelegramTask

log = get_task_logger(__name__)

# The order chain's tasks: their first argument is the order id.
ORDER_STEPS = frozenset({"validar_pago", "preparar_envio", "notificar_cliente"})


class WatcherTask(TelegramTask):
    """Not leased: the next beat run adopts the claims of a run lost with its worker."""

    abstract = True

    def lease_unit(self, args: tuple, kwargs: dict) -> str | None:
        return None


@app.task(
    bind=True,
    base=WatcherTask,
    name="revisar_pedidos_atrasados",
    soft_time_limit=RUN_TIME_LIMIT - 30,
    time_limit=RUN_TIME_LIMIT,
    **TELEGRAM_RETRY,
)
def revisar_pedidos_atrasados(self: Task) -> dict[str, Any]:
    """Alert every newly stale order once, in its chat and in the admins' digest."""

    # The task id names the run: a retry or a re-delivery resends the same run's alerts.
    run_id = self.request.id or uuid.uuid4().hex
    report = ctx.watcher().run(run_id)
    # The staff's cards: first alerts of the orders just claimed, reminders, escalations.
    cards = ctx.staff_alerts().run(run_id, time.time())
    log.info(
        "watcher run=%s claimed=%s alerted=%s resumed=%s more=%s cards=%s",
        report.run_id,
        report.claimed,
        report.alerted,
        report.resumed,
        report.more,
        cards,
    )
    if report.more:
        # More stale orders than one run takes: the next run starts now, not a beat later.
        revisar_pedidos_atrasados.apply_async(expires=ctx.settings().watch_interval)
    return asdict(report)


@task_retry.connect
def _note_order_error(
    sender: Task | None = None, request: Any = None, reason: Any = None, **_: Any
) -> None:
    """A retried order step leaves its error on the order, for the watcher's digest."""
    if sender is None or sender.name not in ORDER_STEPS or not request or not request.args:
        return
    # `reason` is the Retry exception; what went wrong is its `exc`.
    exc = getattr(reason, "exc", None) or reason
    if isinstance(exc, BaseException):
        ctx.store().note_error(str(request.args[0]), error_note(exc))
