"""/pedido (alias /order): place an order, or start a guided one when no text is given."""

from __future__ import annotations

import logging
import math

import redis
from telegram.error import Forbidden, NetworkError, RetryAfter

from bot.context import BotContext, Incoming, on_message
from bot.handlers import conversation
from bot.handlers.chain import start_chain
from bot.handlers.common import command_argument, person_or_refuse
from bot.markup import inline
from bot.sending import own_fallback
from core import texts
from core.keyboards import status_keyboard
from core.orders.model import MAX_ORDER_TEXT, OrderTextError, clean_order_text

log = logging.getLogger(__name__)


@on_message
async def pedido(incoming: Incoming, context: BotContext) -> None:
    """Validate the text, store the order, answer with its status message, start the chain."""
    if not await person_or_refuse(incoming):
        return
    message, chat, user, lang = incoming.message, incoming.chat, incoming.user, incoming.lang
    svc = context.services
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
        await conversation.start(incoming, context)
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
