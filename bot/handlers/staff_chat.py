"""The staff chat (STAFF_CHAT_ID): whether it is on, who speaks for the shop there, and the
small readings of a message the relay, quotes and order photos share."""

from __future__ import annotations

from telegram import Message, User

from bot.context import BotContext, Incoming
from bot.handlers.common import sender_chat_id
from bot.handlers.shopfloor_access import is_floor_staff
from core.relay.rules import is_staff_member


def staff_chat(context: BotContext) -> int | None:
    """The staff chat's id; None when the staff workflow is off."""
    return context.services.settings.staff_chat_id


async def is_staff_sender(incoming: Incoming, context: BotContext) -> bool:
    """The one check of who speaks for the shop, writing in the staff chat: a person (never
    an anonymous admin or a channel post) in STAFF_USER_IDS or ADMIN_USER_IDS, or an
    administrator of the staff chat (the shop floor's rule, getChatMember cached)."""
    return await is_staff_user(
        incoming.chat.id, incoming.user, sender_chat_id(incoming.message), context
    )


async def is_staff_user(
    chat_id: int, user: User, sender_chat: int | None, context: BotContext
) -> bool:
    """is_staff_sender for a press or a message taken apart (a press has no sender chat)."""
    settings = context.services.settings
    listed = set(settings.staff_user_ids) | set(settings.admin_user_ids)
    if is_staff_member(chat_id, user.id, sender_chat, settings.staff_chat_id, listed):
        return True
    if settings.staff_chat_id is None or chat_id != settings.staff_chat_id:
        return False
    return await is_floor_staff(context, user, sender_chat)


def photo_id(message: Message) -> str:
    """The largest size's file id of a photo message ("" for anything else)."""
    return message.photo[-1].file_id if message.photo else ""


def bot_message_replied(message: Message, bot_id: int) -> Message | None:
    """The bot's own message this one replies to, if it replies to one."""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return replied
    return None
