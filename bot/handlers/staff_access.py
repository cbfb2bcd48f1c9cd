"""Who counts as staff for alert buttons, CSV imports and reports: the one check they use
(`staff_only` wraps every staff command in bot.app).

It is the admin rule of /atrasados and /entregas (core.admins: an admin is a person, in
ADMIN_USER_IDS or the user of a private admin chat, acting in private or in an admin chat;
never another group member, an anonymous admin or a channel post), with the escalation chats
counted as admin chats too.
"""

from __future__ import annotations

import functools
import logging

from telegram import Chat, Update

from bot.context import BotContext, Callback, Incoming
from bot.handlers.common import sender_chat_id
from core import texts
from core.admins import Admins

log = logging.getLogger(__name__)


def is_staff(update: Update, context: BotContext) -> bool:
    """Whether the sender of `update` may act as staff where they wrote or pressed."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return False
    settings = context.services.settings
    admins = Admins.of(
        settings.admin_user_ids, settings.admin_chat_ids + settings.escalation_chat_ids
    )
    # A message may be sent on behalf of a chat; a button press is always its user's own.
    sender_chat = sender_chat_id(update.message) if update.message else None
    return admins.may_use_admin_commands(chat.id, chat.type == Chat.PRIVATE, user.id, sender_chat)


async def staff_or_refuse(incoming: Incoming, context: BotContext) -> bool:
    """True for staff; anyone else gets a short refusal."""
    if is_staff(incoming.update, context):
        return True
    log.info("staff only: refused chat=%s user=%s", incoming.chat.id, incoming.user.id)
    await incoming.message.reply_html(texts.text(incoming.lang, "staff.admins_only"))
    return False


def staff_only(callback: Callback) -> Callback:
    """A staff command's callback that anyone else gets the short refusal from instead: the
    one check bot.app applies to every staff command."""

    @functools.wraps(callback)
    async def checked(update: Update, context: BotContext) -> None:
        incoming = Incoming.of(update)
        if incoming is not None and await staff_or_refuse(incoming, context):
            await callback(update, context)

    return checked
