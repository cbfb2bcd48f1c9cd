"""/estado (alias /status): where one order or photo job is, or the chat's recent orders."""

from __future__ import annotations

import time

from bot.context import BotContext, Incoming, on_message
from bot.handlers import staff
from bot.handlers.common import command_argument
from core import texts
from core.orders.model import normalize_order_id
from core.photos.jobs import normalize_job_id
from core.photos.processing import status_text

RECENT_ORDERS = 5


@on_message
async def estado(incoming: Incoming, context: BotContext) -> None:
    """One order's state, or the chat's recent orders when no id is given."""
    message, chat, lang = incoming.message, incoming.chat, incoming.lang
    svc = context.services
    argument = command_argument(message).strip()
    now = time.time()
    if not argument:
        orders = await svc.run(svc.store.recent, chat.id, RECENT_ORDERS)
        if not orders:
            await message.reply_html(texts.text(lang, "order.list_empty"))
            return
        lines: list[str] = [texts.text(lang, "order.list_title")]
        lines += [texts.order_list_line(order, now, lang) for order in orders]
        await message.reply_html("\n".join(lines))
        return
    job_id = normalize_job_id(argument.split()[0])
    if job_id:
        job = await svc.run(svc.photo_jobs.find, job_id, chat.id)
        if job is not None:
            await message.reply_html(status_text(job, lang))
            return
    # Staff see any chat's order, with what the staff did about it.
    for_staff = await staff.order_for_staff(incoming, context, argument.split()[0], now)
    if for_staff is not None:
        await message.reply_html(for_staff)
        return
    order_id = normalize_order_id(argument.split()[0])
    # Unknown, malformed and other chats' ids get the same answer: ids are not guessable.
    order = await svc.run(svc.store.find, order_id, chat.id) if order_id else None
    if order is None:
        await message.reply_html(texts.text(lang, "order.not_found"))
        return
    await message.reply_html(texts.order_summary(order, now, lang))
