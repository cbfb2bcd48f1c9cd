"""/pedido and /estado: place an order and see where it is."""

from __future__ import annotations

import logging
import math
import time

import redis
from telegram import Update
from telegram.error import Forbidden, NetworkError, RetryAfter
from telegram.ext import ContextTypes

from bot.handlers import conversation, staff
from bot.handlers.chain import start_chain
from bot.handlers.common import command_argument, language_of, person_or_refuse
from bot.markup import inline
from bot.sending import own_fallback
from bot.services import services
from core import texts
from core.keyboards import status_keyboard
from core.orders.model import MAX_ORDER_TEXT, OrderTextError, clean_order_text, normalize_order_id
from core.photos.jobs import normalize_job_id
from core.photos.processing import status_text

log = logging.getLogger(__name__)

RECENT_ORDERS = 5


async def pedido(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Validate the text, store the order, answer with its status message, start the chain."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None:
        return
    if not await person_or_refuse(update):
        return
    lang = language_of(update)
    svc = services(context)
    try:
        verdict = await svc.run(
            svc.quotas.take, svc.quotas.orders, user.id, chat.id, message.message_id
        )
    except redis.RedisError:
        log.exception("quota store unavailable for chat=%s", chat.id)
        await message.reply_html(texts.text(lang, "order.error.store_unavailable"))
        return
    if not verdict.allowed:
        log.info("order quota reached user=%s chat=%s told=%s", user.id, chat.id, verdict.tell)
        if verdict.tell:
            await message.reply_html(
                texts.text(
                    lang,
                    "quota.orders",
                    limit=svc.quotas.orders.limit,
                    wait=texts.format_age(math.ceil(verdict.wait), lang),
                )
            )
        return
    raw_text = command_argument(message)
    if not raw_text.strip():
        # No text: ask for it, step by step.
        await conversation.start(update, context)
        return
    try:
        text = clean_order_text(raw_text)
    except OrderTextError as exc:
        await message.reply_html(
            texts.text(
                lang, f"order.error.{exc.code}", max=MAX_ORDER_TEXT, length=len(raw_text.strip())
            )
        )
        return

    try:
        order, created = await svc.place_order(chat.id, user.id, text, message.message_id, lang)
    except redis.RedisError:
        log.exception("order store unavailable for chat=%s", chat.id)
        await message.reply_html(texts.text(lang, "order.error.store_unavailable"))
        return
    if not created:
        log.info(
            "order=%s: update re-delivered (chat=%s message=%s)",
            order.id,
            chat.id,
            message.message_id,
        )
    status_id = 0
    if not order.status_message_id:
        try:
            # Not handed to the workers when the chat is busy: the first step sends it.
            with own_fallback():
                status = await message.reply_html(
                    texts.status_message(order), reply_markup=inline(status_keyboard(order))
                )
        except (NetworkError, RetryAfter, Forbidden) as exc:
            # The order is safe in the store; the first step sends the status message (and on
            # a 403 marks the chat unreachable until it writes again).
            log.warning("order=%s status reply failed, the worker will send it: %s", order.id, exc)
        else:
            status_id = status.message_id
            log.info("order=%s created chat=%s status_message=%s", order.id, chat.id, status_id)
    await start_chain(context, order, message.message_id, status_id, lang)


async def estado(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """One order's state, or the chat's recent orders when no id is given."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    lang = language_of(update)
    svc = services(context)
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
    for_staff = await staff.order_for_staff(update, context, argument.split()[0], now)
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
