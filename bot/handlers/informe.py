"""/informe [semana|mes|desde [hasta]] (alias /report): the report as a PDF, with the orders'
CSV and chart, for staff."""

from __future__ import annotations

import time

from bot.context import BotContext, Incoming, on_message
from bot.handlers.common import command_argument
from bot.handlers.staff_access import staff_or_refuse
from core import texts
from core.reports.period import PeriodError, parse_period, shop_zone, today_in
from tasks import reports as report_tasks


@on_message
async def informe(incoming: Incoming, context: BotContext) -> None:
    """Check the period and answer at once; a worker (`generar_reporte`) sends the files."""
    if not await staff_or_refuse(incoming, context):
        return
    svc, lang = context.services, incoming.lang
    zone = shop_zone(svc.settings)
    words = command_argument(incoming.message).split()
    try:
        period = parse_period(words[:2], today_in(zone, time.time()), zone)
    except PeriodError as exc:
        problem = texts.text(lang, f"report.{exc.key}", **exc.values)
        await incoming.message.reply_html(f"{problem}\n{texts.text(lang, 'report.usage')}")
        return
    first, last = period.first.isoformat(), period.last.isoformat()
    # Enqueued first: the files come whether or not this short answer waits for a slot.
    await svc.run(report_tasks.enqueue_report, incoming.chat.id, first, last, lang)
    await incoming.message.reply_html(texts.text(lang, "report.queued", start=first, end=last))
