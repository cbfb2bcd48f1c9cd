"""/informe [semana|mes|desde [hasta]] (alias /report): the report as a PDF, with the orders'
CSV and chart, for staff; where customers' data may be shown (private, the staff chat), also
/exportar's two CSV files with the money of every order and line."""

from __future__ import annotations

import time

from telegram import Chat

from bot.context import BotContext, Incoming, on_message
from bot.handlers.common import command_argument
from core import texts
from core.admins import personal_data_allowed
from core.reports.period import PeriodError, parse_period, shop_zone, today_in
from tasks import exports as export_tasks
from tasks import reports as report_tasks


@on_message
async def informe(incoming: Incoming, context: BotContext) -> None:
    """Check the period and answer at once; a worker (`generar_reporte`) sends the files."""
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
    # The CSV's order texts only in private or the staff chat: a group's members see the rest.
    chat = incoming.chat
    private = chat.type == Chat.PRIVATE
    texts_too = personal_data_allowed(chat.id, svc.settings.staff_chat_id, private)
    # Enqueued first: the files come whether or not this short answer waits for a slot.
    await svc.run(report_tasks.enqueue_report, chat.id, first, last, lang, texts_too)
    if texts_too:
        # The money per order and line (names in it: never to an admin group's members).
        message_id = incoming.message.message_id
        await svc.run(export_tasks.enqueue_export, chat.id, message_id, 0, first, last, lang)
    await incoming.message.reply_html(texts.text(lang, "report.queued", start=first, end=last))
