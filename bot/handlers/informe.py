"""/informe [desde] [hasta] (alias /report): a CSV of the orders and a chart, for staff."""

from __future__ import annotations

import time

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.common import command_argument, language_of
from bot.handlers.staff_access import staff_or_refuse
from bot.services import services
from core import texts
from core.reports.period import PeriodError, parse_period, today_in
from tasks import reports as report_tasks


async def informe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Check the dates and answer at once; a worker (`generar_reporte`) sends the files."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or not await staff_or_refuse(update, context):
        return
    lang = language_of(update)
    svc = services(context)
    zone = svc.settings.report_timezone
    words = command_argument(message).split()
    try:
        period = parse_period(words[:2], today_in(zone, time.time()), zone)
    except PeriodError as exc:
        problem = texts.text(lang, f"report.{exc.key}", **exc.values)
        await message.reply_html(f"{problem}\n{texts.text(lang, 'report.usage')}")
        return
    first, last = period.first.isoformat(), period.last.isoformat()
    # Enqueued first: the files come whether or not this short answer waits for a slot.
    await svc.run(report_tasks.enqueue_report, chat.id, first, last, lang)
    await message.reply_html(texts.text(lang, "report.queued", start=first, end=last))
