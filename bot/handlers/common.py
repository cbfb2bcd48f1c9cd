"""Small helpers every handler uses."""

from __future__ import annotations

import logging
import math

import redis
from telegram import Chat, Message, MessageEntity, Update

from bot.context import BotContext, Incoming
from bot.services import Services
from core import texts
from core.admins import Admins, is_person
from core.orders.model import MAX_ORDER_TEXT, OrderTextError
from core.quotas import Quota
from core.texts import pick_language

log = logging.getLogger(__name__)


def language_of(update: Update) -> str:
    """Our language for whoever sent the update."""
    user = update.effective_user
    return pick_language(user.language_code if user else None)


def command_argument(message: Message) -> str:
    """The text after the command (`/pedido@bot 2 pizzas` → `2 pizzas`), newlines kept."""
    text = message.text or message.caption or ""
    for entity in message.entities or ():
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            return text[entity.length :]
    return text.partition(" ")[2]


def addressed_to_bot(message: Message, bot_id: int, bot_username: str) -> bool:
    """Whether a message is for this bot. In a private chat, always. In a group, what a bot
    in privacy mode is sent: a command (bare, or named `/pedido@thisbot`: `/pedido@otro_bot`
    is the other bot's, whatever else it does), a reply to one of its messages, or a message
    that mentions it (by @username, or a mention of its user)."""
    if message.chat.type == Chat.PRIVATE:
        return True
    username = bot_username.lower()
    entities = message.parse_entities() if message.text else message.parse_caption_entities()
    for entity, text in entities.items():
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            _, at, target = text.partition("@")
            return not at or target.lower() == username
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return True
    return any(
        (entity.type == MessageEntity.MENTION and text.lower() == f"@{username}")
        or (entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id)
        for entity, text in entities.items()
    )


def order_text_refusal(lang: str, error: OrderTextError, raw_text: str) -> texts.Html:
    """Why an order's text was refused (empty, too long, control characters)."""
    return texts.text(
        lang, f"order.error.{error.code}", max=MAX_ORDER_TEXT, length=len(raw_text.strip())
    )


def admins_of(context: BotContext) -> Admins:
    settings = context.services.settings
    return Admins.of(settings.admin_user_ids, settings.admin_chat_ids)


def sender_chat_id(message: Message) -> int | None:
    """The chat a message was sent on behalf of (anonymous admin, channel), else None."""
    return message.sender_chat.id if message.sender_chat else None


async def admin_or_refuse(incoming: Incoming, context: BotContext, refusal_key: str) -> bool:
    """True for an admin asking in private or in an admin chat (core.admins); anyone else,
    anonymous admins and channel posts included, gets a refusal."""
    chat, user_id = incoming.chat, incoming.user.id
    sender_chat = sender_chat_id(incoming.message)
    if admins_of(context).may_use_admin_commands(
        chat.id, chat.type == Chat.PRIVATE, user_id, sender_chat
    ):
        return True
    log.info("admin command refused chat=%s user=%s sender_chat=%s", chat.id, user_id, sender_chat)
    await incoming.message.reply_html(texts.text(incoming.lang, refusal_key))
    return False


async def person_or_refuse(incoming: Incoming) -> bool:
    """True when the sender is one identifiable person. Anonymous admins share one user id
    (and channel senders another), so whatever they own anyone of them could act on: orders,
    cancellations and guided conversations are refused to them with a short explanation."""
    message = incoming.message
    if is_person(incoming.user.id, sender_chat_id(message)):
        return True
    log.info(
        "refused an anonymous sender chat=%s sender_chat=%s",
        message.chat.id,
        sender_chat_id(message),
    )
    await message.reply_html(texts.text(incoming.lang, "order.anonymous"))
    return False


async def within_quota(
    incoming: Incoming,
    svc: Services,
    quota: Quota,
    over_key: str,
    unavailable_key: str,
    quote: bool | None = None,
) -> bool:
    """Take one unit of the sender's `quota` for this message (a re-delivered one takes none).
    Over it, the sender is told when to try again (once, not at every message); when the
    quota's store is down, that it is unavailable. Replies are quoted as `quote` says."""
    chat, user, message = incoming.chat, incoming.user, incoming.message
    try:
        verdict = await svc.run(svc.quotas.take, quota, user.id, chat.id, message.message_id)
    except redis.RedisError:
        log.exception("quota store unavailable for chat=%s", chat.id)
        await message.reply_html(texts.text(incoming.lang, unavailable_key), do_quote=quote)
        return False
    if verdict.allowed:
        return True
    log.info("%s quota reached user=%s chat=%s told=%s", quota.kind, user.id, chat.id, verdict.tell)
    if verdict.tell:
        wait = texts.format_age(math.ceil(verdict.wait), incoming.lang)
        await message.reply_html(
            texts.text(incoming.lang, over_key, limit=quota.limit, wait=wait), do_quote=quote
        )
    return False
