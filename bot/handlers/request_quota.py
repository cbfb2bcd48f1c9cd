"""Every command and button press counts against its sender's QUOTA_REQUESTS_PER_MINUTE
(core.quotas), before any handler runs: one user cannot make the bot answer /estado,
/pedidos' pages or a button as fast as Telegram lets them send. (Orders and photos have
quotas of their own too.)

Over it, a command is told once when to try again and then dropped until the wait is over; a
press is answered with that as an alert each time (a press must be answered, and the alert
is shown to the presser alone). A quota store that is down lets requests through: what it
guards is load, not money, and the orders' own quota still refuses when it cannot count.
"""

from __future__ import annotations

import logging
import math

import redis
from telegram import CallbackQuery, Update
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext, Incoming
from core import texts
from core.quotas import Verdict

log = logging.getLogger(__name__)


async def _take(context: BotContext, user_id: int, chat_id: int, token: int | str) -> Verdict:
    svc = context.services
    try:
        return await svc.run(svc.quotas.take, svc.quotas.requests, user_id, chat_id, token)
    except redis.RedisError:
        log.warning("request quota not counted for chat=%s: Redis unavailable", chat_id)
        return Verdict(True)


def _over(context: BotContext, lang: str, verdict: Verdict, html: bool = True) -> str:
    """When to try again: HTML for a reply, plain for a press's alert."""
    wait = texts.format_age(math.ceil(verdict.wait), lang)
    limit = context.services.quotas.requests.limit
    render = texts.text if html else texts.plain
    return render(lang, "quota.requests", limit=limit, wait=wait)


async def command(update: Update, context: BotContext) -> None:
    """A command over its sender's quota goes no further (told once per wait)."""
    incoming = Incoming.of(update)
    if incoming is None:
        return
    verdict = await _take(context, incoming.user.id, incoming.chat.id, incoming.message.message_id)
    if verdict.allowed:
        return
    log.info("requests quota reached user=%s chat=%s", incoming.user.id, incoming.chat.id)
    if verdict.tell:
        await incoming.message.reply_html(_over(context, incoming.lang, verdict))
    raise ApplicationHandlerStop


async def press(query: CallbackQuery, context: BotContext, chat_id: int, lang: str) -> str:
    """The alert to answer a press over its sender's quota with; "" when it may go on."""
    verdict = await _take(context, query.from_user.id, chat_id, f"press:{query.id}")
    if verdict.allowed:
        return ""
    log.info("requests quota reached user=%s chat=%s (press)", query.from_user.id, chat_id)
    return _over(context, lang, verdict, html=False)
