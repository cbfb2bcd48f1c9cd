"""The staff chat (STAFF_CHAT_ID): whether it is on, who speaks for the shop there, and the
small readings of a message the relay, quotes and order photos share."""

from __future__ import annotations

from telegram import Message

from bot.context import BotContext, Incoming
from bot.handlers.common import sender_chat_id
from core.relay.rules import is_staff_member


def staff_chat(context: BotContext) -> int | None:
    """The staff chat's id; None when the staff workflow is off."""
    return context.services.settings.staff_chat_id


def is_staff_sender(incoming: Incoming, context: BotContext) -> bool:
    """The one check of who speaks for the shop (core.relay.rules.is_staff_member):
    STAFF_USER_IDS or ADMIN_USER_IDS, a person, writing in the staff chat."""
    return is_staff_user(
        incoming.chat.id, incoming.user.id, sender_chat_id(incoming.message), context
    )


def is_staff_user(chat_id: int, user_id: int, sender_chat: int | None, context: BotContext) -> bool:
    """is_staff_sender for a press or a message taken apart (a press has no sender chat)."""
    settings = context.services.settings
    listed = set(settings.staff_user_ids) | set(settings.admin_user_ids)
    return is_staff_member(chat_id, user_id, sender_chat, settings.staff_chat_id, listed)


def photo_id(message: Message) -> str:
    """The largest size's file id of a photo message ("" for anything else)."""
    return message.photo[-1].file_id if message.photo else ""


def bot_message_replied(message: Message, bot_id: int) -> Message | None:
    """The bot's own message this one replies to, if it replies to one."""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return replied
    return None
