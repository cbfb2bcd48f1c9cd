"""/start and /ayuda: what the bot can do."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.common import language_of
from core import texts


async def ayuda(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain the commands."""
    if update.effective_message:
        await update.effective_message.reply_html(texts.raw(language_of(update), "help.start"))
