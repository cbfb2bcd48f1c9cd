"""`revisar_pedidos_atrasados`, the stale-order watcher beat runs every WATCH_INTERVAL.

The task is thin: core.watcher.watch does the work.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict
from typing import Any

from celery import Task
from celery.utils.log import get_task_logger

from core.watcher.watch import RUN_TIME_LIMIT
from tasks import app, clients
from tasks import context as ctx
from tasks.telegram import TELEGRAM_RETRY, TelegramTask

log = get_task_logger(__name__)


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
        revisar_pedidos_atrasados.apply_async(expires=clients.settings().watch_interval)
    return asdict(report)
