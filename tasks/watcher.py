"""`revisar_pedidos_atrasados`, the stale-order watcher beat runs every WATCH_INTERVAL,
`avisar_atrasados`, which sends a batch of its chat alerts, and `vigilar_plazos`, the deadlines
of the human states (STAFF_CHAT_ID set), every minute.

The tasks are thin: core.watcher.watch, core.watcher.alerts and core.deadlines.watch do the
work.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from celery import Task
from celery.utils.log import get_task_logger

from core.deadlines.rules import Deadlines
from core.deadlines.store import BreachStore
from core.deadlines.watch import DeadlineWatch
from core.shopfloor.cards import open_keyboard
from core.shophours.clock import shop_clock
from core.watcher import alerts as stale_alerts
from core.watcher.alerts import StaleAlert
from core.watcher.watch import RUN_TIME_LIMIT
from tasks import app, clients, delivery
from tasks import context as ctx
from tasks.forksafe import per_process
from tasks.telegram import TELEGRAM_RETRY, TelegramTask

log = get_task_logger(__name__)

# Alerts one `avisar_atrasados` carries: a run's 1,000 are ten publishes, not a thousand, and
# ten tasks the telegram workers share; each about three seconds of Telegram's 30/s.
ALERTS_PER_TASK = 100


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


class CeleryOutbox:
    """The watcher's outbox: a run's alerts as `avisar_atrasados` tasks on the telegram queue."""

    def hand_over(self, run_id: str, alerts: Sequence[StaleAlert]) -> None:
        for part, start in enumerate(range(0, len(alerts), ALERTS_PER_TASK)):
            batch = [alert.to_dict() for alert in alerts[start : start + ALERTS_PER_TASK]]
            avisar_atrasados.apply_async((run_id, part, batch))


class AlertsTask(TelegramTask):
    """A batch of a run's alerts (unit: the run and its part): recovered if its worker dies,
    and then sent again under the same keys (nothing twice)."""

    abstract = True

    def lease_unit(self, args: tuple, kwargs: dict) -> str | None:
        return f"watcher-alerts:{args[0]}:{args[1]}" if len(args) >= 2 else None


@app.task(
    bind=True,
    base=AlertsTask,
    name="avisar_atrasados",
    queue="telegram",
    ignore_result=True,
    **TELEGRAM_RETRY,
)
def avisar_atrasados(self: Task, run_id: str, part: int, alerts: list[dict[str, Any]]) -> int:
    """Send a batch of a watcher run's chat alerts, each once; how many went out."""
    batch = [StaleAlert.from_dict(alert) for alert in alerts]
    sent = stale_alerts.deliver(ctx.store().db, delivery.courier(), batch)
    log.info("watcher run=%s part=%s alerts sent=%s of %s", run_id, part, sent, len(batch))
    return sent


@per_process
def deadline_watch() -> DeadlineWatch | None:
    """The deadline watcher, or None without STAFF_CHAT_ID (no staff: no human deadlines)."""
    config = clients.settings()
    staff_chat = config.staff_chat_id
    if staff_chat is None:
        return None
    deadlines = Deadlines(
        shop_clock(config.shop_hours, config.shop_timezone, config.report_timezone),
        accept=config.accept_within,
        ready=config.ready_within,
        deliver=config.deliver_within,
        escalate_after=config.escalate_after,
    )
    admins = tuple(dict.fromkeys(config.admin_chat_ids + config.escalation_chat_ids))
    return DeadlineWatch(
        breaches=BreachStore(ctx.store().db),
        store=ctx.store(),
        sender=delivery.courier(),
        deadlines=deadlines,
        staff_chat_id=staff_chat,
        admin_chat_ids=admins,
        # The alert's button posts the order's card afresh under it, with its live moves
        # (the card's own buttons act only on the current card).
        keyboard_for=lambda order: open_keyboard([order], staff_chat),
    )


@app.task(
    bind=True,
    base=WatcherTask,
    name="vigilar_plazos",
    soft_time_limit=RUN_TIME_LIMIT - 30,
    time_limit=RUN_TIME_LIMIT,
    **TELEGRAM_RETRY,
)
def vigilar_plazos(self: Task) -> dict[str, Any]:
    """Alert, escalate and tell the customer of each missed deadline, once each."""
    watch = deadline_watch()
    if watch is None:
        return {}
    report = watch.run()
    if report.found or report.alerted or report.escalated:
        log.info(
            "deadlines found=%s alerted=%s escalated=%s sent=%s",
            report.found,
            report.alerted,
            report.escalated,
            report.sent,
        )
    return asdict(report)
