"""`generar_reporte` (queue `reports`): /informe's CSV and chart; and `resumen_diario`, the
admins' daily summary beat sends at DAILY_REPORT_AT."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from celery import Task
from celery.utils.log import get_task_logger

from core.reports.period import Period
from core.reports.run import Reporter
from core.telegram.dead_letters import DeadLetters
from tasks import app, clients, delivery
from tasks import context as ctx
from tasks.telegram import TELEGRAM_RETRY, TelegramTask

log = get_task_logger(__name__)


@cache
def reporter() -> Reporter:
    config = clients.settings()
    return Reporter(
        store=ctx.store(),
        courier=delivery.courier(),
        dead_letters=DeadLetters(clients.redis_client()),
        admin_chat_ids=config.admin_chat_ids,
        stale_after=config.stale_after,
        zone=config.report_timezone,
    )


@app.task(bind=True, base=TelegramTask, name="generar_reporte", **TELEGRAM_RETRY)
def generar_reporte(
    self: Task, chat_id: int, first: str, last: str, language: str, texts_too: bool = False
) -> dict[str, Any]:
    """The orders of [first, last] as a CSV and a chart, to the chat that asked (the orders'
    texts only when `texts_too`: a private chat or the staff chat)."""
    period = Period(
        date.fromisoformat(first), date.fromisoformat(last), clients.settings().report_timezone
    )
    # The task id names the report: a retry sends what is missing, never a second copy.
    key = f"report:{self.request.id}"
    tally = reporter().report(chat_id, period, language, key=key, texts_too=texts_too)
    log.info("report chat=%s %s..%s orders=%s", chat_id, first, last, tally.total)
    return {"orders": tally.total}


@app.task(bind=True, base=TelegramTask, name="resumen_diario", **TELEGRAM_RETRY)
def resumen_diario(self: Task) -> str:
    """The daily summary to every admin chat (RedBeat sends it once per scheduled time)."""
    import time

    return reporter().daily(f"daily:{self.request.id}", time.time())


def enqueue_report(
    chat_id: int, first: str, last: str, language: str, texts_too: bool = False
) -> str:
    return str(generar_reporte.delay(chat_id, first, last, language, texts_too).id)
