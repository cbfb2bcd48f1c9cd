"""/atrasados (alias /stale): the orders stale right now, for admins only."""

from __future__ import annotations

import logging
import time

from telegram import Chat, Update
from telegram.ext import ContextTypes

from bot.handlers.common import language_of
from bot.services import services
from core import texts
from core.watcher import is_admin, stale_list

log = logging.getLogger(__name__)


async def atrasados(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the stale orders to an admin; anyone else gets a short refusal and no list."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None:
        return
    lang = language_of(update)
    svc = services(context)
    if not is_admin(svc.settings.admin_chat_ids, chat.id, user.id, chat.type == Chat.PRIVATE):
        log.info("/atrasados refused chat=%s user=%s", chat.id, user.id)
        await message.reply_html(texts.text(lang, "watcher.admins_only"))
        return
    answer = await svc.run(stale_list, svc.store, svc.settings.stale_after, time.time(), lang)
    await message.reply_html(answer)
