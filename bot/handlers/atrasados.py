"""/atrasados (alias /stale): the orders stale right now, for admins only."""

from __future__ import annotations

import time

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.common import admin_or_refuse, language_of
from bot.services import services
from core.watcher.watch import stale_list


async def atrasados(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the stale orders to an admin; anyone else gets a short refusal and no list."""
    message = update.effective_message
    if message is None or not await admin_or_refuse(update, context, "watcher.admins_only"):
        return
    lang = language_of(update)
    svc = services(context)
    answer = await svc.run(stale_list, svc.store, svc.settings.stale_after, time.time(), lang)
    await message.reply_html(answer)
