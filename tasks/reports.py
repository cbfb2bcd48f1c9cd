"""`generar_reporte` (queue `reports`): /informe's PDF, CSV and chart, and with no arguments
(beat, WEEKLY_REPORT_AT) last week's PDF to the admin chats; `resumen_diario`, the admins'
daily summary beat sends at DAILY_REPORT_AT."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from celery import Task
from celery.utils.log import get_task_logger

from core.reports.breaches import limits
from core.reports.period import Period, shop_zone
from core.reports.run import Reporter
from core.telegram.dead_letters import DeadLetters
from tasks import app, clients, delivery
from tasks import context as ctx
from tasks.forksafe import per_process
from tasks.telegram import TELEGRAM_RETRY, TelegramTask

log = get_task_logger(__name__)


@per_process
def reporter() -> Reporter:
    config = clients.settings()
    return Reporter(
        store=ctx.store(),
        courier=delivery.courier(),
        dead_letters=DeadLetters(clients.redis_client()),
        admin_chat_ids=config.admin_chat_ids,
        stale_after=config.stale_after,
        zone=shop_zone(config),
        # SHOP_NAME comes with the receipts; until then the title names no shop.
        shop=getattr(config, "shop_name", ""),
        currency=config.shop_currency,
        limits=limits(config),
    )


@app.task(bind=True, base=TelegramTask, name="generar_reporte", **TELEGRAM_RETRY)
def generar_reporte(
    self: Task,
    chat_id: int | None = None,
    first: str | None = None,
    last: str | None = None,
    language: str = "es",
    texts_too: bool = False,
) -> dict[str, Any]:
    """The PDF, CSV and chart of [first, last] to the chat that asked (the CSV's order texts
    only with `texts_too`: a private chat or the staff chat); with no chat (the weekly beat
    entry), last week's PDF to every admin chat."""
    if chat_id is None or first is None or last is None:
        week = reporter().weekly(time.time())
        log.info("weekly report %s", f"{week.first}..{week.last}" if week else "(no admin chat)")
        return {"week": week.first.isoformat() if week else None}
    period = Period(date.fromisoformat(first), date.fromisoformat(last), reporter().zone)
    # The task id names the report: a retry sends what is missing, never a second copy.
    key = f"report:{self.request.id}"
    pdf = reporter().pdf([chat_id], period, language, f"{key}:pdf", time.time())
    tally = reporter().report(chat_id, period, language, key=key, texts_too=texts_too)
    log.info("report chat=%s %s..%s orders=%s", chat_id, first, last, tally.total)
    return {"orders": tally.total, "net": pdf.figures.net}


@app.task(bind=True, base=TelegramTask, name="resumen_diario", **TELEGRAM_RETRY)
def resumen_diario(self: Task) -> str:
    """The daily summary to every admin chat (RedBeat sends it once per scheduled time)."""
    return reporter().daily(f"daily:{self.request.id}", time.time())


def enqueue_report(
    chat_id: int, first: str, last: str, language: str, texts_too: bool = False
) -> str:
    return str(generar_reporte.delay(chat_id, first, last, language, texts_too).id)
