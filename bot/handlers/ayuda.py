"""/start and /ayuda (alias /help): what the bot can do."""

from __future__ import annotations

from bot.context import BotContext, Incoming, on_message
from core import texts


@on_message
async def ayuda(incoming: Incoming, context: BotContext) -> None:
    """Explain the commands."""
    await incoming.message.reply_html(texts.raw(incoming.lang, "help.start"))
