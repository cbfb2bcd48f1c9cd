"""A pre-filter: a chat that writes to the bot has unblocked it, so deliveries resume there."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from core.telegram.reachability import mark_reachable


async def chat_is_back(update: Update, context: BotContext) -> None:
    """Forget an earlier 403 from this chat (a blocked user cannot write to the bot)."""
    chat = update.effective_chat
    if chat is not None and update.effective_message is not None:
        svc = context.services
        await svc.run(mark_reachable, svc.redis, chat.id)
