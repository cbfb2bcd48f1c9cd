"""Who counts as staff for alert buttons, CSV imports and reports: the one check they use.

It is the admin rule of /atrasados and /entregas (core.watcher.is_admin: an admin chat, and
in private an admin user), with the escalation chats counted as admin chats too.
"""

from __future__ import annotations

import logging

from telegram import Chat, Update
from telegram.ext import ContextTypes

from bot.handlers.common import language_of
from bot.services import services
from core import texts
from core.watcher import is_admin

log = logging.getLogger(__name__)


def is_staff(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Whether the sender of `update` may act as staff where they wrote or pressed."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return False
    settings = services(context).settings
    chats = settings.admin_chat_ids + settings.escalation_chat_ids
    return is_admin(chats, chat.id, user.id, chat.type == Chat.PRIVATE)


async def staff_or_refuse(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """True for staff; anyone else gets a short refusal."""
    if is_staff(update, context):
        return True
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    log.info(
        "staff only: refused chat=%s user=%s", chat.id if chat else "-", user.id if user else "-"
    )
    if message is not None:
        await message.reply_html(texts.text(language_of(update), "staff.admins_only"))
    return False
