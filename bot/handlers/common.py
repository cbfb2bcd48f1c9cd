"""Small helpers every handler uses."""

from __future__ import annotations

import logging

from telegram import Chat, Message, MessageEntity, Update
from telegram.ext import ContextTypes

from bot.services import services
from core import texts
from core.texts import pick_language
from core.watcher import is_admin

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


async def admin_or_refuse(
    update: Update, context: ContextTypes.DEFAULT_TYPE, refusal_key: str
) -> bool:
    """True for an admin (admin chat; in private, an admin user); others get a refusal."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None:
        return False
    settings = services(context).settings
    if is_admin(settings.admin_chat_ids, chat.id, user.id, chat.type == Chat.PRIVATE):
        return True
    log.info("admin command refused chat=%s user=%s", chat.id, user.id)
    await message.reply_html(texts.text(language_of(update), refusal_key))
    return False
